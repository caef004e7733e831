/**
 * Planning the `_vlmcs._tcp` records of a site: the checks a technician wants before the records go live, and the
 * records written in the forms people paste — zone-file lines, PowerShell, dnscmd, an nsupdate script — plus each
 * host's `DnsDomainPublishList` value for hosts that publish themselves (docs/dns-publishing.md).
 *
 * Pure. Every name is checked with the DNS layer's strict name rules (letters, digits, `-`, `_`, dots) before it
 * is written into a command line, so nothing a user types can change what the generated commands do; numbers are
 * whole numbers in range. Each domain is taken to be its own zone (the usual case); records for a domain inside a
 * larger zone are still right in the zone-file and nsupdate forms, which use absolute names.
 */
import { isIP } from 'node:net'
import { DnsError } from './errors'
import { validateQueryName } from './names'
import { kmsSrvName } from './srv-lookup'

/** Defaults for records KMS Scout writes: Microsoft's priority 0 / weight 0 (docs/windows-client.md §1.1); one hour. */
export const KMS_SRV_DEFAULTS = { priority: 0, weight: 0, ttlS: 3_600 } as const
/** RFC 2782: priority and weight are 16-bit; a TTL is a 31-bit number of seconds (RFC 2181 §8). */
export const KMS_SRV_RANGES = {
  priority: { min: 0, max: 65_535 },
  weight: { min: 0, max: 65_535 },
  port: { min: 1, max: 65_535 },
  ttlS: { min: 1, max: 2_147_483_647 }
} as const
/** Below a minute clients ask DNS for nearly every activation; above a day a retired host lingers in caches. */
const TTL_ADVICE_S = { low: 60, high: 86_400 } as const

/** Where a KMS host keeps the list of domains it publishes into (REG_MULTI_SZ of `domain,priority,weight`). */
const PUBLISH_LIST_KEY = 'HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\SoftwareProtectionPlatform'

export interface PlannedHost {
  /** The host's DNS name (the SRV target). */
  readonly name: string
  readonly port: number
  readonly priority: number
  readonly weight: number
}

export interface SrvPlanInput {
  readonly hosts: readonly PlannedHost[]
  readonly domains: readonly string[]
  readonly ttlS: number
  /** The DNS server the nsupdate script talks to (`server` line), as `IP[:PORT]` parts. */
  readonly nsupdateServer?: { readonly host: string; readonly port: number } | undefined
}

export type PlanFindingKind =
  | 'duplicate-target'
  | 'target-is-address'
  | 'target-not-qualified'
  | 'no-fallback'
  | 'all-weights-zero'
  | 'starved-host'
  | 'ttl-low'
  | 'ttl-high'

export interface PlanFinding {
  readonly severity: 'error' | 'warning' | 'info'
  readonly kind: PlanFindingKind
  readonly message: string
  readonly fix: string
}

export interface HostPublishList {
  readonly host: string
  /** `domain,priority,weight`, one per domain. */
  readonly values: readonly string[]
  /** A `reg add` line that sets the value (run on the host, elevated). */
  readonly regAdd: string
}

export interface SrvPlan {
  readonly hosts: readonly PlannedHost[]
  readonly domains: readonly string[]
  readonly ttlS: number
  readonly findings: readonly PlanFinding[]
  readonly zoneFile: readonly string[]
  readonly powershell: readonly string[]
  readonly dnscmd: readonly string[]
  readonly nsupdate: readonly string[]
  readonly publishLists: readonly HostPublishList[]
}

export type PlanStatus = 'ok' | 'warning' | 'critical'

export interface DnsPlanReport extends SrvPlan {
  /** ok: no finding above info; warning: warnings; critical: errors (the records would mislead clients). */
  readonly status: PlanStatus
  readonly exitCode: 0 | 1 | 2
  /** Each host's chance of being tried first by an RFC 2782 client (the same in every domain). */
  readonly chanceFirst: readonly number[]
}

export class PlanInputError extends Error {
  override readonly name = 'PlanInputError'
  readonly hint: string
  constructor(message: string, hint: string) {
    super(message)
    this.hint = hint
  }
}

function checkedName(text: string, what: string): string {
  try {
    return validateQueryName(text)
  } catch (error) {
    if (error instanceof DnsError) throw new PlanInputError(`${what}: ${error.message}`, 'use a DNS name such as kms01.corp.example')
    throw error
  }
}

function checkedNumber(value: number, what: string, range: { min: number; max: number }): number {
  if (!Number.isSafeInteger(value) || value < range.min || value > range.max) {
    throw new PlanInputError(
      `${what} ${value} is not a whole number from ${range.min} to ${range.max}`,
      `give ${what} within ${range.min}–${range.max}`
    )
  }
  return value
}

/** Checks the input and writes the plan. Throws {@link PlanInputError} for input that cannot be planned at all. */
export function planKmsSrv(input: SrvPlanInput): SrvPlan {
  if (input.hosts.length === 0)
    throw new PlanInputError('the plan has no KMS host', 'give at least one host, e.g. --host kms01.corp.example:1688,0,100')
  if (input.domains.length === 0)
    throw new PlanInputError('the plan has no DNS domain', 'give the domains clients search, e.g. --domain corp.example')
  const ttlS = checkedNumber(input.ttlS, 'the TTL', KMS_SRV_RANGES.ttlS)
  const domains = [...new Set(input.domains.map((d) => checkedName(d, `domain "${d}"`)))]
  for (const d of domains) kmsSrvName(d) // the full record name must fit too
  const findings: PlanFinding[] = []
  const hosts: PlannedHost[] = input.hosts.map((h) => {
    if (isIP(h.name.trim()) !== 0) {
      findings.push({
        severity: 'error',
        kind: 'target-is-address',
        message: `${h.name} is an address; an SRV record names a host (RFC 2782)`,
        fix: 'give the host’s DNS name and publish its A/AAAA record'
      })
    }
    return {
      name: isIP(h.name.trim()) !== 0 ? h.name.trim() : checkedName(h.name, `host "${h.name}"`),
      port: checkedNumber(h.port, `the port of ${h.name}`, KMS_SRV_RANGES.port),
      priority: checkedNumber(h.priority, `the priority of ${h.name}`, KMS_SRV_RANGES.priority),
      weight: checkedNumber(h.weight, `the weight of ${h.name}`, KMS_SRV_RANGES.weight)
    }
  })
  if (findings.length > 0)
    return { hosts, domains, ttlS, findings, zoneFile: [], powershell: [], dnscmd: [], nsupdate: [], publishLists: [] }

  const seen = new Set<string>()
  for (const h of hosts) {
    if (seen.has(h.name)) {
      findings.push({
        severity: 'error',
        kind: 'duplicate-target',
        message: `${h.name} is listed more than once`,
        fix: 'list each host once; a host with two records gets two draws and twice the load'
      })
    }
    seen.add(h.name)
    if (!h.name.includes('.')) {
      findings.push({
        severity: 'warning',
        kind: 'target-not-qualified',
        message: `${h.name} has no domain: an SRV target is an absolute name, so clients would look up "${h.name}." itself`,
        fix: 'give the host’s full DNS name, e.g. kms01.corp.example'
      })
    }
  }
  if (hosts.length === 1) {
    findings.push({
      severity: 'warning',
      kind: 'no-fallback',
      message: `${hosts[0]!.name} is the only KMS host: when it is down, no client activates (0xC004F074)`,
      fix: 'plan a second host, with a higher priority number as a fallback or the same priority to share the load'
    })
  }
  const priorities = [...new Set(hosts.map((h) => h.priority))].sort((a, b) => a - b)
  for (const p of priorities) {
    const group = hosts.filter((h) => h.priority === p)
    if (group.length < 2) continue
    const zero = group.filter((h) => h.weight === 0)
    if (zero.length === group.length) {
      findings.push({
        severity: 'info',
        kind: 'all-weights-zero',
        message: `priority ${p}: every weight is 0, so clients pick among ${group.map((h) => h.name).join(', ')} at random, evenly (Windows' own default)`,
        fix: 'give weights (e.g. 100 and 50) to steer more clients to the stronger host'
      })
    } else if (zero.length > 0) {
      const sum = group.reduce((s, h) => s + h.weight, 0)
      findings.push({
        severity: 'warning',
        kind: 'starved-host',
        message: `priority ${p}: ${zero.map((h) => h.name).join(', ')} with weight 0 beside weighted hosts is tried first by only ${((1 / (sum + 1)) * 100).toFixed(2)}% of clients (RFC 2782)`,
        fix: 'give it a weight, or a higher priority number if it is meant as a fallback'
      })
    }
  }
  if (ttlS < TTL_ADVICE_S.low) {
    findings.push({
      severity: 'warning',
      kind: 'ttl-low',
      message: `a TTL of ${ttlS} s makes clients ask DNS again for nearly every activation`,
      fix: `use ${TTL_ADVICE_S.low} s or more (${KMS_SRV_DEFAULTS.ttlS} s is KMS Scout's default)`
    })
  } else if (ttlS > TTL_ADVICE_S.high) {
    findings.push({
      severity: 'warning',
      kind: 'ttl-high',
      message: `a TTL of ${ttlS} s keeps a retired host in resolver caches for more than a day`,
      fix: `use at most ${TTL_ADVICE_S.high} s (${KMS_SRV_DEFAULTS.ttlS} s is KMS Scout's default)`
    })
  }

  const zoneFile: string[] = []
  const powershell: string[] = []
  const dnscmd: string[] = []
  const nsupdate: string[] = []
  if (input.nsupdateServer) nsupdate.push(`server ${input.nsupdateServer.host} ${input.nsupdateServer.port}`)
  for (const domain of domains) {
    const owner = `${kmsSrvName(domain)}.`
    nsupdate.push(`zone ${domain}.`)
    for (const h of hosts) {
      const data = `${h.priority} ${h.weight} ${h.port} ${h.name}.`
      zoneFile.push(`${owner} ${ttlS} IN SRV ${data}`)
      nsupdate.push(`update add ${owner} ${ttlS} IN SRV ${data}`)
      powershell.push(
        `Add-DnsServerResourceRecord -ZoneName '${domain}' -Srv -Name '_vlmcs._tcp' -DomainName '${h.name}' -Priority ${h.priority} -Weight ${h.weight} -Port ${h.port} -TimeToLive ([TimeSpan]::FromSeconds(${ttlS}))`
      )
      dnscmd.push(`dnscmd /RecordAdd ${domain} _vlmcs._tcp ${ttlS} SRV ${h.priority} ${h.weight} ${h.port} ${h.name}`)
    }
    nsupdate.push('send')
  }
  const publishLists = hosts.map((h) => {
    const values = domains.map((d) => `${d},${h.priority},${h.weight}`)
    return {
      host: h.name,
      values,
      regAdd: `reg add "${PUBLISH_LIST_KEY}" /v DnsDomainPublishList /t REG_MULTI_SZ /d "${values.join('\\0')}" /f`
    }
  })
  return { hosts, domains, ttlS, findings, zoneFile, powershell, dnscmd, nsupdate, publishLists }
}
