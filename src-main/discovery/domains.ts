/**
 * Which DNS servers to ask and which DNS domains to search for `_vlmcs._tcp.<domain>`, and the per-domain SRV
 * lookups — shared by the client flow (`check`) and `discover`.
 *
 * Domains, like a Windows KMS client (docs/windows-client.md §1.2):
 *  - a configured lookup domain (slmgr /skms-domain, `--domain`, settings `lookupDomain`) REPLACES the automatic
 *    list ("ignore the DNS suffix search list and look … in the specified DNS domain instead");
 *  - otherwise the OS's list: primary DNS suffix, connection-specific suffixes, suffix search list,
 *    de-duplicated in that order (readOsResolverConfig does the reading and de-duplication).
 * DNS servers: a configured `IP[:PORT]` (settings `dnsServer`, `--dns-server`) or the OS's servers — with macOS
 * split DNS honoured per domain. Never a public resolver: with no server, discovery stops with an error.
 *
 * DECISION (domain iteration): domains are searched in order and the FIRST domain whose `_vlmcs._tcp` name has
 * usable SRV records is the one used — like a resolver walking its search list, which stops at the first name
 * that resolves. If every host of that domain then fails, later domains are not searched. Microsoft does not
 * document the exact iteration (docs/windows-client.md §1.2 marks it unverified); this is the least surprising reading and keeps the
 * answer deterministic. `discover` still looks up every domain so a technician sees all of them.
 */
import { createDnsClient, type DnsClient } from '../dns/client'
import { DnsError, isDnsError } from '../dns/errors'
import type { OsResolverConfig } from '../dns/os-config/resolver-config'
import { appendUniqueDomains, serversForDomain } from '../dns/os-config/resolver-config'
import { formatDnsServer, parseDnsServer } from '../dns/server-spec'
import { kmsSrvName, lookupKmsSrv, type SrvLookupResult } from '../dns/srv-lookup'
import type { DnsTraceEvent, TraceSink } from '../dns/trace'
import { isDnsTransportFailure } from './error-map'
import type { DomainResultEvent, TraceInput } from './trace'

/** A configuration problem the user must fix (bad domain, bad server spec, unknown product…). CLI exit 3. */
export class DiscoveryConfigError extends Error {
  override readonly name = 'DiscoveryConfigError'
  readonly hint: string
  readonly field: string
  constructor(field: string, message: string, hint: string) {
    super(message)
    this.field = field
    this.hint = hint
  }
}

export interface DomainPlan {
  readonly source: 'configured' | 'os'
  readonly domains: readonly string[]
  /** Where the list came from, for display. */
  readonly from: string
  readonly warnings: readonly string[]
}

export interface ServerPlan {
  readonly source: 'configured' | 'os'
  /** Canonical `host:port` / `[v6]:port`. */
  readonly servers: readonly string[]
  readonly from: string
  readonly warnings: readonly string[]
  /** The servers to ask for one domain (split DNS on macOS; otherwise `servers`). */
  readonly forDomain: (domain: string) => readonly string[]
}

/** Validates a lookup domain the user typed; returns it without a trailing dot. */
export function checkLookupDomain(domain: string, field = 'domain'): string {
  try {
    kmsSrvName(domain)
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    throw new DiscoveryConfigError(
      field,
      `"${domain}" is not a usable DNS domain: ${message}`,
      'give a DNS domain such as corp.example.com'
    )
  }
  return domain.trim().replace(/\.$/, '')
}

/** Parses a configured DNS server (`IP[:PORT]`) into its canonical text. */
export function checkDnsServer(spec: string, field = 'dns-server'): string {
  try {
    return formatDnsServer(parseDnsServer(spec))
  } catch (error) {
    const problem = error instanceof Error ? error.message : String(error)
    const hint = (error as { hint?: unknown }).hint
    throw new DiscoveryConfigError(
      field,
      problem,
      typeof hint === 'string' ? hint : 'give an IP address with an optional port, e.g. 10.0.0.2 or [fd00::53]:5353'
    )
  }
}

export function planDomains(configured: readonly string[] | null | undefined, os: OsResolverConfig | undefined): DomainPlan {
  if (configured && configured.length > 0) {
    const domains: string[] = []
    appendUniqueDomains(
      domains,
      configured.map((d) => checkLookupDomain(d))
    )
    return { source: 'configured', domains, from: '--domain / settings lookupDomain, like slmgr /skms-domain', warnings: [] }
  }
  const warnings = [...(os?.warnings ?? [])]
  const domains = [...(os?.domains ?? [])]
  return { source: 'os', domains, from: os?.source ?? 'operating system', warnings }
}

export function planDnsServers(configured: string | null | undefined, os: OsResolverConfig | undefined): ServerPlan {
  if (configured !== null && configured !== undefined && configured.trim() !== '') {
    const server = checkDnsServer(configured)
    return { source: 'configured', servers: [server], from: '--dns-server / settings dnsServer', warnings: [], forDomain: () => [server] }
  }
  const servers = canonicalServers(os?.servers ?? [])
  return {
    source: 'os',
    servers: servers.valid,
    from: os?.source ?? 'operating system',
    warnings: [...(os?.warnings ?? []), ...servers.skipped],
    forDomain: (domain) => (os ? canonicalServers(serversForDomain(os, domain)).valid : [])
  }
}

function canonicalServers(specs: readonly string[]): { valid: string[]; skipped: string[] } {
  const valid: string[] = []
  const skipped: string[] = []
  for (const spec of specs) {
    try {
      const text = formatDnsServer(parseDnsServer(spec))
      if (!valid.includes(text)) valid.push(text)
    } catch (error) {
      skipped.push(`ignored DNS server "${spec}": ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  return { valid, skipped }
}

export interface DnsSettings {
  readonly timeoutMs?: number
  readonly attempts?: number
}

/** One DNS client per distinct server list (split DNS may give different lists per domain). */
export function dnsClientPool(
  settings: DnsSettings,
  trace: TraceSink<DnsTraceEvent>,
  now: () => number,
  random?: (n: number) => Uint8Array
): (servers: readonly string[]) => DnsClient {
  const clients = new Map<string, DnsClient>()
  return (servers) => {
    const key = servers.join(' ')
    let client = clients.get(key)
    if (!client) {
      client = createDnsClient({
        servers,
        trace,
        now,
        ...(settings.timeoutMs !== undefined ? { timeoutMs: settings.timeoutMs } : {}),
        ...(settings.attempts !== undefined ? { attempts: settings.attempts } : {}),
        ...(random ? { random } : {})
      })
      clients.set(key, client)
    }
    return client
  }
}

export type DomainOutcome = DomainResultEvent['outcome']

export interface DomainLookup {
  readonly domain: string
  readonly qname: string
  readonly servers: readonly string[]
  readonly outcome: DomainOutcome
  readonly result?: SrvLookupResult
  /** DNS error code when there are no records ('nxdomain', 'timeout', …). */
  readonly code?: string
  readonly message?: string
}

/**
 * Looks up `_vlmcs._tcp.<domain>` for each domain in order. With `stopAtFirst`, stops at the first domain that
 * has usable records (the client flow); otherwise looks up all of them (`discover`). Never throws for DNS
 * outcomes. When the signal aborts (the run's deadline, or a cancel) it returns what it has: the domain being
 * looked up and the ones after it are listed as 'dns-failure' with code 'aborted', so a report can show them.
 */
export async function lookupDomains(
  plan: { domains: DomainPlan; servers: ServerPlan },
  clientFor: (servers: readonly string[]) => DnsClient,
  emit: TraceSink<TraceInput>,
  options: { stopAtFirst: boolean; signal?: AbortSignal }
): Promise<DomainLookup[]> {
  const lookups: DomainLookup[] = []
  let found = false
  for (const domain of plan.domains.domains) {
    const qname = safeQname(domain)
    const servers = plan.servers.forDomain(domain)
    if (found && options.stopAtFirst) break
    if (options.signal?.aborted) {
      const message = 'not searched: the run was stopped before this domain'
      lookups.push({ domain, qname: qname ?? `_vlmcs._tcp.${domain}`, servers, outcome: 'dns-failure', code: 'aborted', message })
      emit({
        kind: 'domain-result',
        domain,
        qname: qname ?? `_vlmcs._tcp.${domain}`,
        outcome: 'dns-failure',
        records: 0,
        code: 'aborted',
        message
      })
      continue
    }
    if (qname === undefined) {
      const lookup: DomainLookup = {
        domain,
        qname: `_vlmcs._tcp.${domain}`,
        servers,
        outcome: 'nxdomain',
        code: 'invalid-name',
        message: 'not a valid DNS name; skipped'
      }
      emit({
        kind: 'domain-result',
        domain,
        qname: lookup.qname,
        outcome: 'nxdomain',
        records: 0,
        code: 'invalid-name',
        message: lookup.message!
      })
      lookups.push(lookup)
      continue
    }
    if (servers.length === 0) {
      const lookup: DomainLookup = {
        domain,
        qname,
        servers,
        outcome: 'dns-failure',
        code: 'no-servers',
        message: 'no DNS server to ask for this domain'
      }
      emit({ kind: 'domain-result', domain, qname, outcome: 'dns-failure', records: 0, code: 'no-servers', message: lookup.message! })
      lookups.push(lookup)
      continue
    }
    emit({ kind: 'domain-lookup', domain, qname, servers })
    try {
      const result = await lookupKmsSrv(clientFor(servers), domain, options.signal ? { signal: options.signal } : {})
      lookups.push({ domain, qname, servers, outcome: 'records', result })
      emit({ kind: 'domain-result', domain, qname, outcome: 'records', records: result.records.length })
      found = true
    } catch (error) {
      if (!isDnsError(error)) throw error
      if (error.code === 'aborted') {
        const message = 'lookup not finished: the run was stopped'
        lookups.push({ domain, qname, servers, outcome: 'dns-failure', code: 'aborted', message })
        emit({ kind: 'domain-result', domain, qname, outcome: 'dns-failure', records: 0, code: 'aborted', message })
        continue
      }
      // An invalid name cannot exist; everything else that is not an answer is a DNS failure (timeout, SERVFAIL…).
      const outcome: DomainOutcome = !isDnsTransportFailure(error.code)
        ? (error.code as DomainOutcome)
        : error.code === 'invalid-name'
          ? 'nxdomain'
          : 'dns-failure'
      lookups.push({ domain, qname, servers, outcome, code: error.code, message: error.message })
      emit({ kind: 'domain-result', domain, qname, outcome, records: 0, code: error.code, message: error.message })
    }
  }
  return lookups
}

function safeQname(domain: string): string | undefined {
  try {
    return kmsSrvName(domain)
  } catch (error) {
    if (error instanceof DnsError) return undefined
    throw error
  }
}
