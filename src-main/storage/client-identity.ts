/**
 * The installation's client machine ID (CMID) for health checks, persisted in `identity.json`.
 *
 * Why one stable CMID (docs/protocol.md §10.3): a genuine KMS host counts every distinct CMID for 30 days, so a
 * monitor that sent a fresh CMID per check would fill the host's count with machines that do not exist. We
 * make one random v4 UUID the first time it is needed and reuse it for every check, forever, unless the user
 * explicitly asks for a new identity. Then the old one is kept as `previousCmid`, which the KMS request
 * carries in its CMID_prev field.
 *
 * If the file is fine it is never rewritten. If it is unusable, json-store moves it aside with a warning and
 * a new CMID is created (there is nothing else to fall back to); the warning says so.
 */
import { z } from 'zod'
import { JsonStore } from './json-store'
import type { StoreWarning } from './json-store'

/** Zero GUID: what CMID_prev carries when the CMID never changed. */
const NIL_GUID = '00000000-0000-0000-0000-000000000000'

/** Any GUID in canonical text form; stored lowercase. (Wire CMIDs need not be RFC 4122 valid.) */
const guidText = z
  .string()
  .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'must be a GUID')
  .transform((guid) => guid.toLowerCase())

const isoTime = z.iso.datetime({ offset: true })

export const identityFileSchema = z.object({
  version: z.literal(1).default(1),
  /** ClientMachineId sent in every request (the zero GUID is not an identity) */
  cmid: guidText.refine((guid) => guid !== NIL_GUID, 'must not be the zero GUID'),
  /** when this CMID was made; informational, so a broken value is replaced rather than costing the CMID */
  createdAt: isoTime.nullable().default(null),
  /** the CMID used before the last explicit renewal (request field CMID_prev), or null */
  previousCmid: guidText.nullable().default(null)
})

export type ClientIdentity = z.output<typeof identityFileSchema>

export interface ClientIdentityOptions {
  /** path of identity.json */
  file: string
  /** n random bytes; crypto.randomBytes in production, a fixed source in tests */
  random: (n: number) => Uint8Array
  now: () => Date
  /** receives every problem found in the file (it was moved aside, a value was reset, ...) */
  onWarning: (warning: StoreWarning) => void
}

export class ClientIdentityStore {
  private readonly store: JsonStore<typeof identityFileSchema>
  private readonly random: (n: number) => Uint8Array
  private readonly now: () => Date
  private readonly onWarning: (warning: StoreWarning) => void
  private current: Promise<ClientIdentity> | undefined

  constructor(options: ClientIdentityOptions) {
    this.random = options.random
    this.now = options.now
    this.onWarning = options.onWarning
    // The schema has no default for cmid, so `defaults` is only reached for a missing or unusable file; we
    // never hand it out: get() creates a real identity in that case.
    this.store = new JsonStore({
      file: options.file,
      schema: identityFileSchema,
      defaults: () => ({ version: 1, cmid: NIL_GUID, createdAt: null, previousCmid: null }),
      now: options.now
    })
  }

  /**
   * The installation's identity: read from the file, or created (and persisted before it is returned) if there
   * is none. Concurrent calls share one read; an identity is created at most once even if the CLI and the app
   * start together (json-store's createIfAbsent).
   */
  get(): Promise<ClientIdentity> {
    this.current ??= this.loadOrCreate().catch((error: unknown) => {
      this.current = undefined
      throw error
    })
    return this.current
  }

  /**
   * Makes a new CMID on purpose (e.g. the user cloned this machine's configuration), keeping the old one as
   * previousCmid. Resolves once the new identity is on disk.
   */
  async renew(): Promise<ClientIdentity> {
    const before = await this.get()
    const next: ClientIdentity = {
      version: 1,
      cmid: randomUuidV4(this.random),
      createdAt: this.now().toISOString(),
      previousCmid: before.cmid
    }
    const saving = this.store.save(next)
    // get() waits for the save; if saving fails, the old identity stays current.
    this.current = saving.catch(() => before)
    return saving
  }

  private async loadOrCreate(): Promise<ClientIdentity> {
    // Normally one round. Another round only if, between our load and our create, another process wrote a
    // file that turned out unusable (it is then moved aside by the load and we create ours).
    for (let round = 0; round < 3; round += 1) {
      const loaded = await this.store.load()
      loaded.warnings.forEach(this.onWarning)
      if (loaded.value.cmid !== NIL_GUID) return loaded.value
      const created = await this.store.createIfAbsent({
        version: 1,
        cmid: randomUuidV4(this.random),
        createdAt: this.now().toISOString(),
        previousCmid: null
      })
      created.warnings.forEach(this.onWarning)
      if (created.value.cmid !== NIL_GUID) return created.value
    }
    throw new Error(`could not create a client identity in ${this.store.file}`)
  }
}

/** RFC 4122 version 4 UUID from 16 injected random bytes, lowercase canonical text. */
export function randomUuidV4(random: (n: number) => Uint8Array): string {
  const bytes = Uint8Array.from(random(16))
  if (bytes.length !== 16) throw new RangeError(`random(16) returned ${bytes.length} bytes`)
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40 // version 4
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80 // variant 10xx
  const hex = Buffer.from(bytes).toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
