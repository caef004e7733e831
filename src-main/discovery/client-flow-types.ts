/**
 * The client flow's public types: its options and injected dependencies, and the JSON-serialisable result
 * (apart from the answer type `A`). Re-exported by ./client-flow.ts, which is where callers import them from.
 */
import type { CachedHost, HostAnswered } from '../storage/host-cache'
import type { OsResolverConfig } from '../dns/os-config/resolver-config'
import type { SrvTargetRecord } from '../dns/srv-lookup'
import type { DomainOutcome, DomainPlan, ServerPlan } from './domains'
import type { WindowsCodeEntry } from './error-map'
import type { AttemptRecord, FailoverMode } from './failover'
import type { Probe } from './probe'
import type { SrvSelectionMode } from './srv-selection'
import type { RandomInt } from './srv-prng'
import type { CandidateSource, TraceEntry } from './trace'
import type { DeadlineReached } from './deadline'

/** What a DNS discovery needs: where to look and how to draw (shared with runDiscovery). */
export interface DiscoveryOptions {
  /** Like slmgr /skms-domain (several allowed): replaces the OS's domain list. */
  readonly lookupDomains?: readonly string[] | null
  /** `IP[:PORT]` instead of the OS's DNS servers. */
  readonly dnsServer?: string | null
  readonly selection?: SrvSelectionMode
  readonly dnsTimeoutMs?: number
  readonly dnsAttempts?: number
  /** The whole run's deadline; default DEFAULT_DEADLINE_S. Everything in flight is aborted when it fires. */
  readonly deadlineMs?: number
}

export interface ClientFlowOptions extends DiscoveryOptions {
  /** KMS application ID (GUID) of the product: the host cache is kept per application. */
  readonly applicationId: string
  /** Labels for the trace. */
  readonly application?: string
  readonly product?: string
  /** Like slmgr /skms: the only host tried when set. */
  readonly manualHost?: { readonly host: string; readonly port: number } | null
  /** Like slmgr /skhc (true, default) and /ckhc (false). */
  readonly hostCaching?: boolean
  readonly failover?: { readonly mode?: FailoverMode; readonly staggerMs?: number; readonly maxInFlight?: number }
  /** Safety-net timeout per attempt (see FailoverOptions.attemptTimeoutMs). */
  readonly attemptTimeoutMs?: number
}

/** The part of HostCache the flow uses (the storage class satisfies it). */
export interface HostCacheLike {
  get(applicationId: string): Promise<CachedHost | null>
  recordSuccess(applicationId: string, answered: HostAnswered): Promise<CachedHost>
  clear(applicationId: string): Promise<void>
}

/** Injected I/O, clock, randomness and progress of a discovery (shared with runDiscovery). */
export interface DiscoveryDeps {
  /** Called only when the OS's servers or domains are needed. */
  readonly readOsResolverConfig?: () => Promise<OsResolverConfig>
  /** SRV selection randomness; default crypto.randomInt. */
  readonly random?: RandomInt
  /** Random bytes for DNS message IDs; default crypto.randomBytes. */
  readonly dnsRandom?: (n: number) => Uint8Array
  /** Monotonic milliseconds; default performance.now(). */
  readonly now?: () => number
  /** Receives each trace entry as it is recorded (the UI's progress). */
  readonly onTrace?: (entry: TraceEntry) => void
  readonly signal?: AbortSignal
}

export interface ClientFlowDeps<A> extends DiscoveryDeps {
  readonly probe: Probe<A>
  /** Null/undefined: no cache available (behaves like caching off, reported as 'unavailable'). */
  readonly hostCache?: HostCacheLike | null
}

/** The error a technician sees when no verified answer came back. */
export interface FlowError {
  readonly kind: 'no-dns-servers' | 'no-domains' | 'no-records' | 'no-host-contacted' | 'cancelled' | 'deadline'
  /** Windows code (`0xC004F074` …) with its words and usual fix. */
  readonly windows: WindowsCodeEntry
  /** What happened here, in one line. */
  readonly message: string
  /** The most telling code of the individual attempts (e.g. 0xC004F042 from a host that refused the product). */
  readonly inner?: WindowsCodeEntry
}

export interface AnsweredHost<A> {
  readonly source: CandidateSource
  readonly host: string
  readonly port: number
  readonly address?: string
  readonly answer: A
  readonly rttMs: number
  readonly candidate: number
  readonly attempt: number
}

export interface SrvRecordView {
  readonly priority: number
  readonly weight: number
  readonly port: number
  readonly target: string
  readonly ttl: number
  readonly addresses: readonly string[]
  readonly addressSource: SrvTargetRecord['addressSource']
  /** True when the deadline (or a cancel) stopped this target's address lookups. */
  readonly addressesUnfinished?: true
}

export interface DomainResultView {
  readonly domain: string
  readonly qname: string
  readonly servers: readonly string[]
  readonly outcome: DomainOutcome
  readonly code?: string
  readonly message?: string
  readonly records: readonly SrvRecordView[]
  readonly minTtl?: number
  /** Records beyond the cap per domain (MAX_SRV_TARGETS_PER_DOMAIN), not taken. */
  readonly ignoredRecords?: number
  /** Targets whose address lookups the deadline (or a cancel) cut off. */
  readonly unfinishedTargets?: number
}

export interface DiscoverySummary {
  readonly ran: boolean
  readonly servers?: { readonly source: ServerPlan['source']; readonly list: readonly string[]; readonly from: string }
  readonly domains?: { readonly source: DomainPlan['source']; readonly list: readonly string[]; readonly from: string }
  readonly results: readonly DomainResultView[]
  /** The domain whose records were used. */
  readonly usedDomain?: string
  readonly warnings: readonly string[]
}

export interface CacheSummary {
  readonly enabled: boolean
  readonly lookup: 'hit' | 'miss' | 'disabled' | 'unavailable' | 'not-used'
  readonly cachedHost?: { readonly host: string; readonly port: number; readonly address?: string; readonly lastSuccessAt: string }
  readonly update: 'stored' | 'refreshed' | 'cleared' | 'none'
}

export interface ClientFlowResult<A> {
  readonly outcome: 'answered' | 'failed' | 'cancelled'
  readonly answered?: AnsweredHost<A>
  readonly error?: FlowError
  readonly manualHost?: { readonly host: string; readonly port: number }
  readonly cache: CacheSummary
  readonly discovery: DiscoverySummary
  readonly attempts: readonly AttemptRecord[]
  readonly trace: readonly TraceEntry[]
  readonly durationMs: number
  /** Set when the run's deadline ended it before a verified answer: when, and what was still pending. */
  readonly deadline?: DeadlineReached
}
