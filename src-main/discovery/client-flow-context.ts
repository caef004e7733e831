/**
 * The one context the client flow's stages share (./client-flow.ts runs them in order): the caller's options and
 * injected dependencies, the trace, every attempt so far, the settings with their defaults applied, and the
 * report sections the stages fill in as they go. Also how the flow starts and ends in the trace.
 */
import { randomInt } from 'node:crypto'
import type { DnsClient } from '../dns/client'
import { checkDnsServer, dnsClientPool } from './domains'
import { explainWindowsCode, WINDOWS_CODE } from './error-map'
import { DEFAULT_STAGGER_MS, type AttemptRecord, type FailoverCounters, type FailoverMode, type FailoverOptions } from './failover'
import { formatHostPort } from './probe'
import type { RandomInt } from './srv-prng'
import type { SrvSelectionMode } from './srv-selection'
import { createTraceRecorder, type TraceRecorder } from './trace'
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
  readonly signal: AbortSignal | undefined
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
  return {
    options,
    deps,
    trace,
    attempts: [],
    signal: deps.signal,
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

/** Traces the flow's result and assembles the report. */
export function finishFlow<A>(flow: FlowContext<A>, end: FlowEnd<A>): ClientFlowResult<A> {
  const { trace } = flow
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
    durationMs: trace.elapsed()
  }
}

export function cancelledEnd<A>(): FlowEnd<A> {
  return {
    error: { kind: 'cancelled', windows: explainWindowsCode(WINDOWS_CODE.noKmsContacted), message: 'cancelled before a KMS host answered' }
  }
}
