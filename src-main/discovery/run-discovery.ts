/**
 * `discover`: what DNS tells a KMS client, without contacting any KMS host. Looks up `_vlmcs._tcp.<domain>` in
 * EVERY domain (diagnostics: the technician sees all of them), marks the domain a client would use (the first
 * with records, see ./domains.ts) and lists each domain's records in one drawn selection order, with the chance
 * of each record being tried first. Called by the CLI and the app service (`runDiscovery(options, deps)`).
 */
import { randomInt } from 'node:crypto'
import { readOsResolverConfig } from '../dns/os-config/read'
import { armDeadline, deadlineMsOf, type DeadlineReached } from './deadline'
import { checkDnsServer, dnsClientPool, lookupDomains, planDnsServers, planDomains, type DomainOutcome } from './domains'
import {
  explainWindowsCode,
  WINDOWS_CODE,
  windowsCodeForDiscoveryFailure,
  type DomainLookupFailure,
  type WindowsCodeEntry
} from './error-map'
import type { DiscoveryDeps, DiscoveryOptions, SrvRecordView } from './client-flow'
import { domainResultView, recordView } from './client-flow'
import { createSrvPicker, firstPickProbabilities, type SrvSelectionMode } from './srv-selection'
import type { RandomInt } from './srv-prng'
import { createTraceRecorder, type TraceEntry } from './trace'

export type { DiscoveryDeps, DiscoveryOptions }

export interface RankedRecord extends SrvRecordView {
  /** 1-based position in the drawn selection order. */
  readonly order: number
  /** Exact probability of being tried first (RFC 2782 rules or legacy uniform). */
  readonly chanceFirst: number
}

export interface DomainDiscovery {
  readonly domain: string
  readonly qname: string
  readonly servers: readonly string[]
  readonly outcome: DomainOutcome
  readonly code?: string
  readonly message?: string
  /** Smallest TTL of the SRV answer, seconds. */
  readonly minTtl?: number
  /** The DNS server that answered. */
  readonly answeredBy?: string
  /** In selection order. */
  readonly records: readonly RankedRecord[]
  /** Records beyond the cap per domain (MAX_SRV_TARGETS_PER_DOMAIN), not taken. */
  readonly ignoredRecords?: number
  /** Targets whose address lookups the deadline cut off. */
  readonly unfinishedTargets?: number
  /** True for the domain a KMS client would use. */
  readonly used: boolean
}

export interface DiscoveryReport {
  readonly ok: boolean
  /** 0 records found, 2 none (CRITICAL; also when the deadline came first), 3 no DNS server / domain to ask (UNKNOWN). */
  readonly exitCode: 0 | 2 | 3
  readonly selection: SrvSelectionMode
  readonly servers: { readonly source: 'configured' | 'os'; readonly list: readonly string[]; readonly from: string }
  readonly domains: { readonly source: 'configured' | 'os'; readonly list: readonly string[]; readonly from: string }
  readonly warnings: readonly string[]
  readonly results: readonly DomainDiscovery[]
  readonly usedDomain?: string
  readonly error?: {
    readonly kind: 'no-dns-servers' | 'no-domains' | 'no-records' | 'cancelled' | 'deadline'
    readonly windows: WindowsCodeEntry
    readonly message: string
  }
  /** Set when the deadline stopped the lookups: when, and what was still pending (the results are partial). */
  readonly deadline?: DeadlineReached
  readonly trace: readonly TraceEntry[]
  readonly durationMs: number
}

export async function runDiscovery(options: DiscoveryOptions, deps: DiscoveryDeps = {}): Promise<DiscoveryReport> {
  const now = deps.now ?? (() => performance.now())
  const recorder = createTraceRecorder(now, deps.onTrace)
  const emit = recorder.emit
  const random: RandomInt = deps.random ?? ((n) => randomInt(n))
  const selection: SrvSelectionMode = options.selection ?? 'rfc2782'
  const configuredServer = options.dnsServer ? checkDnsServer(options.dnsServer) : undefined
  const configuredDomains = options.lookupDomains && options.lookupDomains.length > 0 ? options.lookupDomains : null
  const needOs = configuredServer === undefined || configuredDomains === null
  const os = needOs ? await (deps.readOsResolverConfig ?? (() => readOsResolverConfig()))() : undefined
  const servers = planDnsServers(configuredServer ?? null, os)
  const domains = planDomains(configuredDomains, os)
  emit({ kind: 'dns-servers', source: servers.source, servers: servers.servers, from: servers.from, warnings: servers.warnings })
  emit({ kind: 'domains', source: domains.source, domains: domains.domains, from: domains.from, warnings: domains.warnings })

  const base = {
    selection,
    servers: { source: servers.source, list: servers.servers, from: servers.from },
    domains: { source: domains.source, list: domains.domains, from: domains.from },
    warnings: [...new Set([...servers.warnings, ...domains.warnings])]
  }
  const done = (fields: {
    results: DomainDiscovery[]
    usedDomain?: string
    error?: DiscoveryReport['error']
    deadline?: DeadlineReached
  }): DiscoveryReport => {
    const kind = fields.error?.kind
    const exitCode = fields.usedDomain !== undefined ? 0 : kind === undefined || kind === 'no-records' || kind === 'deadline' ? 2 : 3
    return { ok: fields.usedDomain !== undefined, exitCode, ...base, ...fields, trace: recorder.entries(), durationMs: recorder.elapsed() }
  }

  if (servers.servers.length === 0 && domains.domains.every((d) => servers.forDomain(d).length === 0)) {
    return done({
      results: [],
      error: {
        kind: 'no-dns-servers',
        windows: explainWindowsCode(WINDOWS_CODE.dnsServerFailure),
        message: `no DNS server to ask (${servers.from}); KMS Scout never falls back to a public resolver — give one with --dns-server IP[:PORT]`
      }
    })
  }
  if (domains.domains.length === 0) {
    return done({
      results: [],
      error: {
        kind: 'no-domains',
        windows: explainWindowsCode(WINDOWS_CODE.invalidName),
        message: `no DNS domain to search for _vlmcs._tcp (${domains.from} lists no primary suffix or search domain); give one with --domain`
      }
    })
  }

  const clientFor = dnsClientPool({ timeoutMs: options.dnsTimeoutMs, attempts: options.dnsAttempts }, emit, now, deps.dnsRandom)
  const deadline = armDeadline(deadlineMsOf(options.deadlineMs), deps.signal, recorder)
  let lookups
  try {
    lookups = await lookupDomains({ domains, servers }, clientFor, emit, { stopAtFirst: false, signal: deadline.signal })
  } finally {
    deadline.dispose()
  }
  // Stopped by the deadline or the caller: the domains looked up so far are reported all the same.
  const reached = deadline.reached()
  const stopped: Pick<DiscoveryReport, 'deadline' | 'error'> | undefined = reached
    ? {
        deadline: reached,
        error: { kind: 'deadline', windows: explainWindowsCode(WINDOWS_CODE.dnsServerFailure), message: reached.message }
      }
    : deps.signal?.aborted
      ? { error: { kind: 'cancelled', windows: explainWindowsCode(WINDOWS_CODE.dnsServerFailure), message: 'cancelled' } }
      : undefined
  const usedDomain = lookups.find((l) => l.outcome === 'records')?.domain
  const results: DomainDiscovery[] = lookups.map((lookup) => {
    const records = lookup.result?.records ?? []
    const chances = firstPickProbabilities(records, selection)
    const chanceOf = new Map(records.map((r, i) => [r, chances[i] ?? 0]))
    const picker = createSrvPicker(records, { random, mode: selection, trace: emit })
    const ranked: RankedRecord[] = []
    for (let r = picker.next(); r !== undefined; r = picker.next())
      ranked.push({ ...recordView(r), order: ranked.length + 1, chanceFirst: chanceOf.get(r) ?? 0 })
    return {
      ...domainResultView(lookup),
      ...(lookup.result ? { answeredBy: lookup.result.server } : {}),
      records: ranked,
      used: lookup.domain === usedDomain
    }
  })
  if (usedDomain !== undefined) return done({ results, usedDomain, ...(reached ? { deadline: reached } : {}) })
  if (stopped) return done({ results, ...stopped })
  const failures = lookups.map((l) => l.outcome) as DomainLookupFailure[]
  const windows = explainWindowsCode(windowsCodeForDiscoveryFailure(failures))
  return done({
    results,
    error: {
      kind: 'no-records',
      windows,
      message: `no KMS SRV records: ${lookups.map((l) => `${l.qname} ${l.outcome}${l.code && l.code !== l.outcome ? ` (${l.code})` : ''}`).join('; ')}`
    }
  })
}
