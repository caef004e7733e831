/**
 * The trace of one discovery or check: every step as a plain JSON object, in the order it happened.
 *
 * One array holds three kinds of events: the DNS layer's (`dns-query`, `dns-reply`, `srv-records`, …, see
 * ../dns/trace.ts), SRV selection's (`srv-draw`, `srv-remove`) and the flow's own (below). The recorder stamps
 * every entry with a sequence number and a time in milliseconds since the flow started (`atMs`, from the
 * injected monotonic clock), so the UI can draw a timeline and `--verbose` can print one line per step.
 *
 * No Buffers, Errors or class instances: the trace crosses IPC, goes into `--json` output and may be stored.
 */
import { formatHostPort } from '../common/host-port'
import type { DnsTraceEvent, TraceSink } from '../dns/trace'
import type { AttemptRecord } from './failover'
import type { SrvSelectionTraceEvent } from './srv-selection'

/** Where a KMS host candidate came from, in Windows' order. */
export type CandidateSource = 'manual' | 'cache' | 'dns'

export interface FlowStartEvent {
  readonly kind: 'flow-start'
  readonly applicationId?: string
  readonly application?: string
  readonly product?: string
  readonly failover: { readonly mode: 'staggered' | 'sequential'; readonly staggerMs: number }
  readonly hostCaching: boolean
  readonly selection: 'rfc2782' | 'legacy-random'
}

/** The DNS servers that will be asked, and where the list came from. */
export interface DnsServersEvent {
  readonly kind: 'dns-servers'
  readonly source: 'configured' | 'os'
  readonly servers: readonly string[]
  /** e.g. "/etc/resolv.conf", "scutil --dns", "--dns-server" */
  readonly from: string
  readonly warnings: readonly string[]
}

/** The DNS domains that will be searched for `_vlmcs._tcp.<domain>`, in order. */
export interface DomainsEvent {
  readonly kind: 'domains'
  readonly source: 'configured' | 'os'
  readonly domains: readonly string[]
  readonly from: string
  readonly warnings: readonly string[]
}

export interface ManualHostEvent {
  readonly kind: 'manual-host'
  readonly host: string
  readonly port: number
  readonly note: string
}

export interface CacheLookupEvent {
  readonly kind: 'cache-lookup'
  readonly applicationId: string
  readonly result: 'hit' | 'miss' | 'disabled' | 'unavailable'
  readonly host?: string
  readonly port?: number
  readonly address?: string
  readonly lastSuccessAt?: string
  readonly message?: string
}

export interface CacheUpdateEvent {
  readonly kind: 'cache-update'
  readonly applicationId: string
  readonly action: 'stored' | 'refreshed' | 'cleared' | 'skipped' | 'failed'
  readonly host?: string
  readonly port?: number
  readonly address?: string
  readonly reason: string
}

/** One `_vlmcs._tcp.<domain>` lookup is starting. The DNS layer's own events follow. */
export interface DomainLookupEvent {
  readonly kind: 'domain-lookup'
  readonly domain: string
  readonly qname: string
  readonly servers: readonly string[]
}

export interface DomainResultEvent {
  readonly kind: 'domain-result'
  readonly domain: string
  readonly qname: string
  /** 'records': usable SRV records found (this domain is used); the others: go on with the next domain. */
  readonly outcome: 'records' | 'nxdomain' | 'nodata' | 'declined' | 'dns-failure'
  readonly records: number
  readonly code?: string
  readonly message?: string
}

/** Host names resolved before connecting (manual or cached host given by name). */
export interface HostResolveEvent {
  readonly kind: 'host-resolve'
  readonly host: string
  readonly addresses: readonly string[]
  readonly via: 'literal' | 'srv-lookup' | 'dns' | 'cache' | 'os'
  readonly message?: string
}

/** A candidate host is started (its addresses are then tried in order). */
export interface CandidateStartEvent {
  readonly kind: 'candidate-start'
  readonly candidate: number
  readonly source: CandidateSource
  readonly host: string
  readonly port: number
  readonly addresses: readonly string[]
  /** Why now: the first one, the stagger timer fired, or the previous candidates all failed. */
  readonly reason: 'first' | 'stagger' | 'previous-failed'
  /** Candidates still running when this one started. */
  readonly inFlight: number
}

export interface AttemptStartEvent {
  readonly kind: 'attempt-start'
  readonly attempt: number
  readonly candidate: number
  readonly host: string
  readonly port: number
  /** Undefined: connecting by name (the OS resolves it). */
  readonly address?: string
}

/** An attempt ended: the flow's AttemptRecord without the fields the trace shows elsewhere (source, raw HRESULT). */
export type AttemptEndEvent = { readonly kind: 'attempt-end' } & Omit<AttemptRecord, 'source' | 'hresult'>

export interface CandidateFailedEvent {
  readonly kind: 'candidate-failed'
  readonly candidate: number
  readonly host: string
  readonly port: number
  readonly reason: string
}

export interface FlowStageEvent {
  readonly kind: 'stage'
  readonly stage: CandidateSource
  readonly outcome: 'start' | 'answered' | 'failed' | 'skipped'
  readonly message?: string
}

export interface FlowResultEvent {
  readonly kind: 'flow-result'
  readonly outcome: 'answered' | 'failed' | 'cancelled'
  readonly source?: CandidateSource
  readonly host?: string
  readonly port?: number
  readonly address?: string
  readonly windowsCode?: string
  readonly message: string
  readonly durationMs: number
}

export interface PendingDnsQuery {
  readonly qname: string
  readonly qtype: string
  readonly server: string
  readonly transport: 'udp' | 'tcp'
}

export interface PendingAttempt {
  readonly host: string
  readonly port: number
  readonly address?: string
}

/** What was in flight (or waiting its turn) when the run's deadline fired (./deadline.ts). */
export interface PendingWork {
  /** The stage the run was in ('dns', 'cache', 'manual'), when it had entered one. */
  readonly stage?: string
  readonly dnsQueries: readonly PendingDnsQuery[]
  readonly kmsAttempts: readonly PendingAttempt[]
  /** SRV targets (of the latest SRV answer) whose addresses were still being looked up or not yet started. */
  readonly unresolvedTargets: number
}

/** The run's overall deadline fired: everything pending is aborted and the run reports what it has. */
export interface DeadlineEvent {
  readonly kind: 'deadline'
  readonly deadlineMs: number
  readonly pending: PendingWork
  readonly message: string
}

export type FlowEvent =
  | FlowStartEvent
  | DnsServersEvent
  | DomainsEvent
  | ManualHostEvent
  | CacheLookupEvent
  | CacheUpdateEvent
  | DomainLookupEvent
  | DomainResultEvent
  | HostResolveEvent
  | CandidateStartEvent
  | AttemptStartEvent
  | AttemptEndEvent
  | CandidateFailedEvent
  | FlowStageEvent
  | FlowResultEvent
  | DeadlineEvent

/** Anything that can be recorded; DNS events carry their own `atMs`, which the recorder replaces. */
export type TraceInput = FlowEvent | DnsTraceEvent | SrvSelectionTraceEvent

type Stamped<E> = E extends unknown ? Omit<E, 'atMs'> & { readonly seq: number; readonly atMs: number } : never

/** One recorded step. */
export type TraceEntry = Stamped<TraceInput>

export interface TraceRecorder {
  /** Records an event (and passes it to the progress listener). */
  readonly emit: TraceSink<TraceInput>
  /** The events so far, in order. */
  readonly entries: () => TraceEntry[]
  /** Milliseconds since the flow started, on the recorder's clock. */
  readonly elapsed: () => number
}

/**
 * A recorder on the monotonic clock `now` (ms). `atMs` of every entry is `now() - start`, rounded to 0.1 ms, so the
 * DNS layer's timestamps (which come from the same clock) and ours line up. The listener sees each entry as it
 * is recorded; a throwing listener does not break the flow.
 */
export function createTraceRecorder(now: () => number, listener?: (entry: TraceEntry) => void): TraceRecorder {
  const start = now()
  const list: TraceEntry[] = []
  const elapsed = (): number => Math.round((now() - start) * 10) / 10
  const emit = (event: TraceInput): void => {
    const entry = { ...event, seq: list.length + 1, atMs: elapsed() } as TraceEntry
    list.push(entry)
    if (listener) {
      try {
        listener(entry)
      } catch {
        /* the UI's progress callback must not break the check */
      }
    }
  }
  return { emit, entries: () => [...list], elapsed }
}

/** One line of text for `--verbose`: `+12.3ms  attempt-end  kms01.example.test:1688 failed refused …`. */
export function formatTraceEntry(entry: TraceEntry): string {
  const time = `+${entry.atMs.toFixed(1)}ms`.padStart(10)
  return `${time}  ${entry.kind.padEnd(20)} ${describeEntry(entry)}`.trimEnd()
}

const hp = formatHostPort

function describeEntry(e: TraceEntry): string {
  switch (e.kind) {
    case 'flow-start':
      return [
        e.product ? `product "${e.product}"` : undefined,
        e.application ? `application ${e.application}` : undefined,
        `failover ${e.failover.mode}${e.failover.mode === 'staggered' ? ` ${e.failover.staggerMs}ms` : ''}`,
        `host caching ${e.hostCaching ? 'on' : 'off'}`,
        `selection ${e.selection}`
      ]
        .filter(Boolean)
        .join(', ')
    case 'dns-servers':
      return `${e.servers.join(', ') || '(none)'} (${e.source}: ${e.from})${e.warnings.length ? `; ${e.warnings.join('; ')}` : ''}`
    case 'domains':
      return `${e.domains.join(', ') || '(none)'} (${e.source}: ${e.from})${e.warnings.length ? `; ${e.warnings.join('; ')}` : ''}`
    case 'manual-host':
      return `${hp(e.host, e.port)} — ${e.note}`
    case 'cache-lookup':
      return e.result === 'hit'
        ? `hit ${hp(e.host ?? '?', e.port ?? 0)}${e.address ? ` (${e.address})` : ''}, last success ${e.lastSuccessAt ?? '?'}`
        : `${e.result}${e.message ? ` — ${e.message}` : ''}`
    case 'cache-update':
      return `${e.action}${e.host ? ` ${hp(e.host, e.port ?? 0)}` : ''} — ${e.reason}`
    case 'domain-lookup':
      return `${e.qname} via ${e.servers.join(', ')}`
    case 'domain-result':
      return `${e.qname}: ${e.outcome}${e.outcome === 'records' ? ` (${e.records})` : ''}${e.code ? ` ${e.code}` : ''}${e.message ? ` — ${e.message}` : ''}`
    case 'host-resolve':
      return `${e.host} → ${e.addresses.join(', ') || '(by name)'} via ${e.via}${e.message ? ` — ${e.message}` : ''}`
    case 'candidate-start':
      return `#${e.candidate} ${hp(e.host, e.port)} [${e.source}] ${e.reason}${e.inFlight > 0 ? `, ${e.inFlight} still running` : ''}; addresses ${e.addresses.join(', ') || '(by name)'}`
    case 'attempt-start':
      return `#${e.candidate} attempt ${e.attempt} ${hp(e.host, e.port)}${e.address ? ` → ${hp(e.address, e.port)}` : ''}`
    case 'attempt-end':
      return `#${e.candidate} attempt ${e.attempt} ${hp(e.host, e.port)} ${e.outcome}${e.code ? ` ${e.code}` : ''}${e.windowsCode ? ` (${e.windowsCode})` : ''} after ${e.durationMs.toFixed(1)}ms${e.message ? ` — ${e.message}` : ''}`
    case 'candidate-failed':
      return `#${e.candidate} ${hp(e.host, e.port)} removed — ${e.reason}`
    case 'stage':
      return `${e.stage} ${e.outcome}${e.message ? ` — ${e.message}` : ''}`
    case 'deadline':
      return e.message
    case 'flow-result':
      return `${e.outcome}${e.host ? ` ${hp(e.host, e.port ?? 0)}` : ''}${e.source ? ` [${e.source}]` : ''}${e.windowsCode ? ` ${e.windowsCode}` : ''} — ${e.message} (${e.durationMs.toFixed(1)}ms)`
    case 'dns-query':
      return `${e.transport} ${e.server} ${e.qname} ${e.qtype} id=${e.id} attempt ${e.attempt}`
    case 'dns-reply':
      return `${e.transport} ${e.server} ${e.qname} ${e.qtype} ${e.rcode}${e.truncated ? ' TC' : ''} an=${e.answers} ar=${e.additionals} ${e.bytes}B in ${e.elapsedMs.toFixed(1)}ms`
    case 'dns-ignored':
      return `${e.transport} ${e.server} ${e.qname} ${e.qtype}: ${e.reason}`
    case 'dns-tcp-fallback':
      return `${e.server} ${e.qname} ${e.qtype}: reply truncated, retrying over TCP`
    case 'dns-failure':
      return `${e.transport} ${e.server} ${e.qname} ${e.qtype} ${e.code}: ${e.message}`
    case 'dns-next-server':
      return `${e.from} → ${e.to} for ${e.qname} ${e.qtype} (${e.reason})`
    case 'dns-cname':
      return `${e.from} → ${e.to} (${e.qtype})`
    case 'srv-records':
      return `${e.ownerName}: ${e.records.map((r) => `${r.priority} ${r.weight} ${r.port} ${r.target} ttl=${r.ttl}`).join('; ') || '(none)'}${e.ignored > 0 ? `; ${e.ignored} more ignored (cap)` : ''}`
    case 'srv-target-addresses':
      return `${e.target} → ${e.addresses.join(', ') || '(none)'} (${e.source})${e.problems.length ? `; ${e.problems.join('; ')}` : ''}`
    case 'srv-draw':
      return `${e.mode}${e.priority === null ? '' : ` priority ${e.priority}`}: drew ${e.drawn} in [${e.range[0]}, ${e.range[1]}] from ${e.candidates.map((c) => `${c.target}:${c.port}(w${c.weight},Σ${c.runningSum})`).join(' ')} → ${e.chosen.target}:${e.chosen.port}; ${e.remaining} left`
    case 'srv-remove':
      return `${e.removed.map((r) => `${r.target}:${r.port}`).join(', ')} — ${e.reason}; ${e.remaining} left`
  }
}
