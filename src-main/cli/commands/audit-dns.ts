/**
 * `kms-scout audit-dns`: every `_vlmcs._tcp` record a client would see, each target asked for its count with the
 * real KMS exchange (in parallel, bounded, under one deadline), and what is wrong with the set — stale records,
 * names that do not resolve, duplicates, a priority group that is all down, starved hosts, records never reached.
 * Exit codes by the monitoring convention.
 */
import { auditKmsSrv, type DnsAuditReport } from '../../service/dns-publish-service'
import { openAppContext } from '../../service/app-context'
import { DEADLINE_RANGE_S, DEFAULT_DEADLINE_S, parseWholeNumber } from '../../service/inputs'
import { inert } from '../../service/presentation'
import { dnsServerArg, domainArgs, optional } from '../args'
import type { CliCommand } from '../commands'
import { UsageError } from '../io'

const HELP = `Options:
  --domain D             audit _vlmcs._tcp.D instead of this machine's DNS suffixes; repeat for several domains
  --dns-server IP[:PORT] ask this DNS server instead of the system's (never a public resolver)
  --deadline S           give up on probes not started within S seconds (default ${DEFAULT_DEADLINE_S})
  --json                 the whole report as one JSON object

Every address of every record is asked for its count with this installation's client identity (one client, however
often it runs). Exit codes: 0 every record answers; 1 warning (a stale record, a duplicate, a starved host, a
priority group down) while clients still find a host; 2 no record in the domain clients use answers (or there is
none); 3 usage or configuration error.`

export const auditDnsCommand: CliCommand = {
  name: 'audit-dns',
  usage: 'audit-dns [--domain D]... [--dns-server IP[:PORT]] [--deadline S] [--json]',
  help: HELP,
  options: {
    domain: { type: 'string', multiple: true },
    'dns-server': { type: 'string' },
    deadline: { type: 'string' }
  },
  async run({ values, positionals, json, io }) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, 'give domains with --domain D')
    const domains = domainArgs(values)
    const dnsServer = dnsServerArg(values)
    const deadlineS = optional(values, 'deadline', (text, label) =>
      parseWholeNumber(text, label, DEADLINE_RANGE_S, 'seconds', DEFAULT_DEADLINE_S)
    )
    const warn = (message: string): void => io.stderr(`kms-scout audit-dns: warning: ${message}\n`)
    const app = await openAppContext({ env: io.env, onWarning: warn })
    const report = await auditKmsSrv(
      app,
      { domains, dnsServer, ...(deadlineS !== undefined ? { deadlineMs: deadlineS * 1000 } : {}) },
      warn
    )
    if (json) {
      io.stdout(`${JSON.stringify(report, null, 2)}\n`)
      return report.exitCode
    }
    io.stdout(formatAudit(report))
    return report.exitCode
  }
}

function formatAudit(r: DnsAuditReport): string {
  const out: string[] = [r.statusLine, '']
  out.push(`DNS servers  ${r.discovery.servers.list.join(', ') || '(none)'}`)
  out.push(`Domains      ${r.discovery.domains.list.join(', ') || '(none)'}`)
  for (const w of r.discovery.warnings) out.push(`Warning      ${w}`)
  const domains = [...new Set(r.records.map((x) => x.domain))]
  for (const domain of domains) {
    const records = r.records.filter((x) => x.domain === domain)
    out.push('', `_vlmcs._tcp.${domain}${records[0]?.used ? '  [used by clients]' : '  [not reached: an earlier domain has records]'}`)
    const header = ['PRIO', 'WEIGHT', 'FIRST', 'TARGET:PORT', 'STATUS', 'COUNT', 'RTT', 'HOST KEY']
    const rows = records.map((x) => [
      String(x.priority),
      String(x.weight),
      `${(x.chanceFirst * 100).toFixed(1)}%`,
      `${x.target}:${x.port}`,
      x.status === 'healthy' ? 'answers' : x.status,
      x.count === undefined ? '-' : `${x.count}/${x.threshold}`,
      x.rttMs === undefined ? '-' : `${Math.round(x.rttMs)} ms`,
      x.hostKey ? x.hostKey.names.join(' / ') : '-'
    ])
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)))
    const fmt = (row: string[]): string => `  ${row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')}`.trimEnd()
    out.push(fmt(header), ...rows.map(fmt))
    for (const x of records) {
      if (x.epid) out.push(`  ${x.target}: ePID ${x.epid}${x.hostKey ? `; the key activates ${x.hostKey.covers.join(', ')}` : ''}`)
      for (const p of x.probes.filter((p) => p.outcome !== 'verified'))
        out.push(`  ${x.target} ${p.address}: ${p.code ?? p.outcome} — ${p.message ?? ''}`)
    }
  }
  if (r.findings.length > 0) out.push('', 'Findings')
  for (const f of r.findings) out.push(`  ${f.severity.toUpperCase().padEnd(8)} ${f.message}`, `           fix: ${f.fix}`)
  // targets, ePIDs and messages come from DNS and from KMS hosts: inert before the terminal
  return `${out.map((line) => inert(line, 2048)).join('\n')}\n`
}
