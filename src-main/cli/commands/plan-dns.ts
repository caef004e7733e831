/**
 * `kms-scout plan-dns`: the `_vlmcs._tcp` records of a site, checked (all-zero weights, a host starved by weight 0,
 * a single host without fallback, duplicates, TTLs) and written in the forms technicians paste: zone-file lines,
 * PowerShell, dnscmd, an nsupdate script, and each host's DnsDomainPublishList value. Contacts nothing.
 */
import { KMS_SRV_DEFAULTS, parsePlanHost, planDnsRecords, type DnsPlanReport } from '../../service/dns-publish-service'
import { parseWholeNumber } from '../../service/inputs'
import { optional, stringOption, stringOptions } from '../args'
import type { CliCommand } from '../commands'
import { UsageError } from '../io'

const FORMATS = ['all', 'zone', 'powershell', 'dnscmd', 'nsupdate', 'registry'] as const
type Format = (typeof FORMATS)[number]

const HELP = `Options:
  --host NAME[:PORT][,PRIORITY[,WEIGHT]]  a KMS host of the site; repeat for each (port 1688, priority ${KMS_SRV_DEFAULTS.priority} and
                         weight ${KMS_SRV_DEFAULTS.weight} by default), e.g. --host kms01.corp.example,0,100 --host kms02.corp.example,10
  --domain D             a DNS domain clients search; repeat for several
  --ttl S                TTL of the records in seconds (default ${KMS_SRV_DEFAULTS.ttlS})
  --dns-server IP[:PORT] the server the nsupdate script sends to (its "server" line; default: nsupdate's own choice)
  --format F             print only one form, without headings, for a file or a pipe:
                         zone | powershell | dnscmd | nsupdate | registry (default: all, with headings)
  --json                 the plan, its findings and every form as one JSON object

Findings: error (exit 2) — the records would mislead clients; warning (exit 1) — they work but something is
fragile or unbalanced; info — worth knowing. With --format, findings go to stderr.`

export const planDnsCommand: CliCommand = {
  name: 'plan-dns',
  usage: 'plan-dns --host NAME[:PORT][,PRIORITY[,WEIGHT]]... --domain D... [--ttl S] [--dns-server IP[:PORT]] [--format F] [--json]',
  help: HELP,
  options: {
    host: { type: 'string', multiple: true },
    domain: { type: 'string', multiple: true },
    ttl: { type: 'string' },
    'dns-server': { type: 'string' },
    format: { type: 'string' }
  },
  async run({ values, positionals, json, io }) {
    if (positionals.length > 0)
      throw new UsageError(`unexpected argument '${positionals[0]}'`, 'give hosts with --host and domains with --domain')
    const hosts = stringOptions(values, 'host').map((text) => parsePlanHost(text, '--host'))
    const domains = stringOptions(values, 'domain')
    if (hosts.length === 0) throw new UsageError('plan-dns needs at least one --host', 'e.g. --host kms01.corp.example:1688,0,100')
    if (domains.length === 0) throw new UsageError('plan-dns needs at least one --domain', 'e.g. --domain corp.example')
    const formatText = stringOption(values, 'format') ?? 'all'
    if (!(FORMATS as readonly string[]).includes(formatText))
      throw new UsageError(`--format '${formatText}' is not a form plan-dns writes`, `use one of ${FORMATS.join(', ')}`)
    const format = formatText as Format
    const ttl = optional(values, 'ttl', (text, label) =>
      parseWholeNumber(text, label, { min: 1, max: 2_147_483_647 }, 'seconds', KMS_SRV_DEFAULTS.ttlS)
    )
    const plan = planDnsRecords({ hosts, domains, ttl, dnsServer: stringOption(values, 'dns-server') })
    if (json) {
      io.stdout(`${JSON.stringify(plan, null, 2)}\n`)
      return plan.exitCode
    }
    const findings = plan.findings.map((f) => `${f.severity.toUpperCase().padEnd(7)} ${f.message}\n        fix: ${f.fix}`)
    if (format !== 'all') {
      for (const f of findings) io.stderr(`kms-scout plan-dns: ${f}\n`)
      io.stdout(`${formLines(plan, format).join('\n')}\n`)
      return plan.exitCode
    }
    io.stdout(formatPlan(plan, findings))
    return plan.exitCode
  }
}

function formLines(plan: DnsPlanReport, format: Exclude<Format, 'all'>): readonly string[] {
  switch (format) {
    case 'zone':
      return plan.zoneFile
    case 'powershell':
      return plan.powershell
    case 'dnscmd':
      return plan.dnscmd
    case 'nsupdate':
      return plan.nsupdate
    case 'registry':
      return plan.publishLists.map((p) => `# ${p.host}\n${p.regAdd}`)
  }
}

function formatPlan(plan: DnsPlanReport, findings: readonly string[]): string {
  const out: string[] = []
  out.push(`Plan         ${plan.hosts.length} host(s) × ${plan.domains.length} domain(s) (${plan.domains.join(', ')}), TTL ${plan.ttlS} s`)
  plan.hosts.forEach((h, i) => {
    const chance = plan.chanceFirst[i] ?? 0
    out.push(`  ${h.name}:${h.port}  priority ${h.priority}  weight ${h.weight}  tried first by ${(chance * 100).toFixed(1)}% of clients`)
  })
  out.push('', findings.length === 0 ? 'Checks       nothing to report' : 'Checks')
  for (const f of findings) out.push(`  ${f}`)
  if (plan.zoneFile.length === 0) return `${out.join('\n')}\n`
  const section = (title: string, lines: readonly string[]): void => {
    out.push('', `${title}:`, ...lines.map((l) => `  ${l}`))
  }
  section('Zone file (BIND and other RFC 1035 servers)', plan.zoneFile)
  section('PowerShell (Windows DNS Server; run where the DnsServer module is)', plan.powershell)
  section('dnscmd (older Windows DNS servers)', plan.dnscmd)
  section('nsupdate script (nsupdate -k KEYFILE script.txt)', plan.nsupdate)
  section(
    'DnsDomainPublishList (hosts that publish themselves; REG_MULTI_SZ, restart sppsvc)',
    plan.publishLists.flatMap((p) => [`${p.host}: ${p.values.join(' | ')}`, `  ${p.regAdd}`])
  )
  return `${out.join('\n')}\n`
}
