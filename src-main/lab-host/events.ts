/**
 * What the lab host tells the outside world: typed events (for the app service to forward to the UI, and for the
 * CLI's log lines), the counters behind `status()`, and a small listener registry.
 *
 * Events are plain data (JSON-serialisable: numbers, strings, null), so they can cross the IPC boundary as they are.
 */

/** A socket the host listens on, as bound (port 0 in the options becomes the real port here). */
export interface LabHostAddress {
  address: string
  port: number
  family: 4 | 6
  /** `127.0.0.1:1688` or `[::1]:1688` */
  text: string
  loopback: boolean
}

/** Why a connection ended (each connection is counted under exactly one reason). */
export type LabHostCloseReason =
  /** the client closed (FIN) after its exchanges, or between them */
  | 'client-closed'
  /** the client reset the connection or the socket failed (ECONNRESET, EPIPE, …) */
  | 'reset'
  /** no new PDU started within the deadline after the previous reply (or after connecting) */
  | 'idle'
  /** a PDU was started but the exchange did not complete within the deadline (slow or stalled client) */
  | 'deadline'
  /** input that is not a KMS client's DCE/RPC (bad header, PDU type, fragment, decode failure) */
  | 'malformed'
  /** frag_length above maxPduBytes */
  | 'oversize'
  /** more PDUs on one connection than maxPdusPerConnection */
  | 'pdu-limit'
  /** the client's address sent more requests per second than it may (closed without a reply) */
  | 'rate-limit'
  /** closed by a graceful stop (idle at the time, or after finishing its exchange) */
  | 'stopping'
  /** the client log could not store the request; it was not acknowledged */
  | 'log-failed'
  /** a bug: an exception escaped the protocol layer (contained to this connection) */
  | 'internal-error'

export const CLOSE_REASONS: readonly LabHostCloseReason[] = [
  'client-closed',
  'reset',
  'idle',
  'deadline',
  'malformed',
  'oversize',
  'pdu-limit',
  'rate-limit',
  'stopping',
  'log-failed',
  'internal-error'
]

/** Protocol bucket for the request counters; 'other' = a major version the host does not speak. */
export type LabHostProtocolKey = 'v4' | 'v5' | 'v6' | 'other'

export interface LabHostCounters {
  /** KMS requests by protocol and outcome: ok = normal response, refused = HRESULT error response */
  requests: Record<LabHostProtocolKey, { ok: number; refused: number }>
  /** request PDUs answered with an RPC fault (wrong context or opnum) */
  faults: number
  connections: {
    accepted: number
    /** open right now */
    active: number
    /** highest `active` since start */
    peak: number
    /** refused at once because the host was at maxConnections (or stopping) */
    refused: number
  }
  closes: Record<LabHostCloseReason, number>
  /** requests not acknowledged because the client log failed to store them */
  logFailures: number
}

export function emptyCounters(): LabHostCounters {
  const closes = {} as Record<LabHostCloseReason, number>
  for (const reason of CLOSE_REASONS) closes[reason] = 0
  return {
    requests: { v4: { ok: 0, refused: 0 }, v5: { ok: 0, refused: 0 }, v6: { ok: 0, refused: 0 }, other: { ok: 0, refused: 0 } },
    faults: 0,
    connections: { accepted: 0, active: 0, peak: 0, refused: 0 },
    closes,
    logFailures: 0
  }
}

/** Zeroes `c` in place (the responder and connections hold the same object). */
export function resetCounters(c: LabHostCounters): void {
  const fresh = emptyCounters()
  c.requests = fresh.requests
  c.faults = 0
  c.connections = fresh.connections
  c.closes = fresh.closes
  c.logFailures = 0
}

export function copyCounters(c: LabHostCounters): LabHostCounters {
  return {
    requests: {
      v4: { ...c.requests.v4 },
      v5: { ...c.requests.v5 },
      v6: { ...c.requests.v6 },
      other: { ...c.requests.other }
    },
    faults: c.faults,
    connections: { ...c.connections },
    closes: { ...c.closes },
    logFailures: c.logFailures
  }
}

/** Adds `from` to `into` (the owner's counters plus its workers'). */
export function addCounters(into: LabHostCounters, from: LabHostCounters): LabHostCounters {
  for (const key of ['v4', 'v5', 'v6', 'other'] as const) {
    into.requests[key].ok += from.requests[key].ok
    into.requests[key].refused += from.requests[key].refused
  }
  into.faults += from.faults
  into.connections.accepted += from.connections.accepted
  into.connections.active += from.connections.active
  // the sum of each process's peak: an upper bound of the peak of the whole host
  into.connections.peak += from.connections.peak
  into.connections.refused += from.connections.refused
  for (const reason of CLOSE_REASONS) into.closes[reason] += from.closes[reason]
  into.logFailures += from.logFailures
  return into
}

/** One KMS request the host answered and stored in the client log (field names as in the log, docs/protocol.md §3). */
export interface LabHostExchange {
  /** epoch ms (host clock) */
  timeMs: number
  /** `ip:port` / `[ipv6]:port` */
  clientAddress: string
  /** 'ok': normal response; 'refused': HRESULT error response */
  outcome: 'ok' | 'refused'
  /** unsigned HRESULT of a refusal, else null */
  hresult: number | null
  /** why it was refused (e.g. "KMS protocol 7.0 is not supported"), else null */
  reason: string | null
  protocolMajor: number
  protocolMinor: number
  syntax: 'ndr32' | 'ndr64'
  cmid: string
  previousCmid: string | null
  workstationName: string
  applicationId: string
  /** "Windows", "Office2010", "Office2013+", or null when unknown */
  applicationName: string | null
  skuId: string
  /** SKU name from products.json, null when the SKU is unknown */
  productName: string | null
  kmsCountedId: string
  /** KMS counted ID name from products.json, null when unknown */
  kmsCountedName: string | null
  /** N_Policy the client sent */
  requiredClientCount: number
  licenseStatus: number
  /** Count returned (null for refusals) */
  count: number | null
  /** ePID answered (null for refusals) */
  epid: string | null
  /** host time from the PDU's arrival to the reply being handed to the socket */
  durationMs: number
}

export interface LabHostEvents {
  started: { addresses: LabHostAddress[] }
  /** a graceful stop began: no new connections; `inFlight` exchanges may still finish */
  stopping: { inFlight: number; open: number }
  stopped: { drained: boolean; abandoned: number; counters: LabHostCounters }
  'request-logged': LabHostExchange
  /** a request PDU answered but not logged: an RPC fault, or a refusal whose request could not be decrypted */
  'request-rejected': { clientAddress: string; kind: 'fault' | 'refused'; status: number; reason: string }
  'connection-opened': { remoteAddress: string; active: number }
  /** `per-address`: that client address already holds its share of connections (`active` of `limit` are its own) */
  'connection-refused': { remoteAddress: string; reason: 'capacity' | 'per-address' | 'stopping'; active: number; limit: number }
  'connection-closed': { remoteAddress: string; reason: LabHostCloseReason; detail: string; requests: number; durationMs: number }
  'log-purged': { rows: number }
  warning: { code: 'non-loopback' | 'client-log' | 'client-log-cap' | 'identity' | 'worker'; message: string }
  error: { scope: 'connection' | 'client-log' | 'server' | 'listener'; message: string; remoteAddress?: string }
}

export type LabHostEventName = keyof LabHostEvents
export type LabHostListener<E extends LabHostEventName> = (payload: LabHostEvents[E]) => void

/**
 * Listener registry. A throwing listener is isolated (it must not break the host's socket handling); `has()` lets
 * the hot path skip building a payload nobody listens to.
 */
export class LabHostEmitter {
  private readonly listeners = new Map<LabHostEventName, Set<(payload: never) => void>>()
  /** told whenever the set of subscribed events may have changed (the worker pool forwards only those) */
  onSubscriptionsChanged: (() => void) | undefined

  on<E extends LabHostEventName>(event: E, listener: LabHostListener<E>): () => void {
    let set = this.listeners.get(event)
    if (!set) {
      set = new Set()
      this.listeners.set(event, set)
    }
    const fn = listener as (payload: never) => void
    set.add(fn)
    this.onSubscriptionsChanged?.()
    return () => {
      set.delete(fn)
      this.onSubscriptionsChanged?.()
    }
  }

  has(event: LabHostEventName): boolean {
    const set = this.listeners.get(event)
    return set !== undefined && set.size > 0
  }

  emit<E extends LabHostEventName>(event: E, payload: LabHostEvents[E]): void {
    const set = this.listeners.get(event)
    if (!set) return
    for (const listener of set) {
      try {
        ;(listener as LabHostListener<E>)(payload)
      } catch {
        // A subscriber's failure is the subscriber's problem; the host keeps serving.
      }
    }
  }
}
