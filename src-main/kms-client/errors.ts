/**
 * Typed failures of one KMS query (docs/protocol.md §8.3). Every failure carries the phase it happened in and a
 * stable `code`, so the report builder, the discovery flow and the UI can branch on it without parsing text.
 */
import type { CheckName, CheckResult } from '../protocol'
import type { KmsQueryProgress } from './result'

/** Where the exchange was when it failed. */
export type KmsQueryPhase = 'setup' | 'resolve' | 'connect' | 'bind' | 'request'

export type KmsQueryErrorCode =
  /** the request parameters cannot be encoded (e.g. a workstation name longer than 63 characters) */
  | 'invalid-request'
  /** the host name did not resolve to any address */
  | 'dns-failed'
  /** TCP connection refused: nothing listens on that port (ECONNREFUSED) */
  | 'connection-refused'
  /** no route, address not usable, … (EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL, …) */
  | 'network'
  /** the phase's time limit passed (see `phase`) */
  | 'timeout'
  /** the host closed the connection before it answered */
  | 'connection-closed'
  /** the host reset the connection (ECONNRESET / EPIPE) */
  | 'connection-reset'
  /** bind_nak, or every offered presentation context rejected: the host does not speak the KMS interface */
  | 'bind-rejected'
  /** the host answered with a DCE/RPC fault PDU */
  | 'rpc-fault'
  /** the host refused the KMS request with an HRESULT (e.g. 0x8007000D) */
  | 'kms-error'
  /** the reply decoded but failed a named verification check: broken or fake host */
  | 'verification-failed'
  /** bytes that are not a valid PDU of the expected kind */
  | 'protocol-violation'
  /** the caller's AbortSignal fired */
  | 'aborted'

export interface KmsQueryErrorDetails {
  /** the address the failure happened on, when a connection was attempted */
  address?: string | undefined
  /** OS error code (ECONNREFUSED, ECONNRESET, ENOTFOUND, …) */
  osCode?: string | undefined
  /** the time limit that passed, for `timeout` */
  timeoutMs?: number | undefined
  /** bind-rejected */
  bindReason?: 'bind_nak' | 'all-contexts-rejected' | undefined
  /** rpc-fault: NCA status, its hex text and its name when known */
  status?: number | undefined
  statusText?: string | undefined
  statusName?: string | undefined
  /** kms-error: the HRESULT, hex text and symbolic name */
  hresult?: number | undefined
  hresultText?: string | undefined
  hresultName?: string | undefined
  /** verification-failed: the first failing check and every check that ran */
  check?: CheckName | undefined
  checks?: CheckResult[] | undefined
  /** protocol-violation: field and byte offset */
  field?: string | undefined
  offset?: number | undefined
  /** 0-based index of the request that failed (several requests on one connection) */
  requestIndex?: number | undefined
  cause?: unknown
}

export class KmsQueryError extends Error {
  override readonly name = 'KmsQueryError'
  readonly code: KmsQueryErrorCode
  readonly phase: KmsQueryPhase
  readonly details: Omit<KmsQueryErrorDetails, 'cause'>
  /** What had been done before the failure (addresses tried, RTTs, completed exchanges); set by queryKmsHost. */
  progress: KmsQueryProgress | undefined

  constructor(code: KmsQueryErrorCode, phase: KmsQueryPhase, message: string, details: KmsQueryErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.code = code
    this.phase = phase
    const { cause: _cause, ...rest } = details
    this.details = rest
    this.progress = undefined
  }
}

export function isKmsQueryError(value: unknown): value is KmsQueryError {
  return value instanceof KmsQueryError
}

const SOCKET_ERROR_TEXT: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused: nothing listens on that port',
  ECONNRESET: 'connection reset by the host',
  EPIPE: 'the host closed the connection while we were writing',
  EHOSTUNREACH: 'no route to the host (host unreachable)',
  ENETUNREACH: 'no route to the host (network unreachable)',
  EADDRNOTAVAIL: 'the address is not usable from this machine',
  EAFNOSUPPORT: 'this machine cannot use that address family (IPv6 disabled?)',
  ETIMEDOUT: 'the operating system gave up connecting (timed out)'
}

/** Maps a socket error to our code and a readable message. */
export function socketErrorOf(error: unknown, phase: KmsQueryPhase, address: string): KmsQueryError {
  const osCode = error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined
  const text = osCode !== undefined ? SOCKET_ERROR_TEXT[osCode] : undefined
  const message = `${address}: ${text ?? (error instanceof Error ? error.message : String(error))}${osCode ? ` (${osCode})` : ''}`
  let code: KmsQueryErrorCode = 'network'
  if (osCode === 'ECONNREFUSED') code = 'connection-refused'
  else if (osCode === 'ECONNRESET' || osCode === 'EPIPE') code = 'connection-reset'
  else if (osCode === 'ETIMEDOUT') code = 'timeout'
  return new KmsQueryError(code, phase, message, { address, osCode, cause: error })
}
