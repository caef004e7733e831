/**
 * The one context the client flow's stages share (./client-flow.ts runs them in order): the caller's options and
 * injected dependencies, the trace, every attempt so far, the settings with their defaults applied, and the
 * report sections the stages fill in as they go. Also how the flow starts and ends in the trace.
 */
import { randomInt } from 'node:crypto'
import type { DnsClient } from '../dns/client'
import { armDeadline, deadlineMsOf, type RunDeadline } from './deadline'
import { checkDnsServer, dnsClientPool } from './domains'
import { explainWindowsCode, WINDOWS_CODE } from './error-map'
import { DEFAULT_STAGGER_MS, type AttemptRecord, type FailoverCounters, type FailoverMode, type FailoverOptions } from './failover'
import { formatHostPort } from './probe'
import type { RandomInt } from './srv-prng'
import type { SrvSelectionMode } from './srv-selection'
import { createTraceRecorder, type TraceRecorder } from './trace'
import type { DeadlineReached } from './deadline'
import type {
  AnsweredHost,
  CacheSummary,
  ClientFlowDeps,
  ClientFlowOptions,
  ClientFlowResult,
  DiscoverySummary,
  FlowError
} from './client-flow-types'

export interface FlowContext<A> {
  readonly options: ClientFlowOptions
  readonly deps: ClientFlowDeps<A>
  readonly trace: TraceRecorder
  /** Every attempt of every stage, for the report. */
  readonly attempts: AttemptRecord[]
  /** The caller's signal joined with the run's deadline: every DNS query and KMS attempt listens to it. */
  readonly signal: AbortSignal
  readonly deadline: RunDeadline
  readonly caching: boolean
  readonly selection: SrvSelectionMode
  readonly random: RandomInt
  readonly failover: FailoverOptions & { readonly staggerMs: number }
  /** Shared by the stages, so candidate and attempt numbers are unique across the whole trace. */
  readonly counters: FailoverCounters
  /** The --dns-server, checked; undefined: the OS's servers. */
  readonly configuredDnsServer: string | undefined
  /** One DNS client per server list, shared by host-name resolution and SRV discovery. */
  readonly dnsClientFor: (servers: readonly string[]) => DnsClient
  /** The report's cache section: each stage updates it as the cache is read, refreshed, cleared or written. */
  cache: CacheSummary
  /** The report's discovery section: filled in by the DNS stage once it has a plan and again with its lookups. */
  discovery: DiscoverySummary
  /** The cached host that has just failed: DNS discovery does not draw it again, so a dead host is not waited for twice. */
  failedCachedHost: { readonly host: string; readonly port: number } | undefined
}

/** How a stage ends the flow. A stage that returns undefined hands over to the next stage. */
export interface FlowEnd<A> {
  readonly answered?: AnsweredHost<A>
  readonly error?: FlowError
  readonly manualHost?: { readonly host: string; readonly port: number }
}

/** Throws DiscoveryConfigError for a malformed --dns-server, before anything is traced. */
export function createFlowContext<A>(options: ClientFlowOptions, deps: ClientFlowDeps<A>): FlowContext<A> {
  const now = deps.now ?? (() => performance.now())
  const trace = createTraceRecorder(now, deps.onTrace)
  const mode: FailoverMode = options.failover?.mode ?? 'staggered'
  const caching = options.hostCaching ?? true
  const configuredDnsServer = options.dnsServer ? checkDnsServer(options.dnsServer) : undefined
  // Armed last: nothing above can throw after the timer has started.
  const deadline = armDeadline(deadlineMsOf(options.deadlineMs), deps.signal, trace)
  return {
    options,
    deps,
    trace,
    attempts: [],
    signal: deadline.signal,
    deadline,
    caching,
    selection: options.selection ?? 'rfc2782',
    random: deps.random ?? ((n) => randomInt(n)),
    failover: {
      mode,
      staggerMs: options.failover?.staggerMs ?? DEFAULT_STAGGER_MS,
      ...(options.failover?.maxInFlight !== undefined ? { maxInFlight: options.failover.maxInFlight } : {}),
      ...(options.attemptTimeoutMs !== undefined ? { attemptTimeoutMs: options.attemptTimeoutMs } : {})
    },
    counters: { candidates: 0, attempts: 0 },
    configuredDnsServer,
    dnsClientFor: dnsClientPool({ timeoutMs: options.dnsTimeoutMs, attempts: options.dnsAttempts }, trace.emit, now, deps.dnsRandom),
    cache: { enabled: caching, lookup: caching ? (deps.hostCache ? 'miss' : 'unavailable') : 'disabled', update: 'none' },
    discovery: { ran: false, results: [], warnings: [] },
    failedCachedHost: undefined
  }
}

export function traceFlowStart<A>(flow: FlowContext<A>): void {
  const { options } = flow
  flow.trace.emit({
    kind: 'flow-start',
    applicationId: options.applicationId,
    ...(options.application !== undefined ? { application: options.application } : {}),
    ...(options.product !== undefined ? { product: options.product } : {}),
    failover: { mode: flow.failover.mode, staggerMs: flow.failover.staggerMs },
    hostCaching: flow.caching,
    selection: flow.selection
  })
}

/**
 * Traces the flow's result and assembles the report. A run the deadline ended without a verified answer fails
 * with a 'deadline' error that says what was still pending (a stage only saw its signal abort).
 */
export function finishFlow<A>(flow: FlowContext<A>, stageEnd: FlowEnd<A>): ClientFlowResult<A> {
  const { trace } = flow
  flow.deadline.dispose()
  const reached = stageEnd.answered ? undefined : flow.deadline.reached()
  const end: FlowEnd<A> = reached ? { ...stageEnd, error: deadlineError(flow, reached) } : stageEnd
  const outcome = end.answered ? 'answered' : end.error?.kind === 'cancelled' ? 'cancelled' : 'failed'
  const a = end.answered
  trace.emit({
    kind: 'flow-result',
    outcome,
    ...(a ? { source: a.source, host: a.host, port: a.port, ...(a.address !== undefined ? { address: a.address } : {}) } : {}),
    ...(end.error ? { windowsCode: end.error.windows.code } : {}),
    message: a ? `verified answer from ${formatHostPort(a.host, a.port)} (${a.source})` : (end.error?.message ?? 'no answer'),
    durationMs: trace.elapsed()
  })
  return {
    outcome,
    ...end,
    cache: flow.cache,
    discovery: flow.discovery,
    attempts: [...flow.attempts].sort((x, y) => x.attempt - y.attempt),
    trace: trace.entries(),
    durationMs: trace.elapsed(),
    ...(reached ? { deadline: reached } : {})
  }
}

/**
 * Stopped by the deadline while DNS had not yet given usable records: a DNS server failure as a client sees it
 * (0x8007232A); otherwise no KMS host answered in time (0xC004F074).
 */
function deadlineError<A>(flow: FlowContext<A>, reached: DeadlineReached): FlowError {
  const inDns = reached.pending.stage === 'dns' && flow.discovery.usedDomain === undefined
  return {
    kind: 'deadline',
    windows: explainWindowsCode(inDns ? WINDOWS_CODE.dnsServerFailure : WINDOWS_CODE.noKmsContacted),
    message: reached.message
  }
}

export function cancelledEnd<A>(): FlowEnd<A> {
  return {
    error: { kind: 'cancelled', windows: explainWindowsCode(WINDOWS_CODE.noKmsContacted), message: 'cancelled before a KMS host answered' }
  }
}
