/**
 * The lab host's identity: the ePID of every host key (CSVLK) it holds, and one HwId, made once and kept in
 * `lab-host-identity.json` in the config directory, so clients see the same host after every restart
 * (docs/protocol.md §9.2 point 4: a real host has one fixed ePID per installed CSVLK; a changing ePID marks an
 * emulator).
 *
 * An ePID is formed from its key: the key's group ID and a key ID in its range, a host build the key may run on
 * (26100 for the Windows Server 2025 key), one LCID for the whole host, and an activation date between the later
 * of the key's and the build's release dates and now (protocol `formEpid`). The file keeps the ePID of every key
 * the host has held, so switching keys back and forth keeps each key's ePID; a key the host holds for the first
 * time gets one then. Files of the first format (one ePID per vlmcsd CSVLK group) are read too: each of their
 * ePIDs stays the ePID of the key it names.
 *
 * Precedence: overrides (settings `labHost.epids` / `labHost.hwid`, CLI `--epid` / `--hwid`) > the file > new.
 * Overrides are never written to the file, so removing one brings the host's own identity back.
 */
import { z } from 'zod'
import { JsonStore, type StoreWarning } from '../storage/json-store'
import {
  EPID_LCIDS,
  formEpid,
  formatHwid,
  generateHwid,
  parseEpid,
  parseHwid,
  productCatalog,
  type Csvlk,
  type ProductCatalog,
  type RandomSource
} from '../protocol/index'
import { defaultHostKeys, type HostKey } from './host-keys'

export const LAB_HOST_IDENTITY_FILE = 'lab-host-identity.json'

/** What the host answers with. */
export interface LabHostIdentity {
  /** the host keys it holds, each with its ePID */
  keys: readonly HostKey[]
  /** V6 HwId, 8 bytes */
  hwid: Uint8Array
}

const epidText = z.string().refine((text) => parseEpid(text).ok, 'must be a valid ePID')
const hwidText = z
  .string()
  .regex(/^[0-9A-Fa-f]{16}$/, 'must be 16 hex digits')
  .transform((hex) => hex.toUpperCase())
const lcidNumber = z.number().int().min(1).max(0xffff)

/** The first format: one ePID per vlmcsd CSVLK group. Read, never written. */
const identityFileV1 = z.object({
  version: z.literal(1),
  createdAt: z.string().min(1),
  hostBuild: z.number().int(),
  lcid: lcidNumber,
  epids: z.record(z.string().regex(/^[A-Za-z0-9]+$/), epidText),
  hwid: hwidText
})

const identityFileV2 = z.object({
  version: z.literal(2),
  createdAt: z.string().min(1),
  lcid: lcidNumber,
  /** ePID by host key (CSVLK activation ID) */
  keys: z.record(z.string().regex(/^[0-9a-f-]{36}$/), epidText),
  hwid: hwidText
})

const labHostIdentityFileSchema = z.union([identityFileV2, identityFileV1])

export type LabHostIdentityFile = z.output<typeof identityFileV2>

export interface IdentityOverrides {
  /** ePID per held key, named by the key's ini name ("Windows", "Office2010", …) or its name */
  epids?: Readonly<Record<string, string>>
  /** one ePID for every key (CLI `--epid EPID`); per-key overrides win over it */
  allEpids?: string
  /** 16 hex digits */
  hwid?: string
}

export interface LoadIdentityOptions {
  /** path of lab-host-identity.json */
  file: string
  random: RandomSource
  now: () => Date
  catalog?: ProductCatalog
  /** the keys the host holds; default the newest released key of every application */
  keys?: readonly Csvlk[]
  overrides?: IdentityOverrides
}

export interface LoadedIdentity {
  identity: LabHostIdentity
  /** true when the file was created (first start, or the old one was unusable) */
  created: boolean
  /** problems with the file or the overrides, as sentences */
  warnings: string[]
  /** where each held key's ePID came from, by key name */
  sources: Record<string, 'override' | 'file' | 'generated'>
  hwidSource: 'override' | 'file' | 'generated'
}

/** Uniform-enough index in [0, n) from 4 random bytes (n is tiny here; bias < 2^-26). */
function pick(random: RandomSource, n: number): number {
  const b = random(4)
  return (((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0) % n
}

/** A new ePID for a key, on the build a host with that key most plausibly runs. */
function keyEpid(catalog: ProductCatalog, key: Csvlk, lcid: number, random: RandomSource, now: Date): string {
  const build = catalog.defaultBuildForCsvlk(key) ?? catalog.hostBuilds[0]
  if (key.groupId === null || key.minKeyId === null || key.maxKeyId === null || key.id === null || build === undefined) {
    throw new RangeError(`the host key "${key.name}" has no group, key range or host build in the catalog; choose a released key`)
  }
  const range = {
    groupId: key.groupId,
    minKeyId: key.minKeyId,
    maxKeyId: key.maxKeyId,
    releaseDateUtc: key.releaseDateUtc ?? build.releaseDateUtc
  }
  return formEpid(range, build, { random, now, lcid })
}

/** A fresh identity file for the given keys. */
export function generateIdentityFile(
  random: RandomSource,
  now: Date,
  catalog: ProductCatalog = productCatalog,
  keys: readonly Csvlk[] = defaultHostKeys(catalog)
): LabHostIdentityFile {
  const lcid = EPID_LCIDS[pick(random, EPID_LCIDS.length)]!
  const epids: Record<string, string> = {}
  for (const key of keys) epids[key.id!] = keyEpid(catalog, key, lcid, random, now)
  return { version: 2, createdAt: now.toISOString(), lcid, keys: epids, hwid: formatHwid(generateHwid(random)) }
}

/** A first-format file as the current one: each group ePID becomes the ePID of every key it names. */
function upgradeV1(file: z.output<typeof identityFileV1>, catalog: ProductCatalog): LabHostIdentityFile {
  const keys: Record<string, string> = {}
  for (const epid of Object.values(file.epids)) {
    const parsed = parseEpid(epid)
    if (!parsed.ok) continue
    for (const key of catalog.csvlksForEpid(parsed.parts.groupId, parsed.parts.keyId)) if (key.id !== null) keys[key.id] ??= epid
  }
  return { version: 2, createdAt: file.createdAt, lcid: file.lcid, keys, hwid: file.hwid }
}

/** Checks an ePID given by the user: syntax and wire length (≤ 63 characters); returns a sentence or undefined. */
export function epidProblem(epid: string): string | undefined {
  const parsed = parseEpid(epid)
  return parsed.ok ? undefined : parsed.error.message
}

/** The held key an override name means: by ini name ("Windows") or by the key's name, case-insensitive. */
function keyNamed(keys: readonly Csvlk[], name: string): Csvlk | undefined {
  const n = name.toLowerCase()
  return keys.find((k) => k.iniName?.toLowerCase() === n) ?? keys.find((k) => k.name.toLowerCase() === n)
}

/**
 * Loads (or creates, atomically, like the client CMID) the identity file and applies the overrides.
 * Never throws because of the file's content: an unusable file is moved aside by the store and a new identity made.
 * Throws RangeError for invalid overrides (the caller reports them as configuration errors).
 */
export async function loadLabHostIdentity(options: LoadIdentityOptions): Promise<LoadedIdentity> {
  const catalog = options.catalog ?? productCatalog
  const held = options.keys ?? defaultHostKeys(catalog)
  const overrides = options.overrides ?? {}
  const warnings: string[] = []
  const store = new JsonStore({
    file: options.file,
    schema: labHostIdentityFileSchema,
    onInvalid: 'reject',
    now: options.now,
    // Only reached for a missing or unusable file; never handed out (see below).
    defaults: (): z.output<typeof labHostIdentityFileSchema> => ({
      version: 2,
      createdAt: '',
      lcid: 1033,
      keys: {},
      hwid: '0000000000000000'
    })
  })

  const loaded = await store.load()
  for (const w of loaded.warnings) warnings.push(w.message)
  let file: LabHostIdentityFile = loaded.value.version === 1 ? upgradeV1(loaded.value, catalog) : loaded.value
  let created = false
  if (file.createdAt === '') {
    const made = await store.createIfAbsent(generateIdentityFile(options.random, options.now(), catalog, held))
    for (const w of made.warnings as StoreWarning[]) warnings.push(w.message)
    file = made.value.version === 1 ? upgradeV1(made.value, catalog) : made.value
    created = made.created
  }

  // A key held for the first time (or a file of the first format) gets its ePID now, with the file's LCID.
  const missing = held.filter((k) => k.id !== null && file.keys[k.id] === undefined)
  if ((missing.length > 0 || loaded.value.version === 1) && file.createdAt !== '') {
    const keys = { ...file.keys }
    for (const key of missing) keys[key.id!] = keyEpid(catalog, key, file.lcid, options.random, options.now())
    file = (await store.save({ ...file, keys })) as LabHostIdentityFile
  }

  for (const name of Object.keys(overrides.epids ?? {})) {
    if (!keyNamed(held, name)) {
      warnings.push(
        `ePID override for "${name}" ignored: the host holds no such key (it holds ${held.map((k) => `${k.name} [${k.iniName ?? '-'}]`).join(', ')})`
      )
    }
  }
  const sources: LoadedIdentity['sources'] = {}
  const keys: HostKey[] = []
  for (const key of held) {
    const named = Object.entries(overrides.epids ?? {}).find(([name]) => keyNamed(held, name) === key)?.[1]
    const own = named ?? overrides.allEpids
    if (own !== undefined) {
      const parts = parseEpid(own)
      if (!parts.ok) throw new RangeError(`ePID for ${key.name} "${own}" is invalid: ${parts.error.message}`)
      if (!catalog.csvlksForEpid(parts.parts.groupId, parts.parts.keyId).includes(key)) {
        warnings.push(
          `ePID ${own} does not name the host key ${key.name} (group ${key.groupId}, key IDs ${key.minKeyId}–${key.maxKeyId}); clients do not check this, people reading logs might.`
        )
      }
    }
    keys.push({ csvlk: key, epid: own ?? file.keys[key.id!]! })
    sources[key.name] = own !== undefined ? 'override' : created ? 'generated' : 'file'
  }

  let hwid: Uint8Array | undefined
  let hwidSource: LoadedIdentity['hwidSource'] = created ? 'generated' : 'file'
  if (overrides.hwid !== undefined) {
    hwid = parseHwid(overrides.hwid)
    if (!hwid || overrides.hwid.replace(/\s/g, '').length !== 16)
      throw new RangeError(`HwId "${overrides.hwid}" is not 16 hex digits (8 bytes), e.g. 3A1C049600B60076`)
    hwidSource = 'override'
  } else {
    hwid = parseHwid(file.hwid)
    if (!hwid) throw new Error(`identity file ${options.file} has an unusable HwId`)
  }
  return { identity: { keys, hwid }, created, warnings, sources, hwidSource }
}
