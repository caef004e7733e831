/**
 * One KMS query as a technician's report: a plain, JSON-serialisable object (no bigint, no bytes) that the CLI
 * prints (`query --json` prints it as is) and the UI renders. It answers: did the host answer, can it be
 * trusted (verification), would a client activate (count ≥ N_Policy), what is the host (ePID, HwId), how fast,
 * and — when something failed — the Windows code a technician would search for, what it means and the usual
 * fix (docs/protocol.md §8.3, docs/windows-client.md §2.5).
 */
import {
  fileTimeToDate,
  formatHwid,
  productCatalog as defaultCatalog,
  toHex,
  type CheckResult,
  type Guid,
  type ProductCatalog,
  type Sku
} from '../protocol'
import { formatMinutes } from '../common/format'
import { formatHostPort } from '../common/host-port'
import { explainWindowsCode, WINDOWS_CODE, type WindowsCodeEntry } from '../common/windows-codes'
import { windowsCodeForQueryError } from '../discovery/kms-probe'
import {
  describeEpid,
  hostAnswerWarnings,
  hostKeyFinding,
  neededKeyAdvice,
  type EpidReport,
  type HostKeyFinding
} from '../kms-client/answer-analysis'
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

/** A code from the one table (common/windows-codes.ts), as the report carries it. */
export interface WindowsCode {
  /** e.g. "0xC004F038" */
  code: string
  /** symbolic name where Microsoft's headers give one */
  name: string | null
  /** the words people search for */
  summary: string
  /** one line */
  meaning: string
  /** the usual fix */
  fix: string
}

function windowsCode(value: number): WindowsCode {
  const entry: WindowsCodeEntry = explainWindowsCode(value)
  return { code: entry.code, name: entry.symbol ?? null, summary: entry.summary, meaning: entry.meaning, fix: entry.fix }
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
    /** the host key the ePID names and whether it serves the product (null when the ePID is not well-formed) */
    hostKey: HostKeyFinding | null
    /** v6 only: 16 hex digits in wire order */
    hwid: string | null
    activationInterval: IntervalReport
    renewalInterval: IntervalReport
    /** V5/V6 response IV as hex (first ciphertext block) */
    responseIv: string | null
  } | null
  rtt: { resolveMs: number | null; connectMs: number | null; bindMs: number | null; requestMs: number | null; totalMs: number }
  /** new connections opened because the host closed the previous one between requests (docs/protocol.md §1.3) */
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
    /** the code a Windows client would report (slmgr, event 12289), when one applies */
    windowsCode: WindowsCode | null
    /** the code a client would log for this host (event 12288), as `check` reports for each attempt */
    hostCode: WindowsCode | null
    explanation: string
    fix: string
    details: Record<string, string | number | boolean | null>
  } | null
}

const NOT_ENOUGH_COUNT = windowsCode(WINDOWS_CODE.countInsufficient)
const NO_KMS_HOST = windowsCode(WINDOWS_CODE.noKmsContacted)

function interval(minutes: number): IntervalReport {
  return { minutes, text: formatMinutes(minutes) }
}

function checkList(checks: readonly CheckResult[] | undefined): QueryReport['verification']['checks'] {
  return (checks ?? []).map((c) => ({ name: c.name, status: c.status, detail: c.detail }))
}

interface ErrorExplanation {
  windowsCode: WindowsCode | null
  explanation: string
  /** only where the table has no code for the failure */
  fix?: string
}

/**
 * What happened, in this host's words, with the code Windows would report. The fix comes from the one table, for
 * the host's own code first (the more specific one), so `query` and `check` give the same code and fix for the
 * same failure.
 */
function explainError(
  error: KmsQueryError,
  target: string,
  sku: Sku,
  catalog: ProductCatalog
): ErrorExplanation & { hostCode: WindowsCode | null; fix: string } {
  const explained = explainFailure(error, target, sku, catalog)
  const hostValue = windowsCodeForQueryError(error)
  const hostCode = hostValue === undefined ? null : windowsCode(hostValue)
  const fix = hostCode?.fix ?? explained.fix ?? explained.windowsCode?.fix ?? 'run it again'
  return { ...explained, hostCode, fix }
}

function explainFailure(error: KmsQueryError, target: string, sku: Sku, catalog: ProductCatalog): ErrorExplanation {
  const d = error.details
  switch (error.code) {
    case 'invalid-request':
      return {
        windowsCode: null,
        explanation: error.message,
        fix: 'correct the value (workstation name at most 63 characters, protocol 4, 5 or 6)'
      }
    case 'dns-failed':
      return {
        windowsCode: NO_KMS_HOST,
        explanation: `the name ${target} could not be resolved, so no KMS host could be contacted`
      }
    case 'connection-refused':
      return {
        windowsCode: NO_KMS_HOST,
        explanation: `nothing accepts connections on ${target}: the KMS service is not running there or the port is wrong`
      }
    case 'network':
      return { windowsCode: NO_KMS_HOST, explanation: `${target} cannot be reached from this machine (${d.osCode ?? 'network error'})` }
    case 'timeout':
      if (error.phase === 'resolve') return { windowsCode: NO_KMS_HOST, explanation: 'DNS did not answer in time' }
      if (error.phase === 'connect') {
        return {
          windowsCode: NO_KMS_HOST,
          explanation: `${target} did not accept the TCP connection in time: a firewall drops TCP 1688, or the host is down`
        }
      }
      return {
        windowsCode: NO_KMS_HOST,
        explanation: `${target} accepted the connection but did not answer the ${error.phase === 'bind' ? 'RPC bind' : 'KMS request'} in time: not a KMS host, or a hung service`
      }
    case 'connection-closed':
    case 'connection-reset':
      return {
        windowsCode: NO_KMS_HOST,
        explanation: `${target} ${error.code === 'connection-reset' ? 'reset' : 'closed'} the connection during the ${error.phase} phase without answering: not a KMS host, or something in the path (proxy, IPS) drops the RPC traffic`
      }
    case 'bind-rejected':
      return {
        windowsCode: NO_KMS_HOST,
        explanation: `${target} speaks DCE/RPC but not the KMS interface (${d.bindReason === 'bind_nak' ? 'bind_nak' : 'every context rejected'})`
      }
    case 'rpc-fault':
      return {
        windowsCode: NO_KMS_HOST,
        explanation: `${target} answered with an RPC fault ${d.statusText ?? ''}${d.statusName ? ` (${d.statusName})` : ''}`
      }
    case 'kms-error': {
      const code = windowsCode(d.hresult ?? 0)
      // 0xC004F042: the host's key does not serve this product; say which key it needs (docs/product-catalog.md)
      const keyAdvice = (d.hresult ?? 0) >>> 0 === WINDOWS_CODE.kmsCannotBeUsed ? `; ${neededKeyAdvice(sku.kmsCountedId, catalog)}` : ''
      return { windowsCode: code, explanation: `the KMS host refused the request: ${code.meaning}${keyAdvice}` }
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
      hostKey: ex.response.epidParts ? hostKeyFinding(ex.response.epidParts, input.sku.kmsCountedId, catalog) : null,
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
  const { windowsCode, hostCode, explanation, fix } = explainError(error, endpoint, sku, catalog)
  report.error = {
    code: error.code,
    phase: error.phase,
    message: error.message,
    windowsCode,
    hostCode,
    explanation,
    fix,
    details: errorDetails(error)
  }
  if (error.code === 'verification-failed') {
    report.verification = {
      verified: false,
      checks: checkList(error.details.checks),
      failed: { check: error.details.check ?? 'unknown', reason: error.message }
    }
  }
  const codes = [windowsCode?.code, hostCode && hostCode.code !== windowsCode?.code ? `host ${hostCode.code}` : undefined].filter(
    (c) => c !== undefined
  )
  report.summary = `no verified answer from ${endpoint}: ${error.code} in the ${error.phase} phase${codes.length > 0 ? ` (${codes.join(', ')})` : ''} — ${explanation}`
  return report
}
