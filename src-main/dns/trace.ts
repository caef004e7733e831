/**
 * Trace events of the DNS layer.
 *
 * A trace is a plain callback (`TraceSink`) so one log can collect events from several layers: the discovery
 * flow passes a sink that pushes DNS events, SRV selection draws and its own KMS connection events into one
 * array, in the order they happened. Events are plain JSON-serialisable objects (no Buffers, no Errors) so they
 * can cross IPC and be written to the client log unchanged.
 *
 * `atMs` is read from the client's injected clock (milliseconds, monotonic by default — `performance.now()`), so
 * only differences between events are meaningful.
 */
import type { DnsErrorCode } from './errors'

export type TraceSink<E> = (event: E) => void

export type DnsTransport = 'udp' | 'tcp'

/** A query left for a server. `id` is the DNS message ID (random per attempt). */
export interface DnsQueryEvent {
  readonly kind: 'dns-query'
  readonly atMs: number
  readonly server: string
  readonly transport: DnsTransport
  readonly qname: string
  readonly qtype: string
  readonly id: number
  /** 1-based attempt number at this server (a TCP retry after truncation keeps the attempt number). */
  readonly attempt: number
}

/** A reply that passed ID/QR/question checks (whatever its RCODE). */
export interface DnsReplyEvent {
  readonly kind: 'dns-reply'
  readonly atMs: number
  readonly server: string
  readonly transport: DnsTransport
  readonly qname: string
  readonly qtype: string
  readonly id: number
  readonly rcode: string
  readonly truncated: boolean
  readonly authoritative: boolean
  /** Record counts as found in the message (0 for truncated or RCODE-only replies that we do not decode). */
  readonly answers: number
  readonly authorities: number
  readonly additionals: number
  readonly bytes: number
  readonly elapsedMs: number
}

/** A datagram/message that was not accepted as the reply to our query (wrong ID, other question, garbage…). */
export interface DnsIgnoredEvent {
  readonly kind: 'dns-ignored'
  readonly atMs: number
  readonly server: string
  readonly transport: DnsTransport
  readonly qname: string
  readonly qtype: string
  readonly reason: string
  readonly bytes: number
}

/** The UDP reply had TC set; the same query goes to the same server over TCP. */
export interface DnsTcpFallbackEvent {
  readonly kind: 'dns-tcp-fallback'
  readonly atMs: number
  readonly server: string
  readonly qname: string
  readonly qtype: string
}

/** One exchange failed (timeout, SERVFAIL, REFUSED, malformed, network). */
export interface DnsFailureEvent {
  readonly kind: 'dns-failure'
  readonly atMs: number
  readonly server: string
  readonly transport: DnsTransport
  readonly qname: string
  readonly qtype: string
  readonly attempt: number
  /** The DNS message ID of the failed query (pairs the failure with its `dns-query`). */
  readonly id: number
  readonly code: DnsErrorCode
  readonly message: string
  readonly elapsedMs: number
}

/** Giving up on one server and moving to the next in the list. */
export interface DnsNextServerEvent {
  readonly kind: 'dns-next-server'
  readonly atMs: number
  readonly from: string
  readonly to: string
  readonly qname: string
  readonly qtype: string
  readonly reason: DnsErrorCode
}

/** A CNAME followed while looking up SRV records or target addresses. */
export interface DnsCnameEvent {
  readonly kind: 'dns-cname'
  readonly atMs: number
  readonly from: string
  readonly to: string
  readonly qtype: string
}

/** The SRV record set found for a name (wire order; selection happens later). */
export interface SrvRecordsEvent {
  readonly kind: 'srv-records'
  readonly atMs: number
  readonly qname: string
  readonly ownerName: string
  readonly server: string
  /** The records taken (at most the lookup's `maxRecords`, lowest priorities first), in wire order. */
  readonly records: ReadonlyArray<{ priority: number; weight: number; port: number; target: string; ttl: number }>
  /** Records beyond the cap, not taken. */
  readonly ignored: number
}

/** The addresses found for one SRV target, and where they came from. */
export interface SrvTargetAddressesEvent {
  readonly kind: 'srv-target-addresses'
  readonly atMs: number
  readonly target: string
  readonly source: 'additional' | 'lookup' | 'literal' | 'none'
  readonly addresses: readonly string[]
  /** Failures of the A/AAAA lookups, if any (NODATA is not a failure). */
  readonly problems: readonly string[]
}

export type DnsTraceEvent =
  | DnsQueryEvent
  | DnsReplyEvent
  | DnsIgnoredEvent
  | DnsTcpFallbackEvent
  | DnsFailureEvent
  | DnsNextServerEvent
  | DnsCnameEvent
  | SrvRecordsEvent
  | SrvTargetAddressesEvent

/** A sink that drops everything (the default when the caller does not trace). */
export const discardTrace: TraceSink<unknown> = () => {}
