/**
 * The lab host's identity: one ePID per CSVLK group and one HwId, made once and kept in
 * `lab-host-identity.json` in the config directory, so clients see the same host after every restart
 * (docs/protocol.md §9.2 point 4: a real host has one fixed ePID per installed CSVLK; a changing ePID marks an
 * emulator).
 *
 * Generation (randomness and clock injected): one host OS for all groups — a build chosen among the two newest
 * host builds in products.json (Server 2016 / 2019 in the shipped data: hosts that can hold every CSVLK in it),
 * one LCID — and per group a key id in the group's range and an activation date between the later of the
 * CSVLK's and the build's release dates and now (protocol `generateEpid`). HwId: 8 random bytes.
 *
 * Precedence: overrides (settings `labHost.epids` / `labHost.hwid`, CLI `--epid` / `--hwid`) > the file > new.
 * Overrides are never written to the file, so removing one brings the host's own identity back.
 */
import { z } from 'zod'
import { JsonStore, type StoreWarning } from '../storage/json-store'
import {
  EPID_LCIDS,
  explainEpid,
  formatHwid,
  generateEpid,
  generateHwid,
  parseEpid,
  parseHwid,
  productCatalog,
  type ProductCatalog,
  type RandomSource
} from '../protocol/index'

export const LAB_HOST_IDENTITY_FILE = 'lab-host-identity.json'

/** What the host answers with. */
export interface LabHostIdentity {
  /** ePID per CSVLK group (products.json `csvlkGroups[].iniName`) */
  epids: Readonly<Record<string, string>>
  /** V6 HwId, 8 bytes */
  hwid: Uint8Array
}

const epidText = z.string().refine((text) => parseEpid(text).ok, 'must be a valid ePID')
const hwidText = z
  .string()
  .regex(/^[0-9A-Fa-f]{16}$/, 'must be 16 hex digits')
  .transform((hex) => hex.toUpperCase())

export const labHostIdentityFileSchema = z.object({
  version: z.literal(1),
  createdAt: z.string().min(1),
  /** host build the ePIDs were made for (informational) */
  hostBuild: z.number().int(),
  lcid: z.number().int().min(1).max(0xffff),
  epids: z.record(z.string().regex(/^[A-Za-z0-9]+$/), epidText),
  hwid: hwidText
})

export type LabHostIdentityFile = z.output<typeof labHostIdentityFileSchema>

export interface IdentityOverrides {
  /** per CSVLK group iniName */
  epids?: Readonly<Record<string, string>>
  /** one ePID for every group (CLI `--epid EPID`); per-group overrides win over it */
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
  overrides?: IdentityOverrides
}

export interface LoadedIdentity {
  identity: LabHostIdentity
  /** true when the file was created (first start, or the old one was unusable) */
  created: boolean
  /** problems with the file or the overrides, as sentences */
  warnings: string[]
  /** where each group's ePID came from */
  sources: Record<string, 'override' | 'file' | 'generated'>
  hwidSource: 'override' | 'file' | 'generated'
}

/** Uniform-enough index in [0, n) from 4 random bytes (n is tiny here; bias < 2^-26). */
function pick(random: RandomSource, n: number): number {
  const b = random(4)
  return (((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0) % n
}

/** The KMS counted ID the data maps to each CSVLK group (generateEpid takes a KMS ID). */
function representativeKmsIds(catalog: ProductCatalog): Map<string, string> {
  const byGroup = new Map<string, string>()
  for (const k of catalog.kmsCountedIds) if (!byGroup.has(k.csvlk)) byGroup.set(k.csvlk, k.guid)
  return byGroup
}

function groupEpid(
  catalog: ProductCatalog,
  group: string,
  kmsId: string,
  file: { hostBuild: number; lcid: number },
  random: RandomSource,
  now: Date
): string {
  const epid = generateEpid(kmsId, { random, now, catalog, hostBuild: file.hostBuild, lcid: file.lcid })
  // generateEpid maps the KMS ID to its group; make sure that is the group we asked for.
  if (catalog.csvlkForKmsCountedId(kmsId).iniName !== group) throw new Error(`KMS ID ${kmsId} does not map to CSVLK group ${group}`)
  return epid
}

/** A fresh identity file for every CSVLK group of the catalog. */
export function generateIdentityFile(random: RandomSource, now: Date, catalog: ProductCatalog = productCatalog): LabHostIdentityFile {
  const builds = catalog.hostBuilds
    .filter((b) => b.flags.useForEpid && Date.parse(b.releaseDateUtc) <= now.getTime())
    .sort((a, b) => Date.parse(b.releaseDateUtc) - Date.parse(a.releaseDateUtc))
    .slice(0, 2)
  if (builds.length === 0) throw new Error('product data has no host build released before now')
  const hostBuild = builds[pick(random, builds.length)]!.buildNumber
  const lcid = EPID_LCIDS[pick(random, EPID_LCIDS.length)]!
  const epids: Record<string, string> = {}
  for (const [group, kmsId] of representativeKmsIds(catalog))
    epids[group] = groupEpid(catalog, group, kmsId, { hostBuild, lcid }, random, now)
  return { version: 1, createdAt: now.toISOString(), hostBuild, lcid, epids, hwid: formatHwid(generateHwid(random)) }
}

/** Checks an ePID given by the user: syntax and wire length (≤ 63 characters); returns a sentence or undefined. */
export function epidProblem(epid: string): string | undefined {
  const parsed = parseEpid(epid)
  return parsed.ok ? undefined : parsed.error.message
}

/**
 * Loads (or creates, atomically, like the client CMID) the identity file and applies the overrides.
 * Never throws because of the file's content: an unusable file is moved aside by the store and a new identity made.
 * Throws for invalid overrides (the caller reports them as configuration errors).
 */
export async function loadLabHostIdentity(options: LoadIdentityOptions): Promise<LoadedIdentity> {
  const catalog = options.catalog ?? productCatalog
  const overrides = options.overrides ?? {}
  const warnings: string[] = []
  const store = new JsonStore({
    file: options.file,
    schema: labHostIdentityFileSchema,
    onInvalid: 'reject',
    now: options.now,
    // Only reached for a missing or unusable file; never handed out (see below).
    defaults: () => ({ version: 1 as const, createdAt: '', hostBuild: 0, lcid: 1033, epids: {}, hwid: '0000000000000000' })
  })

  const loaded = await store.load()
  for (const w of loaded.warnings) warnings.push(w.message)
  let file = loaded.value
  let created = false
  if (file.createdAt === '') {
    const made = await store.createIfAbsent(generateIdentityFile(options.random, options.now(), catalog))
    for (const w of made.warnings as StoreWarning[]) warnings.push(w.message)
    file = made.value
    created = made.created
  }

  // Groups added to the product data after the file was made get their ePID now (same build and LCID).
  const missing = [...representativeKmsIds(catalog)].filter(([group]) => file.epids[group] === undefined)
  if (missing.length > 0 && file.createdAt !== '') {
    const epids = { ...file.epids }
    for (const [group, kmsId] of missing) epids[group] = groupEpid(catalog, group, kmsId, file, options.random, options.now())
    file = await store.save({ ...file, epids })
  }

  const sources: LoadedIdentity['sources'] = {}
  const epids: Record<string, string> = {}
  for (const group of catalog.csvlkGroups) {
    const own = overrides.epids?.[group.iniName] ?? overrides.allEpids
    const value = own ?? file.epids[group.iniName]
    if (value === undefined) continue
    if (own !== undefined) {
      const problem = epidProblem(own)
      if (problem) throw new RangeError(`ePID for ${group.iniName} "${own}" is invalid: ${problem}`)
      const parts = parseEpid(own)
      if (parts.ok) {
        const ex = explainEpid(parts.parts, catalog)
        if (parts.parts.groupId !== group.groupId) {
          warnings.push(
            `ePID ${own} names CSVLK group ${parts.parts.groupId} (${ex.groupName}), but it answers for ${group.iniName} (group ${group.groupId}); clients do not check this, people reading logs might.`
          )
        }
      }
    }
    epids[group.iniName] = value
    sources[group.iniName] = own !== undefined ? 'override' : 'file'
    if (own === undefined && created) sources[group.iniName] = 'generated'
  }
  for (const key of Object.keys(overrides.epids ?? {})) {
    if (!catalog.csvlkGroups.some((g) => g.iniName === key)) {
      warnings.push(
        `ePID override for unknown CSVLK group "${key}" ignored; groups: ${catalog.csvlkGroups.map((g) => g.iniName).join(', ')}`
      )
    }
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
  return { identity: { epids, hwid }, created, warnings, sources, hwidSource }
}
