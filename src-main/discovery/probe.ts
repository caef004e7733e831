/**
 * The one thing the client flow needs from the transport: try one KMS host once and say whether a verified
 * answer came back. Injected, so the flow can be tested with fake probes and real listeners, and so it does not
 * depend on how the KMS exchange is implemented (src-main/kms-client/kms-client.ts supplies the real one through
 * ./kms-probe.ts).
 *
 * Contract for implementations:
 *  - resolve, never reject (unexpected exceptions are turned into `internal` failures by the flow anyway);
 *  - honour `signal`: once it is aborted, close the socket and resolve promptly (with `aborted`);
 *  - enforce their own timeouts (connect / bind / request) so a hanging host ends as `timeout`.
 */

export interface ProbeTarget {
  /** The host as configured, cached or published in the SRV record (name or IP literal); shown and cached. */
  readonly host: string
  readonly port: number
  /** The IP address to connect to. Undefined: connect by name and let the operating system resolve it. */
  readonly address?: string
}

/**
 * Why one attempt failed. The first group are "the host could not be reached or did not answer" (a Windows
 * client reports them as RPC errors), the second group are answers that are not a usable KMS response.
 */
export type ProbeFailureCode =
  /** TCP connection refused (ECONNREFUSED): nothing listens on that port, or a firewall rejects. */
  | 'refused'
  /** No route / address not available (EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL). */
  | 'unreachable'
  /** The host name did not resolve to an address. */
  | 'name-not-found'
  /** The TCP connection was not established within the connect timeout (packets dropped). */
  | 'connect-timeout'
  /** Connected, but the RPC bind or the KMS response did not arrive in time: the host hangs. */
  | 'timeout'
  /** The host reset or closed the connection in the middle of the exchange. */
  | 'closed'
  /** bind_nak, or every presentation context rejected: the listener does not speak the KMS interface. */
  | 'rpc-bind-rejected'
  /** An RPC fault PDU instead of a response. */
  | 'rpc-fault'
  /** The host refused the KMS request with an HRESULT (e.g. 0x8007000D, 0xC004F042, 0xC004F06C). */
  | 'kms-error'
  /** A reply that failed verification or is not a valid PDU (broken or fake host). */
  | 'bad-response'
  /** Cancelled by the flow (another host answered first, or the caller gave up). */
  | 'aborted'
  /** A bug or an unexpected exception in the probe. */
  | 'internal'

export interface ProbeFailure {
  readonly kind: 'failure'
  readonly code: ProbeFailureCode
  /** One line for a technician: what happened and, when known, in which phase. */
  readonly message: string
  /** The HRESULT of a `kms-error` (or the status of an `rpc-fault`). */
  readonly hresult?: number
  /** Where it failed: 'connect', 'bind', 'request', … */
  readonly phase?: string
}

export interface ProbeVerified<A> {
  readonly kind: 'verified'
  /** What the host answered (JSON-serialisable for the report). */
  readonly answer: A
  /** Round-trip time of the KMS request, if the probe measured it; else the flow uses the attempt duration. */
  readonly rttMs?: number
}

export type ProbeOutcome<A> = ProbeVerified<A> | ProbeFailure

export type Probe<A> = (target: ProbeTarget, signal: AbortSignal) => Promise<ProbeOutcome<A>>

export { formatHostPort } from '../common/host-port'
