/**
 * What one KMS query produced: the address used, the bind, each verified exchange and the round-trip times.
 * Also the shape of the progress attached to a KmsQueryError, so a failed query still tells what happened
 * before it failed.
 */
import type { BaseRequest, BoundInfo, CheckResult, DecodedKmsResponse, NdrSyntax } from '../protocol'
import type { KmsQueryErrorCode } from './errors'

/** One address tried for the host (a name can resolve to several; they are tried in order). */
export interface AddressAttempt {
  address: string
  family: 4 | 6
  /** 'connected', or why connecting failed */
  outcome: 'connected' | KmsQueryErrorCode
  message: string | undefined
  /** time spent on this attempt, ms */
  ms: number
}

/** What a request carried on the wire (enough to explain it; the base request holds every KMS field). */
export interface SentRequest {
  base: BaseRequest
  callId: number
  contextId: number
  syntax: NdrSyntax
  /** V5/V6 cleartext IV */
  iv: Uint8Array | undefined
}

/** One request and its verified response. */
export interface KmsExchange {
  /** 0-based position on the connection */
  index: number
  request: SentRequest
  response: DecodedKmsResponse
  /** Count ≥ the N_Policy the request sent: a real client would be activated */
  countSufficient: boolean
  /** every verification check with its status (warnings possible, no failures) */
  checks: CheckResult[]
  /** request written → response verified, ms */
  rttMs: number
  /**
   * The host had closed the connection between requests, so this request was sent on a new connection (new
   * bind; it is the first request there: NDR32, ctx 0). docs/protocol.md §1.3.
   */
  reconnected: boolean
}

/** Round-trip times per phase, ms (performance.now() deltas; undefined for phases not reached/needed). */
export interface KmsQueryTiming {
  /** DNS resolution of a host name (undefined for an IP literal or given addresses) */
  resolveMs: number | undefined
  /** TCP connect of the address that was used (all attempts are in `attempts`; a reconnect is not counted) */
  connectMs: number | undefined
  /** bind → bind_ack (and alter_context → alter_context_resp when needed), on the first connection */
  bindMs: number | undefined
  /** per request, in order */
  requestMs: number[]
  /** start to end, including failed attempts */
  totalMs: number
}

export interface KmsQueryProgress {
  /** as given (name or IP literal) */
  host: string
  port: number
  /** the address connected to, once connected */
  address: string | undefined
  family: 4 | 6 | undefined
  attempts: AddressAttempt[]
  bound: BoundInfo | undefined
  exchanges: KmsExchange[]
  /**
   * New connections opened (and bound) because the host closed the connection between requests (PROTOCOL.md
   * docs/protocol.md §1.3); at most one per request. queryKmsHost always sets it (0 when none); optional only so
   * progress built elsewhere stays valid.
   */
  reconnects?: number
  timing: KmsQueryTiming
}

/** A successful query: connected, bound, and every request answered with a verified response. */
export interface KmsQueryResult extends KmsQueryProgress {
  address: string
  family: 4 | 6
  /** the bind of the first connection (a reconnect binds again; each exchange names its own context) */
  bound: BoundInfo
  reconnects: number
}
