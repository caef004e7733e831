/**
 * Typed errors of the DNS layer.
 *
 * Every failure the DNS code can report carries a stable `code` so callers (the discovery flow, the CLI, the
 * UI) can branch on it and translate it, instead of parsing messages. Messages are written for a technician:
 * what happened, where, and what to try.
 */

export type DnsErrorCode =
  /** No reply that passed our checks arrived within the per-attempt timeout (all attempts, all servers). */
  | 'timeout'
  /** The server answered authoritatively that the name does not exist (RCODE 3). An answer, not a failure. */
  | 'nxdomain'
  /** The name exists but has no records of the asked type (NOERROR with an empty answer). */
  | 'nodata'
  /** The only SRV record has target "." — RFC 2782: the service is decidedly not available in this domain. */
  | 'declined'
  /** The server reported SERVFAIL (RCODE 2): it could not get an answer itself. */
  | 'servfail'
  /** The server refused the query (RCODE 5): usually not allowed to recurse for us. */
  | 'refused'
  /** Any other non-success RCODE (FORMERR, NOTIMP, …). */
  | 'other-rcode'
  /** A reply that matched our query but could not be decoded safely, or a broken TCP stream. */
  | 'malformed'
  /** Socket-level failure: unreachable, connection refused/reset, cannot bind. */
  | 'network'
  /** A CNAME chain that loops or exceeds our hop limit. */
  | 'cname-loop'
  /** The name to look up is not a valid DNS name (too long, empty label, bad characters). */
  | 'invalid-name'
  /** No DNS server was given; we never fall back to a public resolver. */
  | 'no-servers'
  /** The caller aborted the lookup through its AbortSignal. */
  | 'aborted'

/** One failed exchange with one server; kept so a final error can say what happened at each server. */
export interface DnsFailure {
  readonly server: string
  readonly transport: 'udp' | 'tcp'
  readonly code: DnsErrorCode
  readonly message: string
  readonly rcode?: string
}

export interface DnsErrorDetails {
  readonly qname?: string
  readonly qtype?: string
  /** The server (as `host:port` / `[v6]:port`) that gave the final answer or failure, when there is one. */
  readonly server?: string
  /** The DNS RCODE name when the error comes from a reply (e.g. 'SERVFAIL'). */
  readonly rcode?: string
  /** Per-server failures, in the order servers were tried. */
  readonly failures?: readonly DnsFailure[]
  readonly cause?: unknown
}

export class DnsError extends Error {
  override readonly name = 'DnsError'
  readonly code: DnsErrorCode
  readonly qname: string | undefined
  readonly qtype: string | undefined
  readonly server: string | undefined
  readonly rcode: string | undefined
  readonly failures: readonly DnsFailure[]

  constructor(code: DnsErrorCode, message: string, details: DnsErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.code = code
    this.qname = details.qname
    this.qtype = details.qtype
    this.server = details.server
    this.rcode = details.rcode
    this.failures = details.failures ?? []
  }
}

export function isDnsError(value: unknown): value is DnsError {
  return value instanceof DnsError
}
