/**
 * The host's extended PID (ePID, docs/protocol.md §9.1), e.g. `03612-00206-567-887631-03-2074-14393.0000-0092024`:
 * platform id - CSVLK group id - key id (3+6 digits) - channel - LCID - build.0000 - day-of-year + year.
 *
 * `parseEpid` checks the syntax and returns named format errors; `explainEpid` relates the parts to the product
 * data; `generateEpid` makes a plausible ePID for a KMS counted ID from injected randomness and clock.
 */
import { EPID_MAX_LENGTH } from './kms/base'
import { productCatalog, type Csvlk, type CsvlkGroup, type HostBuild, type ProductCatalog } from './products'
import { randomBelow, type RandomSource } from './random'

export interface EpidParts {
  platformId: number
  groupId: number
  /** keyId = part3 · 10^6 + part4 */
  keyId: number
  channel: number
  lcid: number
  build: number
  /** the 4 digits after the build's dot (always "0000" in known ePIDs) */
  buildSuffix: string
  activationDay: number
  activationYear: number
}

export type EpidFormatErrorCode =
  'empty' | 'too-long' | 'parts' | 'platform-id' | 'group-id' | 'key-id' | 'channel' | 'lcid' | 'build' | 'date'

export interface EpidFormatError {
  code: EpidFormatErrorCode
  message: string
}

export type EpidParseResult = { ok: true; parts: EpidParts } | { ok: false; error: EpidFormatError }

function fail(code: EpidFormatErrorCode, message: string): EpidParseResult {
  return { ok: false, error: { code, message } }
}

function digits(s: string, min: number, max: number): boolean {
  return s.length >= min && s.length <= max && /^[0-9]+$/.test(s)
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0
}

export function parseEpid(epid: string): EpidParseResult {
  if (epid.length === 0) return fail('empty', 'the ePID is empty')
  if (epid.length > EPID_MAX_LENGTH) return fail('too-long', `the ePID has ${epid.length} characters; at most ${EPID_MAX_LENGTH} fit`)
  const p = epid.split('-')
  if (p.length !== 8) return fail('parts', `expected 8 dash-separated parts, found ${p.length}`)
  const [platform, group, key1, key2, channel, lcid, buildPart, date] = p as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string
  ]
  if (!digits(platform, 5, 5)) return fail('platform-id', `platform id "${platform}" is not 5 digits`)
  if (!digits(group, 5, 5)) return fail('group-id', `CSVLK group id "${group}" is not 5 digits`)
  if (!digits(key1, 3, 3) || !digits(key2, 6, 6)) return fail('key-id', `key id "${key1}-${key2}" is not 3 + 6 digits`)
  if (!digits(channel, 2, 2)) return fail('channel', `licence channel "${channel}" is not 2 digits`)
  if (!digits(lcid, 1, 5) || Number(lcid) > 0xffff) return fail('lcid', `LCID "${lcid}" is not a decimal locale id`)
  const bm = /^([0-9]{4,5})\.([0-9]{4})$/.exec(buildPart)
  if (!bm) return fail('build', `build "${buildPart}" is not <4–5 digits>.<4 digits>`)
  if (!digits(date, 7, 7)) return fail('date', `activation date "${date}" is not 3 digits day-of-year + 4 digits year`)
  const day = Number(date.slice(0, 3))
  const year = Number(date.slice(3))
  const daysInYear = isLeap(year) ? 366 : 365
  if (day < 1 || day > daysInYear) return fail('date', `day of year ${day} is outside 1–${daysInYear} for ${year}`)
  return {
    ok: true,
    parts: {
      platformId: Number(platform),
      groupId: Number(group),
      keyId: Number(key1) * 1_000_000 + Number(key2),
      channel: Number(channel),
      lcid: Number(lcid),
      build: Number(bm[1]),
      buildSuffix: bm[2]!,
      activationDay: day,
      activationYear: year
    }
  }
}

export interface EpidExplanation {
  parts: EpidParts
  /** host builds with this platform id (display names), e.g. 3612 → Windows 10 1809 / Server 2019, … */
  platformHostOs: string[]
  /** the host build named in the ePID, if it is in the data */
  hostBuild: HostBuild | undefined
  /** whether the platform id is the one the data gives for this build (undefined when the build is unknown) */
  platformMatchesBuild: boolean | undefined
  /** CSVLK groups with this group id (206 is shared by Windows and Office 2013/2016/2019) */
  csvlkCandidates: CsvlkGroup[]
  /** the CSVLK group whose key-id range contains the key id, if any */
  csvlk: CsvlkGroup | undefined
  /** the host keys (CSVLKs of the catalog) whose group and key-ID range hold this ePID's (usually one) */
  hostKeys: Csvlk[]
  /** some key or vlmcsd group of the catalog has this group ID */
  groupKnown: boolean
  /** readable name: the host key(s), else the vlmcsd group, else all groups with this ID, else "unknown group N" */
  groupName: string
  keyIdInRange: boolean
  /** channel 03 = volume licence */
  isVolumeChannel: boolean
  /** UTC midnight of the activation day, YYYY-MM-DD */
  activationDate: string
}

export function explainEpid(parts: EpidParts, catalog: ProductCatalog = productCatalog): EpidExplanation {
  const platformHostOs = catalog.hostBuilds.filter((b) => b.platformId === parts.platformId).map((b) => b.displayName)
  const hostBuild = catalog.hostBuildByNumber(parts.build)
  const csvlkCandidates = catalog.csvlkGroups.filter((c) => c.groupId === parts.groupId)
  const csvlk = csvlkCandidates.find((c) => parts.keyId >= c.minKeyId && parts.keyId <= c.maxKeyId)
  const hostKeys = catalog.csvlksForEpid(parts.groupId, parts.keyId)
  const groupName =
    hostKeys.length > 0
      ? hostKeys.map((k) => k.name).join(' / ')
      : csvlk
        ? csvlk.iniName
        : csvlkCandidates.length > 0
          ? csvlkCandidates.map((c) => c.iniName).join(' / ')
          : `unknown group ${parts.groupId}`
  const date = new Date(Date.UTC(parts.activationYear, 0, parts.activationDay))
  return {
    parts,
    platformHostOs,
    hostBuild,
    platformMatchesBuild: hostBuild ? hostBuild.platformId === parts.platformId : undefined,
    csvlkCandidates,
    csvlk,
    hostKeys,
    groupKnown: csvlkCandidates.length > 0 || catalog.csvlks().some((k) => k.groupId === parts.groupId),
    groupName,
    keyIdInRange: csvlk !== undefined || hostKeys.length > 0,
    isVolumeChannel: parts.channel === 3,
    activationDate: date.toISOString().slice(0, 10)
  }
}

/** A few common Windows LCIDs for generated ePIDs (our own selection). */
export const EPID_LCIDS: readonly number[] = [
  1033, 2057, 3081, 4105, 1031, 1036, 3084, 1040, 3082, 2058, 1043, 1053, 1044, 1030, 1035, 1045, 1029, 1038, 1049, 1058, 1046, 2070, 1041,
  1042, 2052, 1028, 1055, 1032, 1037, 1025, 2074, 1050, 1051, 1060, 1048, 1026
]

export interface GenerateEpidOptions {
  random: RandomSource
  now: Date
  catalog?: ProductCatalog
  /** host build number to use (must be in the data); random among `useForEpid` builds otherwise */
  hostBuild?: number
  /** LCID to use; random from EPID_LCIDS otherwise */
  lcid?: number
}

const DAY_MS = 86_400_000

function utcDay(date: Date): number {
  return Math.floor(date.getTime() / DAY_MS)
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0')
}

/** What an ePID is formed from: a key's group and key-ID range and its release date. */
export interface EpidKeyRange {
  groupId: number
  minKeyId: number
  maxKeyId: number
  /** YYYY-MM-DD or ISO date; the activation day is never before it */
  releaseDateUtc: string
}

/**
 * A valid ePID for a host key on a host build, the way vlmcsd makes random ones (docs/protocol.md §9.2): the build's
 * platform id, the key's group, a key id within its range, channel 03, an LCID, and an activation day between the
 * later of the key's and the build's release dates and `now`.
 */
export function formEpid(key: EpidKeyRange, build: HostBuild, options: { random: RandomSource; now: Date; lcid?: number }): string {
  const keyId = key.minKeyId + randomBelow(options.random, key.maxKeyId - key.minKeyId + 1)
  const lcid = options.lcid ?? EPID_LCIDS[randomBelow(options.random, EPID_LCIDS.length)]!
  const first = Math.max(utcDay(new Date(key.releaseDateUtc)), utcDay(new Date(build.releaseDateUtc)))
  const last = Math.max(first, utcDay(options.now))
  const day = new Date((first + randomBelow(options.random, last - first + 1)) * DAY_MS)
  const year = day.getUTCFullYear()
  const dayOfYear = utcDay(day) - Math.floor(Date.UTC(year, 0, 1) / DAY_MS) + 1
  return [
    pad(build.platformId, 5),
    pad(key.groupId, 5),
    pad(Math.floor(keyId / 1_000_000), 3),
    pad(keyId % 1_000_000, 6),
    '03',
    String(lcid),
    `${build.buildNumber}.0000`,
    `${pad(dayOfYear, 3)}${pad(year, 4)}`
  ].join('-')
}

/**
 * A valid ePID for a KMS counted ID: the vlmcsd CSVLK group the data maps the KMS ID to, on a given or random host
 * build (see {@link formEpid}).
 */
export function generateEpid(kmsCountedId: string, options: GenerateEpidOptions): string {
  const catalog = options.catalog ?? productCatalog
  const csvlk = catalog.csvlkForKmsCountedId(kmsCountedId)
  let build: HostBuild | undefined
  if (options.hostBuild !== undefined) {
    build = catalog.hostBuildByNumber(options.hostBuild)
    if (!build) throw new Error(`host build ${options.hostBuild} is not in the product data`)
  } else {
    const released = catalog.hostBuilds.filter((b) => b.flags.useForEpid && Date.parse(b.releaseDateUtc) <= options.now.getTime())
    const pool = released.length > 0 ? released : catalog.hostBuilds.filter((b) => b.flags.useForEpid)
    if (pool.length === 0) throw new Error('product data has no host builds for ePIDs')
    build = pool[randomBelow(options.random, pool.length)]!
  }
  return formEpid(csvlk, build, { random: options.random, now: options.now, ...(options.lcid !== undefined ? { lcid: options.lcid } : {}) })
}
