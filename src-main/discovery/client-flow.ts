/**
 * The KMS client flow, in the order a Windows client uses (research/windows-kms-client.md §1.3–1.4):
 *
 *   1. manual host (slmgr /skms): if set, it is the only host tried — "Setting this value disables
 *      auto-detection of the KMS host". Not cached (the cache holds discovered hosts, like Windows'
 *      DiscoveredKeyManagementServiceMachineName).
 *   2. cached host for the product's KMS application (unless caching is off, like /ckhc): tried first; when it
 *      answers, the cache entry is refreshed; when it fails, the entry is cleared and discovery runs.
 *   3. DNS discovery: `_vlmcs._tcp.<domain>` for each domain in order, the first domain with usable records is
 *      used (./domains.ts); hosts are drawn by RFC 2782 priority/weight (or uniformly in legacy mode); a host
 *      that fails is removed and the next is drawn; the first verified answer wins (./failover.ts) and is cached.
 *      A cached host that has just failed is removed from the drawn list, so a dead host is not waited for twice.
 *
 * Everything outside is injected (probe, host cache, OS resolver config, randomness, clock), so the flow runs the
 * same in the CLI, the app service and tests. The result is JSON-serialisable apart from the answer type `A`,
 * which callers keep serialisable (the KMS answer summary is).
 */
import { randomInt } from 'node:crypto'
import { isIP } from 'node:net'
import type { CachedHost, HostAnswered } from '../storage/host-cache'
import type { OsResolverConfig } from '../dns/os-config/resolver-config'
import { readOsResolverConfig } from '../dns/os-config/read'
import { resolveHostAddresses } from '../dns/srv-lookup'
import { isDnsError } from '../dns/errors'
import type { SrvTargetRecord } from '../dns/srv-lookup'
import {
  checkDnsServer,
  dnsClientPool,
  lookupDomains,
  planDnsServers,
  planDomains,
  type DomainLookup,
  type DomainOutcome,
  type DomainPlan,
  type ServerPlan
} from './domains'
import {
  explainWindowsCode,
  WINDOWS_CODE,
  windowsCodeForDiscoveryFailure,
  type DomainLookupFailure,
  type WindowsCodeEntry
} from './error-map'
import {
  DEFAULT_STAGGER_MS,
  runFailover,
  type AttemptRecord,
  type CandidateSupply,
  type FailoverCandidate,
  type FailoverCounters,
  type FailoverMode,
  type FailoverResult
} from './failover'
import { formatHostPort, type Probe } from './probe'
import { createSrvPicker, type SrvSelectionMode } from './srv-selection'
import type { RandomInt } from './srv-prng'
import { createTraceRecorder, type CandidateSource, type TraceEntry } from './trace'

/** What a DNS discovery needs: where to look and how to draw (shared with runDiscovery). */
export interface DiscoveryOptions {
  /** Like slmgr /skms-domain (several allowed): replaces the OS's domain list. */
  readonly lookupDomains?: readonly string[] | null
  /** `IP[:PORT]` instead of the OS's DNS servers. */
  readonly dnsServer?: string | null
  readonly selection?: SrvSelectionMode
  readonly dnsTimeoutMs?: number
  readonly dnsAttempts?: number
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
  readonly kind: 'no-dns-servers' | 'no-domains' | 'no-records' | 'no-host-contacted' | 'cancelled'
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
}

interface FlowCandidate extends FailoverCandidate {
  readonly record?: SrvTargetRecord
}

export function recordView(r: SrvTargetRecord): SrvRecordView {
  return { priority: r.priority, weight: r.weight, port: r.port, target: r.target, ttl: r.ttl, addresses: r.addresses.map((a) => a.address), addressSource: r.addressSource }
}

export function domainResultView(lookup: DomainLookup): DomainResultView {
  return {
    domain: lookup.domain,
    qname: lookup.qname,
    servers: lookup.servers,
    outcome: lookup.outcome,
    ...(lookup.code !== undefined ? { code: lookup.code } : {}),
    ...(lookup.message !== undefined ? { message: lookup.message } : {}),
    records: lookup.result ? lookup.result.records.map(recordView) : [],
    ...(lookup.result ? { minTtl: lookup.result.minTtl } : {})
  }
}

export async function runClientFlow<A>(options: ClientFlowOptions, deps: ClientFlowDeps<A>): Promise<ClientFlowResult<A>> {
  const now = deps.now ?? (() => performance.now())
  const recorder = createTraceRecorder(now, deps.onTrace)
  const emit = recorder.emit
  const random: RandomInt = deps.random ?? ((n) => randomInt(n))
  const mode: FailoverMode = options.failover?.mode ?? 'staggered'
  const staggerMs = options.failover?.staggerMs ?? DEFAULT_STAGGER_MS
  const selection: SrvSelectionMode = options.selection ?? 'rfc2782'
  const caching = options.hostCaching ?? true
  const counters: FailoverCounters = { candidates: 0, attempts: 0 }
  const attempts: AttemptRecord[] = []
  const failoverOptions = {
    mode,
    staggerMs,
    ...(options.failover?.maxInFlight !== undefined ? { maxInFlight: options.failover.maxInFlight } : {}),
    ...(options.attemptTimeoutMs !== undefined ? { attemptTimeoutMs: options.attemptTimeoutMs } : {})
  }
  const configuredServer = options.dnsServer ? checkDnsServer(options.dnsServer) : undefined

  emit({
    kind: 'flow-start',
    applicationId: options.applicationId,
    ...(options.application !== undefined ? { application: options.application } : {}),
    ...(options.product !== undefined ? { product: options.product } : {}),
    failover: { mode, staggerMs },
    hostCaching: caching,
    selection
  })

  let osConfig: Promise<OsResolverConfig> | undefined
  const readOs = (): Promise<OsResolverConfig> => {
    osConfig ??= deps.readOsResolverConfig ? deps.readOsResolverConfig() : readOsResolverConfig()
    return osConfig
  }
  const clientFor = dnsClientPool({ timeoutMs: options.dnsTimeoutMs, attempts: options.dnsAttempts }, emit, now, deps.dnsRandom)

  let cache: CacheSummary = { enabled: caching, lookup: caching ? (deps.hostCache ? 'miss' : 'unavailable') : 'disabled', update: 'none' }
  let discovery: DiscoverySummary = { ran: false, results: [], warnings: [] }

  const finish = (fields: { answered?: AnsweredHost<A>; error?: FlowError; manualHost?: { host: string; port: number } }): ClientFlowResult<A> => {
    const outcome = fields.answered ? 'answered' : fields.error?.kind === 'cancelled' ? 'cancelled' : 'failed'
    const a = fields.answered
    emit({
      kind: 'flow-result',
      outcome,
      ...(a ? { source: a.source, host: a.host, port: a.port, ...(a.address !== undefined ? { address: a.address } : {}) } : {}),
      ...(fields.error ? { windowsCode: fields.error.windows.code } : {}),
      message: a ? `verified answer from ${formatHostPort(a.host, a.port)} (${a.source})` : fields.error?.message ?? 'no answer',
      durationMs: recorder.elapsed()
    })
    return {
      outcome,
      ...fields,
      cache,
      discovery,
      attempts: [...attempts].sort((x, y) => x.attempt - y.attempt),
      trace: recorder.entries(),
      durationMs: recorder.elapsed()
    }
  }

  const run = async <C extends FlowCandidate>(supply: CandidateSupply<C>): Promise<FailoverResult<A, C>> => {
    const result = await runFailover(supply, deps.probe, failoverOptions, { emit, elapsed: recorder.elapsed, counters, ...(deps.signal ? { signal: deps.signal } : {}) })
    attempts.push(...result.attempts)
    return result
  }

  const answeredFrom = <C extends FlowCandidate>(result: FailoverResult<A, C>): AnsweredHost<A> | undefined => {
    const w = result.winner
    if (!w) return undefined
    return {
      source: w.candidate.source,
      host: w.candidate.host,
      port: w.candidate.port,
      ...(w.address !== undefined ? { address: w.address } : {}),
      answer: w.answer,
      rttMs: w.rttMs,
      candidate: w.candidateIndex,
      attempt: w.attempt
    }
  }

  const cancelled = (): ClientFlowResult<A> =>
    finish({ error: { kind: 'cancelled', windows: explainWindowsCode(WINDOWS_CODE.noKmsContacted), message: 'cancelled before a KMS host answered' } })

  /** Addresses for a manual or cached host given by name: via the configured DNS server, else the OS. */
  const addressesFor = async (host: string, cachedAddress?: string): Promise<string[]> => {
    const literal = host.replace(/^\[(.*)\]$/, '$1')
    if (isIP(literal) !== 0) {
      emit({ kind: 'host-resolve', host, addresses: [literal], via: 'literal' })
      return [literal]
    }
    if (cachedAddress !== undefined) {
      emit({ kind: 'host-resolve', host, addresses: [cachedAddress], via: 'cache', message: 'address stored with the cached host; no DNS query needed' })
      return [cachedAddress]
    }
    if (configuredServer !== undefined) {
      try {
        const found = await resolveHostAddresses(clientFor([configuredServer]), host, deps.signal ? { signal: deps.signal } : {})
        const addresses = found.addresses.map((x) => x.address)
        if (addresses.length > 0) {
          emit({ kind: 'host-resolve', host, addresses, via: 'dns' })
          return addresses
        }
        emit({ kind: 'host-resolve', host, addresses: [], via: 'os', message: `no A/AAAA record at ${configuredServer}; connecting by name` })
        return []
      } catch (error) {
        if (!isDnsError(error)) throw error
        if (error.code === 'aborted') return []
        emit({ kind: 'host-resolve', host, addresses: [], via: 'os', message: `${error.message}; connecting by name` })
        return []
      }
    }
    emit({ kind: 'host-resolve', host, addresses: [], via: 'os', message: 'resolved by the operating system when connecting' })
    return []
  }

  const single = (candidate: FlowCandidate): CandidateSupply<FlowCandidate> => {
    let given = false
    return {
      next: () => {
        if (given) return undefined
        given = true
        return candidate
      }
    }
  }

  // 1. Manual host.
  if (options.manualHost) {
    const manual = { host: options.manualHost.host, port: options.manualHost.port }
    cache = { ...cache, lookup: 'not-used' }
    emit({ kind: 'manual-host', ...manual, note: 'set like slmgr /skms: host cache and DNS discovery are not used' })
    emit({ kind: 'stage', stage: 'manual', outcome: 'start' })
    const addresses = await addressesFor(manual.host)
    const result = await run(single({ ...manual, source: 'manual', addresses }))
    if (result.cancelled) return cancelled()
    const answered = answeredFrom(result)
    if (answered) {
      emit({ kind: 'stage', stage: 'manual', outcome: 'answered' })
      emit({ kind: 'cache-update', applicationId: options.applicationId, action: 'skipped', host: manual.host, port: manual.port, reason: 'a manual host is not cached (the cache holds discovered hosts)' })
      return finish({ answered, manualHost: manual })
    }
    emit({ kind: 'stage', stage: 'manual', outcome: 'failed', message: 'the manual host overrides discovery, so no other host is tried' })
    return finish({ error: noHostError(attempts, `the manual host ${formatHostPort(manual.host, manual.port)} gave no verified answer; it overrides discovery (like /skms), so no other host was tried`), manualHost: manual })
  }

  // 2. Cached host.
  let failedCached: { host: string; port: number } | undefined
  if (!caching) {
    emit({ kind: 'cache-lookup', applicationId: options.applicationId, result: 'disabled', message: 'host caching is off (like slmgr /ckhc): discovery runs every time' })
  } else if (!deps.hostCache) {
    emit({ kind: 'cache-lookup', applicationId: options.applicationId, result: 'unavailable', message: 'no host cache available' })
  } else {
    let entry: CachedHost | null = null
    try {
      entry = await deps.hostCache.get(options.applicationId)
    } catch (error) {
      cache = { ...cache, lookup: 'unavailable' }
      emit({ kind: 'cache-lookup', applicationId: options.applicationId, result: 'unavailable', message: `cannot read the host cache: ${messageOf(error)}` })
    }
    if (entry) {
      cache = { ...cache, lookup: 'hit', cachedHost: { host: entry.host, port: entry.port, ...(entry.address !== undefined ? { address: entry.address } : {}), lastSuccessAt: entry.lastSuccessAt } }
      emit({ kind: 'cache-lookup', applicationId: options.applicationId, result: 'hit', host: entry.host, port: entry.port, ...(entry.address !== undefined ? { address: entry.address } : {}), lastSuccessAt: entry.lastSuccessAt })
      emit({ kind: 'stage', stage: 'cache', outcome: 'start' })
      const addresses = await addressesFor(entry.host, entry.address)
      const result = await run(single({ host: entry.host, port: entry.port, source: 'cache', addresses }))
      if (result.cancelled) return cancelled()
      const answered = answeredFrom(result)
      if (answered) {
        emit({ kind: 'stage', stage: 'cache', outcome: 'answered' })
        await storeInCache(answered, 'refreshed')
        return finish({ answered })
      }
      emit({ kind: 'stage', stage: 'cache', outcome: 'failed', message: 'the cached host did not answer: discovering again' })
      failedCached = { host: entry.host, port: entry.port }
      try {
        await deps.hostCache.clear(options.applicationId)
        cache = { ...cache, update: 'cleared' }
        emit({ kind: 'cache-update', applicationId: options.applicationId, action: 'cleared', host: entry.host, port: entry.port, reason: 'the cached host failed; discovery runs again' })
      } catch (error) {
        emit({ kind: 'cache-update', applicationId: options.applicationId, action: 'failed', reason: `cannot clear the cached host: ${messageOf(error)}` })
      }
    } else if (cache.lookup !== 'unavailable') {
      emit({ kind: 'cache-lookup', applicationId: options.applicationId, result: 'miss' })
    }
  }

  // 3. DNS discovery.
  emit({ kind: 'stage', stage: 'dns', outcome: 'start' })
  const needOs = configuredServer === undefined || !(options.lookupDomains && options.lookupDomains.length > 0)
  const os = needOs ? await readOs() : undefined
  const servers = planDnsServers(configuredServer ?? null, os)
  const domains = planDomains(options.lookupDomains ?? null, os)
  emit({ kind: 'dns-servers', source: servers.source, servers: servers.servers, from: servers.from, warnings: servers.warnings })
  emit({ kind: 'domains', source: domains.source, domains: domains.domains, from: domains.from, warnings: domains.warnings })
  const planSummary = {
    ran: true,
    servers: { source: servers.source, list: servers.servers, from: servers.from },
    domains: { source: domains.source, list: domains.domains, from: domains.from },
    warnings: [...new Set([...servers.warnings, ...domains.warnings])]
  }
  discovery = { ...planSummary, results: [] }

  if (servers.servers.length === 0 && servers.source === 'os' && domains.domains.every((d) => servers.forDomain(d).length === 0)) {
    emit({ kind: 'stage', stage: 'dns', outcome: 'failed', message: 'no DNS server' })
    return finish({
      error: {
        kind: 'no-dns-servers',
        windows: explainWindowsCode(WINDOWS_CODE.dnsServerFailure),
        message: `no DNS server to ask (${servers.from}); KMS Scout never falls back to a public resolver — give one with --dns-server IP[:PORT]`
      }
    })
  }
  if (domains.domains.length === 0) {
    emit({ kind: 'stage', stage: 'dns', outcome: 'failed', message: 'no DNS domain' })
    return finish({
      error: {
        kind: 'no-domains',
        windows: explainWindowsCode(WINDOWS_CODE.invalidName),
        message: `no DNS domain to search for _vlmcs._tcp (${domains.from} lists no primary suffix or search domain); give one with --domain`
      }
    })
  }

  let lookups: DomainLookup[]
  try {
    lookups = await lookupDomains({ domains, servers }, clientFor, emit, { stopAtFirst: true, ...(deps.signal ? { signal: deps.signal } : {}) })
  } catch (error) {
    if (isDnsError(error) && error.code === 'aborted') return cancelled()
    throw error
  }
  const used = lookups.find((l) => l.outcome === 'records')
  discovery = { ...planSummary, results: lookups.map(domainResultView), ...(used ? { usedDomain: used.domain } : {}) }
  if (!used?.result) {
    const failures = lookups.map((l) => l.outcome) as DomainLookupFailure[]
    const code = windowsCodeForDiscoveryFailure(failures)
    emit({ kind: 'stage', stage: 'dns', outcome: 'failed', message: 'no _vlmcs._tcp records' })
    return finish({
      error: {
        kind: 'no-records',
        windows: explainWindowsCode(code),
        message: `no KMS SRV records: ${lookups.map((l) => `${l.qname} ${l.outcome}${l.code && l.code !== l.outcome ? ` (${l.code})` : ''}`).join('; ')}`
      }
    })
  }

  const picker = createSrvPicker(used.result.records, { random, mode: selection, trace: emit })
  if (failedCached) picker.removeHost(failedCached.host, failedCached.port, 'failed as the cached host moments ago')
  const supply: CandidateSupply<FlowCandidate> = {
    next: () => {
      const record = picker.next()
      if (!record) return undefined
      return { host: record.target, port: record.port, source: 'dns', addresses: record.addresses.map((a) => a.address), record }
    },
    failed: (candidate, reason) => {
      picker.removeHost(candidate.host, candidate.port, reason)
    }
  }
  const result = await run(supply)
  if (result.cancelled) return cancelled()
  const answered = answeredFrom(result)
  if (answered) {
    emit({ kind: 'stage', stage: 'dns', outcome: 'answered' })
    if (caching && deps.hostCache) await storeInCache(answered, 'stored')
    else if (!caching) emit({ kind: 'cache-update', applicationId: options.applicationId, action: 'skipped', host: answered.host, port: answered.port, reason: 'host caching is off' })
    return finish({ answered })
  }
  emit({ kind: 'stage', stage: 'dns', outcome: 'failed', message: 'every KMS host failed' })
  const tried = result.attempts.length === 0 ? ' (every published host had just failed as the cached host)' : ''
  return finish({ error: noHostError(attempts, `none of the KMS hosts published in ${used.domain} gave a verified answer${tried}`) })

  async function storeInCache(answered: AnsweredHost<A>, action: 'stored' | 'refreshed'): Promise<void> {
    if (!deps.hostCache) return
    try {
      await deps.hostCache.recordSuccess(options.applicationId, { host: answered.host, port: answered.port, ...(answered.address !== undefined ? { address: answered.address } : {}) })
      cache = { ...cache, update: action }
      emit({
        kind: 'cache-update',
        applicationId: options.applicationId,
        action,
        host: answered.host,
        port: answered.port,
        ...(answered.address !== undefined ? { address: answered.address } : {}),
        reason: action === 'stored' ? 'the responding host is tried first next time' : 'the cached host answered again'
      })
    } catch (error) {
      emit({ kind: 'cache-update', applicationId: options.applicationId, action: 'failed', reason: `cannot write the host cache: ${messageOf(error)}` })
    }
  }
}

/**
 * 0xC004F074 with the most telling inner code: a host's own refusal (HRESULT) beats transport errors, since it
 * says what to fix; otherwise the code of the last failed attempt.
 */
function noHostError(attempts: readonly AttemptRecord[], message: string): FlowError {
  const failed = attempts.filter((a) => a.outcome === 'failed')
  const refusal = failed.find((a) => a.code === 'kms-error' && a.windowsCode !== undefined)
  const innerCode = refusal?.windowsCode ?? [...failed].reverse().find((a) => a.windowsCode !== undefined)?.windowsCode
  const details = failed.map((a) => `${formatHostPort(a.address ?? a.host, a.port)} ${a.code ?? 'failed'}${a.windowsCode ? ` ${a.windowsCode}` : ''}`)
  return {
    kind: 'no-host-contacted',
    windows: explainWindowsCode(WINDOWS_CODE.noKmsContacted),
    message: details.length > 0 ? `${message}: ${details.join('; ')}` : message,
    ...(innerCode !== undefined ? { inner: explainWindowsCode(Number.parseInt(innerCode, 16)) } : {})
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

