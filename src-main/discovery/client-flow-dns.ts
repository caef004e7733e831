/**
 * Stage 3 of the client flow: DNS discovery. `_vlmcs._tcp.<domain>` is looked up for each domain in order and
 * the first domain with usable records is used (./domains.ts); hosts are drawn by RFC 2782 priority/weight (or
 * uniformly in legacy mode); a host that fails is removed and the next is drawn; the first verified answer wins
 * (./failover.ts) and is cached. The last stage: it always ends the flow.
 */
import { readOsResolverConfig } from '../dns/os-config/read'
import type { SrvTargetRecord } from '../dns/srv-lookup'
import { lookupDomains, planDnsServers, planDomains, type DomainLookup, type DomainPlan, type ServerPlan } from './domains'
import { explainWindowsCode, WINDOWS_CODE, windowsCodeForDiscoveryFailure, type DomainLookupFailure } from './error-map'
import type { CandidateSupply, FailoverCandidate } from './failover'
import { answeredHostOf, noHostError, tryCandidates } from './client-flow-candidates'
import { storeAnsweredHost } from './client-flow-cache'
import { cancelledEnd, type FlowContext, type FlowEnd } from './client-flow-context'
import type { DiscoverySummary } from './client-flow-types'
import { domainResultView } from './client-flow-views'
import { createSrvPicker } from './srv-selection'

/** Where to look: the DNS servers and domains, and the report's discovery section before any lookup. */
interface DiscoveryPlan {
  readonly servers: ServerPlan
  readonly domains: DomainPlan
  readonly summary: Omit<DiscoverySummary, 'results' | 'usedDomain'>
}

export async function discoverViaDns<A>(flow: FlowContext<A>): Promise<FlowEnd<A>> {
  flow.trace.emit({ kind: 'stage', stage: 'dns', outcome: 'start' })
  const plan = await planDiscovery(flow)
  const planProblem = checkPlan(flow, plan)
  if (planProblem) return planProblem

  const lookups = await lookupDomains({ domains: plan.domains, servers: plan.servers }, flow.dnsClientFor, flow.trace.emit, {
    stopAtFirst: true,
    signal: flow.signal
  })
  const used = lookups.find((l) => l.outcome === 'records')
  flow.discovery = { ...plan.summary, results: lookups.map(domainResultView), ...(used ? { usedDomain: used.domain } : {}) }
  // Stopped (deadline or cancel) while looking up: the report keeps what was found; no host is tried.
  if (flow.signal.aborted) return cancelledEnd()
  if (!used?.result) return noRecordsEnd(flow, lookups)
  return tryPublishedHosts(flow, used.domain, used.result.records)
}

/** Reads the OS resolver configuration only when the options leave servers or domains to it. */
async function planDiscovery<A>(flow: FlowContext<A>): Promise<DiscoveryPlan> {
  const { options, deps } = flow
  const needOs = flow.configuredDnsServer === undefined || !(options.lookupDomains && options.lookupDomains.length > 0)
  const os = needOs ? await (deps.readOsResolverConfig ? deps.readOsResolverConfig() : readOsResolverConfig()) : undefined
  const servers = planDnsServers(flow.configuredDnsServer ?? null, os)
  const domains = planDomains(options.lookupDomains ?? null, os)
  flow.trace.emit({ kind: 'dns-servers', source: servers.source, servers: servers.servers, from: servers.from, warnings: servers.warnings })
  flow.trace.emit({ kind: 'domains', source: domains.source, domains: domains.domains, from: domains.from, warnings: domains.warnings })
  const summary = {
    ran: true,
    servers: { source: servers.source, list: servers.servers, from: servers.from },
    domains: { source: domains.source, list: domains.domains, from: domains.from },
    warnings: [...new Set([...servers.warnings, ...domains.warnings])]
  }
  flow.discovery = { ...summary, results: [] }
  return { servers, domains, summary }
}

/** The flow's end when there is no server to ask or no domain to search; undefined when the plan is usable. */
function checkPlan<A>(flow: FlowContext<A>, { servers, domains }: DiscoveryPlan): FlowEnd<A> | undefined {
  if (servers.servers.length === 0 && servers.source === 'os' && domains.domains.every((d) => servers.forDomain(d).length === 0)) {
    flow.trace.emit({ kind: 'stage', stage: 'dns', outcome: 'failed', message: 'no DNS server' })
    return {
      error: {
        kind: 'no-dns-servers',
        windows: explainWindowsCode(WINDOWS_CODE.dnsServerFailure),
        message: `no DNS server to ask (${servers.from}); KMS Scout never falls back to a public resolver — give one with --dns-server IP[:PORT]`
      }
    }
  }
  if (domains.domains.length === 0) {
    flow.trace.emit({ kind: 'stage', stage: 'dns', outcome: 'failed', message: 'no DNS domain' })
    return {
      error: {
        kind: 'no-domains',
        windows: explainWindowsCode(WINDOWS_CODE.invalidName),
        message: `no DNS domain to search for _vlmcs._tcp (${domains.from} lists no primary suffix or search domain); give one with --domain`
      }
    }
  }
  return undefined
}

function noRecordsEnd<A>(flow: FlowContext<A>, lookups: readonly DomainLookup[]): FlowEnd<A> {
  const failures = lookups.map((l) => l.outcome) as DomainLookupFailure[]
  flow.trace.emit({ kind: 'stage', stage: 'dns', outcome: 'failed', message: 'no _vlmcs._tcp records' })
  return {
    error: {
      kind: 'no-records',
      windows: explainWindowsCode(windowsCodeForDiscoveryFailure(failures)),
      message: `no KMS SRV records: ${lookups.map((l) => `${l.qname} ${l.outcome}${l.code && l.code !== l.outcome ? ` (${l.code})` : ''}`).join('; ')}`
    }
  }
}

/** Draws the published hosts one at a time and tries them until one answers. */
async function tryPublishedHosts<A>(flow: FlowContext<A>, domain: string, records: readonly SrvTargetRecord[]): Promise<FlowEnd<A>> {
  const { emit } = flow.trace
  const picker = createSrvPicker(records, { random: flow.random, mode: flow.selection, trace: emit })
  if (flow.failedCachedHost)
    picker.removeHost(flow.failedCachedHost.host, flow.failedCachedHost.port, 'failed as the cached host moments ago')
  const supply: CandidateSupply<FailoverCandidate> = {
    next: () => {
      const record = picker.next()
      if (!record) return undefined
      return { host: record.target, port: record.port, source: 'dns', addresses: record.addresses.map((a) => a.address) }
    },
    // A host that failed on every address: its other records (same name and port) are not drawn again.
    failed: (candidate, reason) => {
      picker.removeHost(candidate.host, candidate.port, reason)
    }
  }
  const result = await tryCandidates(flow, supply)
  if (result.cancelled) return cancelledEnd()
  const answered = answeredHostOf(result)
  if (answered) {
    emit({ kind: 'stage', stage: 'dns', outcome: 'answered' })
    if (flow.caching && flow.deps.hostCache) {
      // the cache says which answer the host came from (`kms-scout cache show`, the Settings page)
      const record = records.find((r) => r.target === answered.host && r.port === answered.port)
      const origin = record && { domain, priority: record.priority, weight: record.weight, port: record.port, target: record.target }
      await storeAnsweredHost(flow, answered, 'stored', origin)
    } else if (!flow.caching)
      emit({
        kind: 'cache-update',
        applicationId: flow.options.applicationId,
        action: 'skipped',
        host: answered.host,
        port: answered.port,
        reason: 'host caching is off'
      })
    return { answered }
  }
  emit({ kind: 'stage', stage: 'dns', outcome: 'failed', message: 'every KMS host failed' })
  const tried = result.attempts.length === 0 ? ' (every published host had just failed as the cached host)' : ''
  return { error: noHostError(flow.attempts, `none of the KMS hosts published in ${domain} gave a verified answer${tried}`) }
}
