/**
 * KMS host cache, like Windows' cached KMS host (docs/windows-client.md §1.4): after a host answers,
 * the client keeps using it for later checks instead of DNS priority/weight, until it stops answering — then
 * the entry is cleared and discovery runs again. Kept per KMS application (Windows, Office 2010, Office 2013+),
 * because each application is activated (and may be served) separately.
 *
 * Persisted in `host-cache.json` through json-store; every call reads or updates the file, so the app and the
 * CLI see each other's changes.
 */
import { z } from 'zod'
import { JsonStore } from './json-store'
import type { StoreWarning } from './json-store'

const guidKey = z
  .string()
  .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/)
  .transform((guid) => guid.toLowerCase())

const isoTime = z.iso.datetime({ offset: true })

export const cachedHostSchema = z.object({
  /** the name (or literal IP) the host was reached by, as discovered or configured */
  host: z.string().min(1).max(255),
  port: z.number().int().min(1).max(65_535),
  /** the IP address actually connected to, when known */
  address: z.string().min(1).max(64).optional(),
  /** when this host was first cached (kept while the same host keeps answering) */
  cachedAt: isoTime,
  lastSuccessAt: isoTime,
  /** the DNS answer the host came from (its domain and SRV record); absent for a host cached before this was kept */
  origin: z
    .object({
      domain: z.string().min(1).max(255),
      priority: z.number().int().min(0).max(65_535),
      weight: z.number().int().min(0).max(65_535),
      port: z.number().int().min(0).max(65_535),
      target: z.string().min(1).max(255)
    })
    .optional()
})

export const hostCacheFileSchema = z.object({
  version: z.literal(1).default(1),
  /** by KMS application ID (lowercase GUID) */
  entries: z.record(guidKey, cachedHostSchema).default({})
})

export type CachedHost = z.output<typeof cachedHostSchema>

export interface HostCacheOptions {
  /** path of host-cache.json */
  file: string
  now: () => Date
  onWarning: (warning: StoreWarning) => void
}

export interface HostAnswered {
  host: string
  port: number
  address?: string
  /** the DNS answer it came from, when it came from DNS */
  origin?: CachedHost['origin']
}

export class HostCache {
  private readonly store: JsonStore<typeof hostCacheFileSchema>
  private readonly now: () => Date
  private readonly onWarning: (warning: StoreWarning) => void

  constructor(options: HostCacheOptions) {
    this.now = options.now
    this.onWarning = options.onWarning
    this.store = new JsonStore({
      file: options.file,
      schema: hostCacheFileSchema,
      defaults: () => ({ version: 1, entries: {} }),
      now: options.now
    })
  }

  /** The cached host for this application, or null. */
  async get(applicationId: string): Promise<CachedHost | null> {
    return (await this.all())[normalise(applicationId)] ?? null
  }

  /** Every cached host, by application ID. */
  async all(): Promise<Record<string, CachedHost>> {
    const loaded = await this.store.load()
    loaded.warnings.forEach(this.onWarning)
    return loaded.value.entries
  }

  /**
   * Call after a successful exchange. The same host/port keeps its original cachedAt; a different one
   * replaces the entry.
   */
  async recordSuccess(applicationId: string, answered: HostAnswered): Promise<CachedHost> {
    const key = normalise(applicationId)
    const at = this.now().toISOString()
    let entry: CachedHost | undefined
    const updated = await this.store.update((file) => {
      const previous = file.entries[key]
      const sameHost = previous !== undefined && previous.host === answered.host && previous.port === answered.port
      // a refresh of the same host keeps the answer it first came from
      const origin = answered.origin ?? (sameHost ? previous.origin : undefined)
      entry = {
        host: answered.host,
        port: answered.port,
        ...(answered.address !== undefined ? { address: answered.address } : {}),
        cachedAt: sameHost ? previous.cachedAt : at,
        lastSuccessAt: at,
        ...(origin !== undefined ? { origin } : {})
      }
      return { ...file, entries: { ...file.entries, [key]: entry } }
    })
    updated.warnings.forEach(this.onWarning)
    return updated.value.entries[key] ?? (entry as CachedHost)
  }

  /** Call when the cached host failed: the next check discovers again. */
  async clear(applicationId: string): Promise<void> {
    const key = normalise(applicationId)
    const updated = await this.store.update((file) => {
      const entries = { ...file.entries }
      delete entries[key]
      return { ...file, entries }
    })
    updated.warnings.forEach(this.onWarning)
  }

  async clearAll(): Promise<void> {
    const updated = await this.store.update((file) => ({ ...file, entries: {} }))
    updated.warnings.forEach(this.onWarning)
  }
}

function normalise(applicationId: string): string {
  const parsed = guidKey.safeParse(applicationId)
  if (!parsed.success) throw new TypeError(`not a KMS application ID (GUID): ${JSON.stringify(applicationId)}`)
  return parsed.data
}
