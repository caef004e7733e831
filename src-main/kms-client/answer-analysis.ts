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
    if (e.csvlkCandidates.length === 0) warnings.push(`ePID CSVLK group ${parts.groupId} is not a known group`)
    else if (!e.keyIdInRange) warnings.push(`ePID key id ${parts.keyId} is outside the key range of CSVLK group ${e.groupName}`)
    if (!e.isVolumeChannel) warnings.push(`ePID licence channel ${String(parts.channel).padStart(2, '0')} is not 03 (volume)`)
    const expected = catalog.csvlkForKmsCountedId(kmsCountedId)
    const productGroup = catalog.kmsCountedIdById(kmsCountedId)?.name ?? kmsCountedId
    if (e.csvlkCandidates.length > 0 && !e.csvlkCandidates.some((c) => c.groupId === expected.groupId)) {
      warnings.push(
        `ePID CSVLK group ${e.groupName} (${parts.groupId}) is not the one that serves ${productGroup} (${expected.iniName}, group ${expected.groupId})`
      )
    }
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
