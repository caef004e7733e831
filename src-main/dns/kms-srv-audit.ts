/**
 * The audit of what DNS publishes for KMS: the report's shape and the judgement of the set of records — stale
 * records (the target does not answer KMS), names that do not resolve, duplicates, a priority group whose hosts
 * all fail, weights that starve a host, records in a domain clients never reach (docs/dns-publishing.md). Pure:
 * the service looks the records up and probes them; this module only reads the results.
 */
import type { WindowsCodeEntry } from '../common/windows-codes'

/** The discovery behind an audit, as far as the report needs it. */
export interface AuditDiscoverySummary {
  readonly servers: { readonly source: 'configured' | 'os'; readonly list: readonly string[]; readonly from: string }
  readonly domains: { readonly source: 'configured' | 'os'; readonly list: readonly string[]; readonly from: string }
  readonly warnings: readonly string[]
  readonly error?: { readonly kind: string; readonly windows: WindowsCodeEntry; readonly message: string }
}

/** A domain as the discovery saw it. */
export interface AuditedDomain {
  readonly domain: string
  readonly used: boolean
}

export interface AuditProbe {
  readonly address: string
  readonly outcome: 'verified' | 'failed' | 'not-run'
  readonly code?: string
  readonly message?: string
  readonly rttMs?: number
}

export interface AuditedRecord {
  readonly domain: string
  /** Whether clients use this domain (the first with records). */
  readonly used: boolean
  readonly priority: number
  readonly weight: number
  readonly port: number
  readonly target: string
  readonly ttl: number
  readonly addresses: readonly string[]
  readonly chanceFirst: number
  readonly resolves: boolean
  readonly answers: boolean
  readonly probes: readonly AuditProbe[]
  readonly count?: number
  readonly threshold?: number
  readonly epid?: string
  readonly epidMeaning?: string
  /** The host key the ePID names, and the KMS counted IDs (product groups) it activates. */
  readonly hostKey?: { readonly names: readonly string[]; readonly covers: readonly string[] }
  readonly rttMs?: number
  readonly status: 'healthy' | 'stale' | 'unresolved'
}

export type AuditFindingKind = 'stale' | 'unresolved' | 'duplicate' | 'group-down' | 'starved' | 'never-reached' | 'no-records' | 'partial'

export interface AuditFinding {
  readonly severity: 'critical' | 'warning' | 'info'
  readonly kind: AuditFindingKind
  readonly domain: string
  readonly message: string
  readonly fix: string
}

export interface DnsAuditReport {
  readonly status: 'ok' | 'warning' | 'critical' | 'unknown'
  readonly exitCode: 0 | 1 | 2 | 3
  /** One line for monitoring: `KMS DNS WARNING - 3 records, 2 answer, 1 stale`. */
  readonly statusLine: string
  readonly usedDomain?: string
  readonly records: readonly AuditedRecord[]
  readonly findings: readonly AuditFinding[]
  /** Where the records came from: the discovery's DNS servers and domains, its warnings and its error. */
  readonly discovery: AuditDiscoverySummary
  /** The probes not started before the audit's deadline. */
  readonly deadlineHit: boolean
  readonly durationMs: number
}

/** What is wrong with the set of records, domain by domain (in the order clients search them). */
export function auditFindings(
  discovery: AuditDiscoverySummary & { readonly usedDomain?: string | undefined; readonly results: readonly AuditedDomain[] },
  records: readonly AuditedRecord[]
): AuditFinding[] {
  const findings: AuditFinding[] = []
  if (records.length === 0 && discovery.error) {
    findings.push({
      severity: 'critical',
      kind: 'no-records',
      domain: discovery.domains.list.join(', '),
      message: `${discovery.error.windows.code} ${discovery.error.windows.summary}: ${discovery.error.message}`,
      fix: discovery.error.windows.fix
    })
  }
  for (const d of discovery.results) {
    const mine = records.filter((r) => r.domain === d.domain)
    for (const r of mine) {
      const where = `${r.target}:${r.port}`
      if (r.status === 'unresolved') {
        findings.push({
          severity: 'warning',
          kind: 'unresolved',
          domain: d.domain,
          message: `${where} does not resolve to any address: the record points at a name that no longer exists`,
          fix: `remove the record (kms-scout unpublish --domain ${d.domain} --name ${r.target} --dns-server …) or restore the host's A/AAAA record`
        })
      } else if (r.status === 'stale') {
        const why = r.probes.find((p) => p.outcome === 'failed')?.message ?? 'no answer'
        findings.push({
          severity: 'warning',
          kind: 'stale',
          domain: d.domain,
          message: `${where} does not answer KMS (${why}): a stale record for a host that is down or retired`,
          fix: `start the KMS service on ${r.target}, or remove its record (kms-scout unpublish --domain ${d.domain} --name ${r.target} --dns-server …)`
        })
      } else if (r.probes.some((p) => p.outcome !== 'verified')) {
        findings.push({
          severity: 'info',
          kind: 'partial',
          domain: d.domain,
          message: `${where}: ${r.probes
            .filter((p) => p.outcome !== 'verified')
            .map((p) => p.address)
            .join(', ')} did not answer, other addresses did`,
          fix: "remove the host's addresses that do not serve KMS from DNS"
        })
      }
    }
    const seen = new Map<string, AuditedRecord>()
    for (const r of mine) {
      const key = `${r.target.toLowerCase()}:${r.port}`
      if (seen.has(key)) {
        findings.push({
          severity: 'warning',
          kind: 'duplicate',
          domain: d.domain,
          message: `${r.target}:${r.port} is published more than once (priorities ${seen.get(key)!.priority} and ${r.priority})`,
          fix: 'keep one record per host; a host with two records gets more than its share of clients'
        })
      }
      seen.set(key, r)
    }
    for (const p of [...new Set(mine.map((r) => r.priority))].sort((a, b) => a - b)) {
      const group = mine.filter((r) => r.priority === p)
      if (group.every((r) => !r.answers)) {
        findings.push({
          severity: 'warning',
          kind: 'group-down',
          domain: d.domain,
          message: `priority ${p}: none of ${group.map((r) => r.target).join(', ')} answers; clients ${mine.some((r) => r.priority !== p && r.answers) ? 'wait for each before falling back' : 'find no host'}`,
          fix: 'bring a host of this priority back, or remove the records of retired hosts'
        })
      }
      const weighted = group.filter((r) => r.weight > 0)
      const zero = group.filter((r) => r.weight === 0)
      if (weighted.length > 0 && zero.length > 0) {
        findings.push({
          severity: 'warning',
          kind: 'starved',
          domain: d.domain,
          message: `priority ${p}: ${zero.map((r) => r.target).join(', ')} with weight 0 beside weighted hosts is tried first by almost no client (${(zero[0]!.chanceFirst * 100).toFixed(2)}%)`,
          fix: 'give it a weight, or a higher priority number if it is meant as a fallback'
        })
      }
    }
    if (!d.used && mine.length > 0) {
      findings.push({
        severity: 'info',
        kind: 'never-reached',
        domain: d.domain,
        message: `${mine.length} record(s) in ${d.domain} are never reached: clients stop at ${discovery.usedDomain}, an earlier domain with records`,
        fix: `publish these hosts in ${discovery.usedDomain} too, or remove the records here`
      })
    }
  }
  return findings
}
