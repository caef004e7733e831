/**
 * What a verified KMS answer says about the host beyond the count: the ePID explained, and signs of a broken
 * or emulated host that do not fail verification (an ePID that cannot exist, intervals Windows would refuse,
 * a count that changes on one connection). Shared by `query` reports and the discovery flow's answers.
 */
import { explainEpid, fileTimeToDate, type EpidParts, type ProductCatalog } from '../protocol'
import type { KmsQueryResult } from './kms-client'

/** Minutes; the range Windows accepts for VLActivationInterval / VLRenewalInterval. */
const MIN_INTERVAL = 15
const MAX_INTERVAL = 43_200

export interface EpidReport {
  value: string
  /** one line: host OS, CSVLK group, channel, activation date */
  meaning: string
  platformId: number
  /** host OS named by the build (or every OS with this platform id) */
  hostOs: string
  build: number
  csvlkGroup: string
  groupId: number
  keyId: number
  keyIdInRange: boolean
  channel: number
  lcid: number
  /** YYYY-MM-DD */
  activationDate: string
}

/** The ePID with what it says about the host: OS and build, CSVLK group, key id, channel, LCID, activation date. */
export function describeEpid(
  value: string,
  parts: EpidParts | undefined,
  catalog: ProductCatalog
): EpidReport | { value: string; meaning: string } {
  if (parts === undefined) return { value, meaning: 'not a well-formed ePID' }
  const e = explainEpid(parts, catalog)
  const hostOs =
    e.hostBuild?.displayName ?? (e.platformHostOs.length > 0 ? e.platformHostOs.join(' / ') : `unknown OS (platform ${parts.platformId})`)
  const meaning =
    `host OS ${hostOs} (build ${parts.build}), CSVLK ${e.groupName}, ` +
    `${e.isVolumeChannel ? 'volume channel' : `channel ${String(parts.channel).padStart(2, '0')}`}, LCID ${parts.lcid}, host activated ${e.activationDate}`
  return {
    value,
    meaning,
    platformId: parts.platformId,
    hostOs,
    build: parts.build,
    csvlkGroup: e.groupName,
    groupId: parts.groupId,
    keyId: parts.keyId,
    keyIdInRange: e.keyIdInRange,
    channel: parts.channel,
    lcid: parts.lcid,
    activationDate: e.activationDate
  }
}

/** Signs of a broken or emulated host that do not fail verification. */
export function hostAnswerWarnings(kmsCountedId: string, result: KmsQueryResult, catalog: ProductCatalog): string[] {
  const warnings: string[] = []
  const ex = result.exchanges[result.exchanges.length - 1]!
  for (const c of ex.checks) {
    if (c.status !== 'warn') continue
    if (c.name === 'iv-differs')
      warnings.push(
        'emulator-like: the V6 response IV equals the request IV (a genuine host sends a different one; emulators using V5 rules do this)'
      )
    else warnings.push(`check ${c.name}: ${c.detail}`)
  }
  const parts = ex.response.epidParts
  if (parts !== undefined) {
    const e = explainEpid(parts, catalog)
    if (e.hostBuild === undefined) warnings.push(`ePID names host build ${parts.build}, which is not a known KMS host OS build`)
    else if (e.platformMatchesBuild === false) {
      warnings.push(
        `ePID platform id ${parts.platformId} does not belong to build ${parts.build} (expected ${e.hostBuild.platformId}): a hand-made or emulated ePID`
      )
    }
    if (!e.groupKnown) warnings.push(`ePID CSVLK group ${parts.groupId} is not a known group`)
    else if (!e.keyIdInRange) warnings.push(`ePID key id ${parts.keyId} is outside the key range of CSVLK group ${e.groupName}`)
    if (!e.isVolumeChannel) warnings.push(`ePID licence channel ${String(parts.channel).padStart(2, '0')} is not 03 (volume)`)
    const key = hostKeyFinding(parts, kmsCountedId, catalog)
    // a genuine host refuses a product its key does not serve (0xC004F042); one that answers is not genuine
    if (key.serves === false) warnings.push(`${key.text}; a genuine KMS host with this key would have refused (0xC004F042)`)
    const sent = fileTimeToDate(ex.request.base.clientTime)
    if (sent !== undefined && e.activationDate > sent.toISOString().slice(0, 10))
      warnings.push(`ePID activation date ${e.activationDate} is in the future`)
    if (e.hostBuild !== undefined && e.activationDate < e.hostBuild.releaseDateUtc) {
      warnings.push(
        `ePID activation date ${e.activationDate} precedes the release of host build ${parts.build} (${e.hostBuild.releaseDateUtc})`
      )
    }
  }
  const b = ex.response.base
  for (const [name, value] of [
    ['activation', b.activationInterval],
    ['renewal', b.renewalInterval]
  ] as const) {
    if (value < MIN_INTERVAL || value > MAX_INTERVAL)
      warnings.push(`${name} interval ${value} minutes is outside the ${MIN_INTERVAL}–${MAX_INTERVAL} minutes Windows accepts`)
  }
  if (result.exchanges.length > 1) {
    const counts = result.exchanges.map((x) => x.response.base.count)
    if (new Set(counts).size > 1) warnings.push(`the count changed between requests on one connection (${counts.join(' → ')})`)
  }
  return warnings
}

/** What a host's ePID says about its host key and the product asked for. */
export interface HostKeyFinding {
  /** the key the ePID names ("Windows Server 2025"), several joined by " or " when keys share the range, null if none */
  key: string | null
  /** the key serves the product: true, false, or null when that cannot be told (unknown key, keys disagree) */
  serves: boolean | null
  /** released keys that serve the product, newest first: what a host needs for it */
  needed: string[]
  /** one line for a report */
  text: string
}

/** Released host keys (not lab or pre-release) that serve a KMS counted ID, newest first. */
export function keysServing(kmsCountedId: string, catalog: ProductCatalog): string[] {
  const released = catalog.coveringCsvlks(kmsCountedId).filter((c) => !c.isLab && !c.isPreview && c.id !== null)
  const byDate = [...released].sort((a, b) => (b.releaseDateUtc ?? '9999').localeCompare(a.releaseDateUtc ?? '9999'))
  return [...new Set(byDate.map((c) => c.name))]
}

/** What to do about a host whose key does not serve a product: the newest key that does, and the others. */
export function neededKeyAdvice(kmsCountedId: string, catalog: ProductCatalog): string {
  const product = catalog.kmsCountedIdById(kmsCountedId)?.name ?? `KMS ID ${kmsCountedId}`
  const needed = keysServing(kmsCountedId, catalog)
  if (needed.length === 0) return `no released host key in KMS Scout's catalog serves ${product}`
  const others = needed.slice(1, 4)
  return `install the ${needed[0]} CSVLK on the host${others.length > 0 ? ` (other keys that serve ${product}: ${others.join(', ')}${needed.length > 4 ? ', …' : ''})` : ''}`
}

/**
 * Which host key the answer's ePID names, whether it serves the product, and which key the host needs if not. Made for
 * an answer: where keys share one key range, the host that answered holds one of those that serve the product.
 */
export function hostKeyFinding(parts: EpidParts, kmsCountedId: string, catalog: ProductCatalog): HostKeyFinding {
  const coverage = catalog.hostKeyCoverage(parts.groupId, parts.keyId, kmsCountedId)
  const product = catalog.kmsCountedIdById(kmsCountedId)?.name ?? `KMS ID ${kmsCountedId}`
  const needed = keysServing(kmsCountedId, catalog)
  const key = coverage.candidates.length > 0 ? coverage.candidates.map((c) => c.name).join(' or ') : null
  switch (coverage.verdict) {
    case 'covered':
      return { key, serves: true, needed, text: `host key ${key} serves ${product}` }
    case 'not-covered':
      return { key, serves: false, needed, text: `host key ${key} does not serve ${product}: ${neededKeyAdvice(kmsCountedId, catalog)}` }
    case 'ambiguous': {
      // Keys that share one key range (Office 2019 VL and Office LTSC 2024): a host that answered holds one of those
      // that serve the product.
      const serving = coverage.candidates.filter((c) => catalog.covers(c, kmsCountedId))
      const names = (serving.length > 0 ? serving : coverage.candidates).map((c) => c.name)
      const others = coverage.candidates.map((c) => c.name).filter((n) => !names.includes(n))
      return {
        key: names.join(' or '),
        serves: true,
        needed,
        text: `host key ${names.join(' or ')} serves ${product} (its key range is shared with ${others.join(', ')})`
      }
    }
    case 'unknown-key':
      return {
        key: null,
        serves: null,
        needed,
        text: `no known host key has group ${parts.groupId} and key ID ${parts.keyId} (a hand-made or emulated ePID, or a key KMS Scout does not know)`
      }
  }
}
