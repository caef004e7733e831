/**
 * The real probe: one KMS exchange with `queryKmsHost` (src-main/kms-client/kms-client.ts), reduced to what the
 * flow and the check report need. One request per attempt, with the caller's stable CMID (docs/protocol.md §10.3:
 * a health check must not "charge" a host with random CMIDs).
 */
import { formatHwid, productCatalog } from '../protocol'
import { describeEpid, hostAnswerWarnings, hostKeyFinding, type HostKeyFinding } from '../kms-client/answer-analysis'
import {
  isKmsQueryError,
  queryKmsHost,
  type KmsClientTimeouts,
  type KmsQueryError,
  type KmsQueryRequestParams,
  type QueryKmsHostOptions
} from '../kms-client/kms-client'
import type { KmsQueryResult } from '../kms-client/result'
import type { Probe, ProbeFailure, ProbeFailureCode } from './probe'
import { windowsCodeForProbeFailure } from './error-map'

/** A verified KMS answer, JSON-serialisable. */
export interface KmsAnswerSummary {
  /** Count reported by the host. */
  readonly count: number
  /** N_Policy the request sent (the product's activation threshold). */
  readonly threshold: number
  /** count ≥ threshold: a real client of this product would activate. */
  readonly countSufficient: boolean
  readonly epid: string
  /** What the ePID says about the host (OS and build, CSVLK group, activation date). */
  readonly epidMeaning: string
  /** V6 only: 16 hex digits in wire order. */
  readonly hwid?: string
  /** VLActivationInterval, minutes. */
  readonly activationIntervalMin: number
  /** VLRenewalInterval, minutes. */
  readonly renewalIntervalMin: number
  /** `6.0` etc. */
  readonly protocol: string
  readonly address: string
  /** Request written → response verified. */
  readonly rttMs: number
  readonly connectMs?: number
  readonly bindMs?: number
  /** Verification checks that passed with a warning. */
  readonly warnings: readonly string[]
  /** The host key the ePID names and whether it serves the product (null when the ePID is not well-formed). */
  readonly hostKey: HostKeyFinding | null
}

export interface KmsProbeOptions {
  /** The request (identity, CMID, workstation name, protocol…); the same for every host tried. */
  readonly request: KmsQueryRequestParams
  readonly timeouts?: Partial<KmsClientTimeouts>
  /** Injected for tests; default the real queryKmsHost. */
  readonly query?: (options: QueryKmsHostOptions) => Promise<KmsQueryResult>
}

export function createKmsProbe(options: KmsProbeOptions): Probe<KmsAnswerSummary> {
  const query = options.query ?? queryKmsHost
  const catalog = productCatalog
  return async (target, signal) => {
    try {
      const result = await query({
        host: target.host,
        port: target.port,
        ...(target.address !== undefined ? { addresses: [target.address] } : {}),
        requests: options.request,
        ...(options.timeouts ? { timeouts: options.timeouts } : {}),
        signal
      })
      const exchange = result.exchanges[0]
      if (!exchange) return { kind: 'failure', code: 'internal', message: 'the query finished without an exchange' }
      const base = exchange.response.base
      const summary: KmsAnswerSummary = {
        count: base.count,
        threshold: exchange.request.base.nPolicy,
        countSufficient: exchange.countSufficient,
        epid: base.epid,
        epidMeaning: describeEpid(base.epid, exchange.response.epidParts, catalog).meaning,
        ...(exchange.response.hwid ? { hwid: formatHwid(exchange.response.hwid) } : {}),
        activationIntervalMin: base.activationInterval,
        renewalIntervalMin: base.renewalInterval,
        protocol: `${exchange.response.majorVer}.${exchange.response.minorVer}`,
        address: result.address,
        rttMs: exchange.rttMs,
        ...(result.timing.connectMs !== undefined ? { connectMs: result.timing.connectMs } : {}),
        ...(result.timing.bindMs !== undefined ? { bindMs: result.timing.bindMs } : {}),
        warnings: hostAnswerWarnings(options.request.identity.kmsId, result, catalog),
        hostKey: exchange.response.epidParts ? hostKeyFinding(exchange.response.epidParts, options.request.identity.kmsId, catalog) : null
      }
      return { kind: 'verified', answer: summary, rttMs: exchange.rttMs }
    } catch (error) {
      if (isKmsQueryError(error)) return probeFailureOf(error)
      if (signal.aborted) return { kind: 'failure', code: 'aborted', message: 'cancelled' }
      return { kind: 'failure', code: 'internal', message: error instanceof Error ? error.message : String(error) }
    }
  }
}

/** The Windows code a client would log for this failure at one host (event 12288), or undefined. */
export function windowsCodeForQueryError(error: KmsQueryError): number | undefined {
  return windowsCodeForProbeFailure(probeFailureOf(error))
}

/** KmsQueryError → the flow's failure codes (see probe.ts). */
function probeFailureOf(error: KmsQueryError): ProbeFailure {
  const code = failureCode(error)
  const hresult = error.code === 'kms-error' ? error.details.hresult : error.code === 'rpc-fault' ? error.details.status : undefined
  return { kind: 'failure', code, message: error.message, phase: error.phase, ...(hresult !== undefined ? { hresult } : {}) }
}

function failureCode(error: KmsQueryError): ProbeFailureCode {
  switch (error.code) {
    case 'connection-refused':
      return 'refused'
    case 'network':
      return 'unreachable'
    case 'dns-failed':
      return 'name-not-found'
    case 'timeout':
      return error.phase === 'connect' ? 'connect-timeout' : error.phase === 'resolve' ? 'name-not-found' : 'timeout'
    case 'connection-closed':
    case 'connection-reset':
      return 'closed'
    case 'bind-rejected':
      return 'rpc-bind-rejected'
    case 'rpc-fault':
      return 'rpc-fault'
    case 'kms-error':
      return 'kms-error'
    case 'verification-failed':
    case 'protocol-violation':
      return 'bad-response'
    case 'aborted':
      return 'aborted'
    case 'invalid-request':
      return 'internal'
  }
}
