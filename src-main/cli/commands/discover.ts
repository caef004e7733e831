/**
 * `kms-scout discover`: the `_vlmcs._tcp` SRV records a KMS client would find, per DNS domain, in one drawn
 * selection order (RFC 2782 or legacy random) with priority, weight, port, target, addresses, TTL and each
 * record's chance of being tried first. Contacts no KMS host.
 */
import { discoverHosts, formatTraceEntry, type DiscoveryReport } from '../../service/client-service'
import { DEADLINE_RANGE_S, DEFAULT_DEADLINE_S, MAX_SRV_TARGETS_PER_DOMAIN, parseWholeNumber } from '../../service/inputs'
import { openAppContext } from '../../service/app-context'
import { inert } from '../../service/presentation'
import { reportFormatForFile, saveReportAs } from '../../service/report-service'
import { booleanOption, dnsServerArg, domainArgs, optional, stringOption } from '../args'
import type { CliCommand } from '../commands'
import { UsageError } from '../io'

const USAGE = 'discover [--domain D]... [--dns-server IP[:PORT]] [--legacy-selection] [--deadline S] [--json] [--verbose] [--report FILE]'

const HELP = `Options:
  --domain D             look up _vlmcs._tcp.D instead of this machine's DNS suffixes, like slmgr /skms-domain;
                         repeat for several domains
  --dns-server IP[:PORT] ask this DNS server instead of the system's (never a public resolver)
  --legacy-selection     order ignoring priority and weight (pre-Windows 7 clients pick at random)
  --deadline S           time limit for the whole discovery in seconds (${DEADLINE_RANGE_S.min}–${DEADLINE_RANGE_S.max}, default ${DEFAULT_DEADLINE_S}):
                         then the lookups still running are stopped and what was found so far is shown
  --json                 print the report (with the trace) as one JSON object on stdout
  --verbose              also print every DNS query, answer and draw
  --report FILE          also write a report for a ticket: FILE.txt (text), FILE.json or FILE.html

Every domain is looked up; a client uses the first one that has records (marked "used by clients").
The order shown is one random draw by the selection rules; "first" is each record's exact chance of being
tried first. At most ${MAX_SRV_TARGETS_PER_DOMAIN} records per domain are taken (lowest priorities first); the rest are
counted as ignored. Exit codes: 0 records found, 2 no KMS SRV records (0x8007232B / 0x8007251D /
0x8007232A) or none before the deadline, 3 usage or configuration error (including no DNS server or domain
on this machine).`

export const discoverCommand: CliCommand = {
  name: 'discover',
  usage: USAGE,
  help: HELP,
  options: {
    domain: { type: 'string', multiple: true },
    'dns-server': { type: 'string' },
    'legacy-selection': { type: 'boolean' },
    deadline: { type: 'string' },
    verbose: { type: 'boolean', short: 'v' },
    report: { type: 'string' }
  },
  async run(ctx) {
    const { io, values } = ctx
    if (ctx.positionals.length > 0) throw new UsageError(`unexpected argument '${ctx.positionals[0]}'`, 'give domains with --domain D')
    const domains = domainArgs(values)
    const dnsServer = dnsServerArg(values)
    const verbose = booleanOption(values, 'verbose')
    const reportFile = stringOption(values, 'report')
    if (reportFile !== undefined) reportFormatForFile(reportFile)
    const deadlineS = optional(values, 'deadline', (text, label) =>
      parseWholeNumber(text, label, DEADLINE_RANGE_S, 'seconds', DEFAULT_DEADLINE_S)
    )
    const app = await openAppContext({ env: io.env, onWarning: (message) => io.stderr(`kms-scout discover: warning: ${message}\n`) })
    const report = await discoverHosts(
      app,
      {
        ...(domains ? { domains } : {}),
        ...(dnsServer !== undefined ? { dnsServer } : {}),
        legacySelection: booleanOption(values, 'legacy-selection'),
        ...(deadlineS !== undefined ? { deadlineS } : {})
      },
      verbose && ctx.json ? { onTrace: (e) => io.stderr(`${inert(formatTraceEntry(e), 1024)}\n`) } : {}
    )
    if (reportFile !== undefined) await saveReportAs(reportFile, { subject: 'discovery', report })
    if (ctx.json) {
      io.stdout(`${JSON.stringify({ ...report }, null, 2)}\n`)
      return report.exitCode
    }
    io.stdout(formatDiscoveryReport(report))
    if (verbose) io.stdout(`\nTrace:\n${report.trace.map((e) => inert(formatTraceEntry(e), 1024)).join('\n')}\n`)
    // The deadline is one line, whatever else the report holds (a monitoring wrapper may read only that).
    if (report.deadline) io.stderr(`kms-scout discover: ${inert(report.deadline.message, 1024)}\n`)
    else if (report.error)
      io.stderr(
        `kms-scout discover: ${report.error.windows.code} ${report.error.windows.summary}: ${inert(report.error.message, 1024)}\n  fix: ${report.error.windows.fix}\n`
      )
    return report.exitCode
  }
}

function percent(p: number): string {
  if (p === 0) return '0%'
  if (p < 0.001) return '<0.1%'
  return `${(p * 100).toFixed(1)}%`
}

function formatDiscoveryReport(r: DiscoveryReport): string {
  const out: string[] = []
  out.push(`DNS servers  ${r.servers.list.join(', ') || '(none)'} (${r.servers.source === 'configured' ? 'configured' : r.servers.from})`)
  out.push(
    `Domains      ${r.domains.list.join(', ') || '(none)'} (${r.domains.source === 'configured' ? 'lookup domain' : r.domains.from})`
  )
  out.push(
    `Selection    ${r.selection === 'rfc2782' ? 'RFC 2782: lowest priority first, weighted random within a priority' : 'legacy: uniform random, priority and weight ignored'}`
  )
  for (const w of r.warnings) out.push(`Warning      ${w}`)
  for (const d of r.results) {
    out.push('')
    if (d.records.length === 0) {
      out.push(`${d.qname}: ${d.outcome.toUpperCase()}${d.message ? ` — ${d.message}` : ''}`)
      continue
    }
    out.push(
      `${d.qname}: ${d.records.length} record(s) from ${d.answeredBy ?? '?'}, TTL ${d.minTtl ?? '?'} s${d.ignoredRecords !== undefined ? `, ${d.ignoredRecords} more ignored (at most ${MAX_SRV_TARGETS_PER_DOMAIN} taken)` : ''}${d.used ? '  [used by clients]' : '  [not used: an earlier domain has records]'}`
    )
    const header = ['#', 'PRIO', 'WEIGHT', 'PORT', 'TARGET', 'ADDRESSES', 'TTL', 'FIRST']
    const rows = d.records.map((rec) => [
      String(rec.order),
      String(rec.priority),
      String(rec.weight),
      String(rec.port),
      rec.target,
      rec.addresses.join(', ') || (rec.addressesUnfinished === true ? '(lookup stopped)' : '(none found)'),
      String(rec.ttl),
      percent(rec.chanceFirst)
    ])
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)))
    const right = new Set([0, 1, 2, 3, 6, 7])
    const fmt = (row: string[]): string =>
      `  ${row.map((cell, i) => (right.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ')}`.trimEnd()
    out.push(fmt(header), ...rows.map(fmt))
  }
  // targets, CNAMEs and messages come from DNS: inert before the terminal
  return `${out.map((line) => inert(line, 2048)).join('\n')}\n`
}
