/**
 * One KMS query as a technician's report: a plain, JSON-serialisable object (no bigint, no bytes) that the CLI
 * prints (`query --json` prints it as is) and the UI renders. It answers: did the host answer, can it be
 * trusted (verification), would a client activate (count ≥ N_Policy), what is the host (ePID, HwId), how fast,
 * and — when something failed — the Windows code a technician would search for, what it means and the usual
 * fix (PROTOCOL.md §8.3, research/windows-kms-client.md §2.5).
 */
import {
  describeHresult,
  fileTimeToDate,
  formatHresult,
  formatHwid,
  HRESULT,
  productCatalog as defaultCatalog,
  toHex,
  type CheckResult,
  type Guid,
  type ProductCatalog,
  type Sku
} from '../protocol'
import { formatHostPort } from '../common/host-port'
import { describeEpid, hostAnswerWarnings, type EpidReport } from '../kms-client/answer-analysis'
import type { KmsQueryError, KmsQueryErrorCode, KmsQueryPhase, KmsQueryResult } from '../kms-client/kms-client'

/** Where the CMID came from: the installation's stored identity, a newly created one, or `--cmid`. */
export type { EpidReport }

export type CmidSource = 'installation' | 'new-installation' | 'option'

export interface QueryReportInput {
  target: { host: string; port: number }
  sku: Sku
  /** protocol version requested */
  protocol: number
  cmid: Guid
  cmidSource: CmidSource
  /** CMID_prev sent (nil GUID when none) */
  cmidPrev: Guid
  workstationName: string
  outcome: { ok: true; result: KmsQueryResult } | { ok: false; error: KmsQueryError }
  catalog?: ProductCatalog
}

export interface WindowsCode {
  /** e.g. "0xC004F038" */
  code: string
  name: string | null
  /** one line */
  meaning: string
}

export interface IntervalReport {
  minutes: number
  /** e.g. "7 days", "2 hours" */
  text: string
}

export interface QueryReport {
  /** a verified answer was received (whatever the count) */
  ok: boolean
  status: 'activate' | 'count-below-threshold' | 'failed'
  /** count ≥ threshold; null when there is no verified answer */
  wouldActivate: boolean | null
  /** one line for logs and monitoring */
  summary: string
  target: {
    host: string
    port: number
    /** host:port / [v6]:port */
    endpoint: string
    /** the address that was connected to */
    address: string | null
    family: 4 | 6 | null
    attempts: { address: string; outcome: string; message: string | null; ms: number }[]
  }
  product: {
    sku: { name: string; id: Guid }
    application: string
    kmsCountedId: { name: string; id: Guid }
    /** N_Policy sent (the product's required client count) */
    threshold: number
    defaultProtocol: number
  }
  request: {
    protocol: number
    cmid: Guid
    cmidSource: CmidSource
    cmidPrev: Guid
    workstationName: string
    /** ClientTime sent, ISO 8601 UTC (null when nothing was sent) */
    clientTime: string | null
    transferSyntax: 'ndr32' | 'ndr64' | null
    contextId: number | null
    callId: number | null
  }
  rpc: {
    /** an alter_context was needed (the host rejected NDR32 in the bind, like a Windows host) */
    alterContext: boolean
    ndr64Accepted: boolean
    btfnFeatures: number | null
    assocGroupId: number
    secondaryAddress: string
  } | null
  answer: {
    protocol: number
    count: number
    threshold: number
    wouldActivate: boolean
    /** 0xC004F038 when the count is below the threshold */
    windowsCode: WindowsCode | null
    epid: EpidReport | { value: string; meaning: string }
    /** v6 only: 16 hex digits in wire order */
    hwid: string | null
    activationInterval: IntervalReport
    renewalInterval: IntervalReport
    /** V5/V6 response IV as hex (first ciphertext block) */
    responseIv: string | null
  } | null
  rtt: { resolveMs: number | null; connectMs: number | null; bindMs: number | null; requestMs: number | null; totalMs: number }
  /** new connections opened because the host closed the previous one between requests (PROTOCOL.md §1.3) */
  reconnects: number
  verification: {
    verified: boolean
    checks: { name: string; status: 'pass' | 'warn' | 'fail'; detail: string }[]
    failed: { check: string; reason: string } | null
  }
  warnings: string[]
  error: {
    code: KmsQueryErrorCode
    phase: KmsQueryPhase
    message: string
    /** the code a Windows client would report, when one applies */
    windowsCode: WindowsCode | null
    explanation: string
    fix: string
    details: Record<string, string | number | boolean | null>
  } | null
}

const NOT_ENOUGH_COUNT: WindowsCode = {
  code: formatHresult(HRESULT.notEnoughCount),
  name: 'SL_E_VL_NOT_ENOUGH_COUNT',
  meaning: 'the count reported by the KMS host is insufficient: not enough clients have contacted it yet'
}
const NO_KMS_HOST: WindowsCode = {
  code: '0xC004F074',
  // The research notes give no verified symbolic name for this code, so none is invented here.
  name: null,
  meaning: 'no Key Management Service (KMS) host could be contacted, or every host returned an error'
}

/** "7 days", "2 hours", "1 day 2 hours 5 minutes". */
export function formatMinutes(minutes: number): string {
  if (minutes === 0) return '0 minutes'
  const parts: string[] = []
  const days = Math.floor(minutes / 1440)
  const hours = Math.floor((minutes % 1440) / 60)
  const mins = minutes % 60
  const unit = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`
  if (days) parts.push(unit(days, 'day'))
  if (hours) parts.push(unit(hours, 'hour'))
  if (mins) parts.push(unit(mins, 'minute'))
  return parts.join(' ')
}

function interval(minutes: number): IntervalReport {
  return { minutes, text: formatMinutes(minutes) }
}

function checkList(checks: readonly CheckResult[] | undefined): QueryReport['verification']['checks'] {
  return (checks ?? []).map((c) => ({ name: c.name, status: c.status, detail: c.detail }))
}

const HRESULT_FIX: Readonly<Record<number, string>> = {
  [HRESULT.invalidData]:
    'the host does not handle this KMS protocol version: try --protocol 4 or 5 to confirm, and update the KMS host (current Windows/Office need protocol 6)',
  [HRESULT.kmsIdMismatch]: 'install the host key (CSVLK) for this product group on the KMS host, or point the client at a host that serves it',
  [HRESULT.invalidTimestamp]: "synchronise the client's and the host's clocks (UTC; w32tm /resync) — time zones do not matter",
  [HRESULT.invalidArg]: "the host rejected the request data or its client table is full: check the host's Key Management Service event log",
  [HRESULT.notEnoughCount]: 'more clients must contact the host (25 for Windows client editions, 5 for servers and Office)'
}

const CONTACT_FIX = 'check the host runs the Software Protection service (sppsvc) as a KMS host and TCP 1688 is allowed through every firewall: Test-NetConnection HOST -Port 1688'

function explainError(error: KmsQueryError, target: string): { windowsCode: WindowsCode | null; explanation: string; fix: string } {
  const d = error.details
  switch (error.code) {
    case 'invalid-request':
      return { windowsCode: null, explanation: error.message, fix: 'correct the value (workstation name at most 63 characters, protocol 4, 5 or 6)' }
    case 'dns-failed':
      return {
        windowsCode: NO_KMS_HOST,
        explanation: `the name ${target} could not be resolved, so no KMS host could be contacted`,
        fix: "check the name (nslookup) and this machine's DNS servers, or give the host's IP address"
      }
    case 'connection-refused':
      return {
        windowsCode: NO_KMS_HOST,
        explanation: `nothing accepts connections on ${target}: the KMS service is not running there or the port is wrong`,
        fix: CONTACT_FIX
      }
    case 'network':
      return { windowsCode: NO_KMS_HOST, explanation: `${target} cannot be reached from this machine (${d.osCode ?? 'network error'})`, fix: 'check the address, routing and VPN' }
    case 'timeout':
      if (error.phase === 'resolve') return { windowsCode: NO_KMS_HOST, explanation: 'DNS did not answer in time', fix: "check this machine's DNS servers" }
      if (error.phase === 'connect') {
        return {
          windowsCode: NO_KMS_HOST,
          explanation: `${target} did not accept the TCP connection in time: a firewall drops TCP 1688, or the host is down`,
          fix: CONTACT_FIX
        }
      }
      return {
        windowsCode: NO_KMS_HOST,
        explanation: `${target} accepted the connection but did not answer the ${error.phase === 'bind' ? 'RPC bind' : 'KMS request'} in time: not a KMS host, or a hung service`,
        fix: 'check that this is the KMS host (slmgr /dlv on it shows "KMS machine"), that the service is healthy, or raise --timeout on a slow link'
      }
    case 'connection-closed':
    case 'connection-reset':
      return {
        windowsCode: NO_KMS_HOST,
        explanation: `${target} ${error.code === 'connection-reset' ? 'reset' : 'closed'} the connection during the ${error.phase} phase without answering: not a KMS host, or something in the path (proxy, IPS) drops the RPC traffic`,
        fix: "check the host's Key Management Service event log (event 12290) and any firewall or IPS that inspects TCP 1688"
      }
    case 'bind-rejected':
      return {
        windowsCode: NO_KMS_HOST,
        explanation: `${target} speaks DCE/RPC but not the KMS interface (${d.bindReason === 'bind_nak' ? 'bind_nak' : 'every context rejected'})`,
        fix: 'point the client at the real KMS host and port'
      }
    case 'rpc-fault':
      return {
        windowsCode: NO_KMS_HOST,
        explanation: `${target} answered with an RPC fault ${d.statusText ?? ''}${d.statusName ? ` (${d.statusName})` : ''}`,
        fix: 'check that the port belongs to the KMS service and that the host is up to date'
      }
    case 'kms-error': {
      const hr = d.hresult ?? 0
      const info = describeHresult(hr)
      return {
        windowsCode: { code: formatHresult(hr), name: info.name ?? null, meaning: info.message },
        explanation: `the KMS host refused the request: ${info.message}`,
        fix: HRESULT_FIX[hr >>> 0] ?? "look the code up and check the host's Key Management Service event log (event 12290)"
      }
    }
    case 'verification-failed':
      return {
        windowsCode: null,
        explanation: `the answer failed the '${d.check ?? '?'}' check: the host is broken or an emulator, or something altered the traffic`,
        fix: 'do not trust this host; compare with a known-good KMS host and look for proxies rewriting TCP 1688'
      }
    case 'protocol-violation':
      return {
        windowsCode: null,
        explanation: `${target} sent bytes that are not a valid KMS/RPC reply (${d.field ?? 'unknown field'}${d.offset !== undefined ? ` at offset ${d.offset}` : ''}): probably another service on this port`,
        fix: 'check that the port belongs to the KMS service'
      }
    case 'aborted':
      return { windowsCode: null, explanation: 'the query was cancelled', fix: 'run it again' }
  }
}

function errorDetails(error: KmsQueryError): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {}
  for (const [k, v] of Object.entries(error.details)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v
  }
  return out
}

/** Builds the report for a finished query (verified answer or failure). */
export function buildQueryReport(input: QueryReportInput): QueryReport {
  const catalog = input.catalog ?? defaultCatalog
  const { sku } = input
  const endpoint = formatHostPort(input.target.host, input.target.port)
  const progress = input.outcome.ok ? input.outcome.result : input.outcome.error.progress
  const lastExchange = progress?.exchanges[progress.exchanges.length - 1]
  const bound = progress?.bound

  const report: QueryReport = {
    ok: false,
    status: 'failed',
    wouldActivate: null,
    summary: '',
    target: {
      host: input.target.host,
      port: input.target.port,
      endpoint,
      address: progress?.address ?? null,
      family: progress?.family ?? null,
      attempts: (progress?.attempts ?? []).map((a) => ({ address: a.address, outcome: a.outcome, message: a.message ?? null, ms: a.ms }))
    },
    product: {
      sku: { name: sku.name, id: sku.guid },
      application: sku.application,
      kmsCountedId: { name: sku.kmsCountedName, id: sku.kmsCountedId },
      threshold: sku.requiredClientCount,
      defaultProtocol: sku.protocolVersion
    },
    request: {
      protocol: input.protocol,
      cmid: input.cmid,
      cmidSource: input.cmidSource,
      cmidPrev: input.cmidPrev,
      workstationName: input.workstationName,
      clientTime: lastExchange ? (fileTimeToDate(lastExchange.request.base.clientTime)?.toISOString() ?? null) : null,
      transferSyntax: lastExchange?.request.syntax ?? bound?.syntax ?? null,
      contextId: lastExchange?.request.contextId ?? bound?.contextId ?? null,
      callId: lastExchange?.request.callId ?? null
    },
    rpc: bound
      ? {
          alterContext: bound.altered,
          ndr64Accepted: bound.ndr64ContextId !== undefined,
          btfnFeatures: bound.btfnFeatures ?? null,
          assocGroupId: bound.assocGroupId,
          secondaryAddress: bound.secondaryAddress
        }
      : null,
    answer: null,
    rtt: {
      resolveMs: progress?.timing.resolveMs ?? null,
      connectMs: progress?.timing.connectMs ?? null,
      bindMs: progress?.timing.bindMs ?? null,
      requestMs: progress?.timing.requestMs.at(-1) ?? null,
      totalMs: progress?.timing.totalMs ?? 0
    },
    reconnects: progress?.reconnects ?? 0,
    verification: { verified: false, checks: [], failed: null },
    warnings: [],
    error: null
  }

  if (input.outcome.ok) {
    const result = input.outcome.result
    const ex = lastExchange!
    const b = ex.response.base
    const threshold = ex.request.base.nPolicy
    const would = b.count >= threshold
    report.ok = true
    report.status = would ? 'activate' : 'count-below-threshold'
    report.wouldActivate = would
    report.answer = {
      protocol: ex.response.majorVer,
      count: b.count,
      threshold,
      wouldActivate: would,
      windowsCode: would ? null : NOT_ENOUGH_COUNT,
      epid: describeEpid(b.epid, ex.response.epidParts, catalog),
      hwid: ex.response.hwid ? formatHwid(ex.response.hwid) : null,
      activationInterval: interval(b.activationInterval),
      renewalInterval: interval(b.renewalInterval),
      responseIv: ex.response.responseIv ? toHex(ex.response.responseIv) : null
    }
    report.verification = { verified: true, checks: checkList(ex.checks), failed: null }
    report.warnings = hostAnswerWarnings(input.sku.kmsCountedId, result, catalog)
    report.summary = would
      ? `KMS host ${endpoint} answered (verified): count ${b.count} of threshold ${threshold} → a client would activate`
      : `KMS host ${endpoint} answered (verified): count ${b.count} is below the threshold ${threshold} → a client would not activate (${NOT_ENOUGH_COUNT.code})`
    return report
  }

  const error = input.outcome.error
  const { windowsCode, explanation, fix } = explainError(error, endpoint)
  report.error = { code: error.code, phase: error.phase, message: error.message, windowsCode, explanation, fix, details: errorDetails(error) }
  if (error.code === 'verification-failed') {
    report.verification = {
      verified: false,
      checks: checkList(error.details.checks),
      failed: { check: error.details.check ?? 'unknown', reason: error.message }
    }
  }
  report.summary = `no verified answer from ${endpoint}: ${error.code} in the ${error.phase} phase${windowsCode ? ` (${windowsCode.code})` : ''} — ${explanation}`
  return report
}
