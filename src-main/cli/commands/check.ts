/**
 * `kms-scout check`: the whole Windows client flow (manual host → cached host → DNS discovery with RFC 2782
 * selection and fast failover), judged like a monitoring plugin: one status line with perfdata first (Nagios /
 * Icinga / Checkmk read it), details after, exit 0 OK / 1 WARNING / 2 CRITICAL / 3 UNKNOWN.
 *
 * Settings (settings.json in the config folder, $KMS_SCOUT_CONFIG_DIR) give the defaults; flags override them.
 * The client identity is this installation's stable CMID, as for `query`.
 */
import { ApiFailure } from '../../api/result'
import { openAppContext } from '../../service/app-context'
import { checkClientFlow, formatTraceEntry, type CheckReport, type CheckRunInput, type TraceEntry } from '../../service/client-service'
import { DEADLINE_RANGE_S, DEFAULT_DEADLINE_S, DEFAULT_STAGGER_MS, parseWholeNumber, STAGGER_RANGE_MS } from '../../service/inputs'
import { formatHostPort, formatMs, inert } from '../../service/presentation'
import { reportFormatForFile, saveReportAs } from '../../service/report-service'
import {
  booleanOption,
  dnsServerArg,
  domainArgs,
  optional,
  parseHostArg,
  productArgs,
  protocolArg,
  stringOption,
  timeoutArg,
  workstationArg
} from '../args'
import type { CliCommand, CommandContext } from '../commands'
import { UsageError } from '../io'

const USAGE =
  'check [--host H[:P]] [--domain D]... [--dns-server IP[:PORT]] [--no-cache] [--sequential] [--stagger MS] [--legacy-selection] [--product NAME | --sku GUID] [--protocol 4|5|6] [--timeout MS] [--deadline S] [--workstation NAME] [--json] [--verbose] [--report FILE]'

const HELP = `Options:
  --host H[:P]           use this KMS host only, like slmgr /skms (no cache, no DNS discovery); default port 1688
  --domain D             search _vlmcs._tcp.D instead of this machine's DNS suffixes, like slmgr /skms-domain;
                         repeat for several domains (searched in order, the first with records is used)
  --dns-server IP[:PORT] ask this DNS server instead of the system's (never a public resolver)
  --no-cache             do not use or update the cached host, like slmgr /ckhc (discover every time)
  --sequential           try one host at a time, waiting out each failure (what Windows does)
  --stagger MS           fast failover: start the next host after MS milliseconds while earlier ones are still
                         trying (default from settings, ${DEFAULT_STAGGER_MS})
  --legacy-selection     ignore SRV priority and weight (pre-Windows 7 clients pick hosts at random)
  --product NAME         product to claim (exact name, unique part, or SKU GUID); default: settings, else
                         Windows 10 Professional (threshold 25)
  --sku GUID             product by SKU (activation) ID
  --protocol 4|5|6       KMS protocol version (default: the product's)
  --timeout MS           time limit per phase and host (connect, bind, request); default from settings
  --deadline S           time limit for the whole check in seconds (${DEADLINE_RANGE_S.min}–${DEADLINE_RANGE_S.max}, default ${DEFAULT_DEADLINE_S}): then
                         every DNS query and KMS attempt still running is stopped and the check reports
                         CRITICAL with what was still pending
  --workstation NAME     WorkstationName sent (default: settings, else this computer's name)
  --json                 print the report (with the full trace) as one JSON object on stdout
  --verbose              print every step: domains, DNS queries and answers, draws, attempts, cache
  --report FILE          also write a report for a ticket: FILE.txt (text), FILE.json or FILE.html
                         (self-contained: verdict, timeline, trace)

Output: the first line is the status with perfdata, e.g.
  KMS OK - kms01.corp.example:1688 count=50/25 ePID=03612-00206-... rtt=12ms | count=50;;;0 rtt=12ms

Exit codes (monitoring-plugin convention): 0 OK — a host answered and its count meets the product's
threshold; 1 WARNING — a host answered but its count is below the threshold (clients get 0xC004F038);
2 CRITICAL — no KMS host found or none gave a verified answer (0x8007232B, 0x8007251D, 0xC004F074, …),
also when the deadline comes first;
3 UNKNOWN — usage or configuration error (including no DNS server or domain on this machine).`

function parseCheckArgs(ctx: CommandContext): CheckRunInput {
  const { values, positionals } = ctx
  if (positionals.length > 0)
    throw new UsageError(`unexpected argument '${positionals[0]}'`, 'give a host with --host H[:P]; options start with --')
  const host = optional(values, 'host', (text) => parseHostArg(text, (note) => ctx.io.stderr(`kms-scout check: warning: ${note}\n`)))
  const domains = domainArgs(values)
  const dnsServer = dnsServerArg(values)
  const staggerMs = optional(values, 'stagger', (text, label) =>
    parseWholeNumber(text, label, STAGGER_RANGE_MS, 'milliseconds', DEFAULT_STAGGER_MS)
  )
  const deadlineS = optional(values, 'deadline', (text, label) =>
    parseWholeNumber(text, label, DEADLINE_RANGE_S, 'seconds', DEFAULT_DEADLINE_S)
  )
  const sequential = booleanOption(values, 'sequential')
  if (sequential && stringOption(values, 'stagger') !== undefined)
    throw new UsageError('--sequential and --stagger cannot be combined', 'sequential mode has no stagger; leave one of them out')
  return {
    ...(host ? { host: { host: host.host, port: host.port } } : {}),
    ...(domains ? { domains } : {}),
    ...(dnsServer !== undefined ? { dnsServer } : {}),
    product: productArgs(values),
    ...(protocolArg(values) !== undefined ? { protocol: protocolArg(values)! } : {}),
    noCache: booleanOption(values, 'no-cache'),
    sequential,
    ...(staggerMs !== undefined ? { staggerMs } : {}),
    ...(deadlineS !== undefined ? { deadlineS } : {}),
    legacySelection: booleanOption(values, 'legacy-selection'),
    ...(timeoutArg(values) !== undefined ? { timeoutMs: timeoutArg(values)! } : {}),
    ...(workstationArg(values) !== undefined ? { workstationName: workstationArg(values)! } : {})
  }
}

export const checkCommand: CliCommand = {
  name: 'check',
  usage: USAGE,
  help: HELP,
  options: {
    host: { type: 'string' },
    domain: { type: 'string', multiple: true },
    'dns-server': { type: 'string' },
    'no-cache': { type: 'boolean' },
    sequential: { type: 'boolean' },
    stagger: { type: 'string' },
    'legacy-selection': { type: 'boolean' },
    product: { type: 'string' },
    sku: { type: 'string' },
    protocol: { type: 'string' },
    timeout: { type: 'string' },
    deadline: { type: 'string' },
    workstation: { type: 'string' },
    verbose: { type: 'boolean', short: 'v' },
    report: { type: 'string' }
  },
  async run(ctx) {
    const { io } = ctx
    const verbose = booleanOption(ctx.values, 'verbose')
    const reportFile = stringOption(ctx.values, 'report')
    const warn = (message: string): void => io.stderr(`kms-scout check: warning: ${message}\n`)
    let report: CheckReport
    try {
      const input = parseCheckArgs(ctx)
      if (reportFile !== undefined) reportFormatForFile(reportFile)
      const app = await openAppContext({ env: io.env, onWarning: warn })
      const manualHost = input.host ?? app.settings.current().client.manualHost
      if (manualHost && input.domains !== undefined) {
        // slmgr prints the same warning when /skms and /skms-domain are both set.
        warn(`the manual host ${formatHostPort(manualHost.host, manualHost.port)} overrides --domain; DNS discovery is not used`)
      }
      // With --json the trace goes live to stderr (stdout holds only the JSON); otherwise after the status line.
      const onTrace = verbose && ctx.json ? (entry: TraceEntry) => io.stderr(`${inert(formatTraceEntry(entry), 1024)}\n`) : undefined
      report = await checkClientFlow(app, input, { onWarning: warn, ...(onTrace ? { onTrace } : {}) })
    } catch (error) {
      if ((error instanceof UsageError || error instanceof ApiFailure) && !ctx.json) {
        // A monitoring system reads stdout: give it an UNKNOWN status line too.
        io.stdout(`KMS UNKNOWN - ${error.message}\n`)
      }
      throw error
    }
    if (reportFile !== undefined) await saveReportAs(reportFile, { subject: 'check', report })
    if (ctx.json) {
      io.stdout(`${JSON.stringify({ ok: report.status === 'ok', ...report }, null, 2)}\n`)
      return report.exitCode
    }
    io.stdout(formatCheckReport(report))
    if (verbose) io.stdout(`\nTrace:\n${report.trace.map((e) => inert(formatTraceEntry(e), 1024)).join('\n')}\n`)
    return report.exitCode
  }
}

/** Status line (with perfdata), then aligned detail lines. */
function formatCheckReport(r: CheckReport): string {
  const lines = [r.perfdata ? `${r.statusLine} | ${r.perfdata}` : r.statusLine]
  const rows: Array<[string, string]> = []
  rows.push(['Product', `${r.product.name} (${r.product.application}), threshold ${r.product.threshold}, protocol v${r.product.protocol}`])
  if (r.host && r.answer) {
    const a = r.answer
    const where =
      r.host.address !== undefined && r.host.address !== r.host.host
        ? `${r.host.host}:${r.host.port} (${r.host.address})`
        : `${r.host.host}:${r.host.port}`
    rows.push(['KMS host', `${where}, found via ${SOURCE_TEXT[r.host.source]}`])
    rows.push([
      'Count',
      `${a.count} of ${a.threshold} → a client would activate: ${r.wouldActivate ? 'yes' : `no (${r.windows?.code} ${r.windows?.summary})`}`
    ])
    rows.push(['ePID', a.epid])
    if (a.hostKey) rows.push(['Host key', a.hostKey.serves === false ? `NO — ${a.hostKey.text}` : a.hostKey.text])
    if (a.hwid !== undefined) rows.push(['HwId', a.hwid])
    rows.push(['Intervals', `activation ${a.activationIntervalMin} min, renewal ${a.renewalIntervalMin} min`])
    rows.push(['RTT', `${formatMs(a.rttMs)} ms (protocol ${a.protocol})`])
  }
  if (r.error) {
    rows.push(['Error', `${r.error.windows.code} ${r.error.windows.summary}`])
    rows.push(['Meaning', r.error.windows.meaning])
    rows.push(['Fix', r.error.windows.fix])
    if (r.error.inner) rows.push(['Host error', `${r.error.inner.code} ${r.error.inner.summary} — ${r.error.inner.fix}`])
    if (r.hostKeyAdvice !== undefined) rows.push(['Host key', r.hostKeyAdvice])
  } else if (r.windows) {
    rows.push(['Fix', r.windows.fix])
  }
  const tried = r.flow.attempts.filter((a) => a.outcome !== 'verified')
  tried.forEach((a, i) =>
    rows.push([
      i === 0 ? 'Attempts' : '',
      `${a.host}:${a.port}${a.address !== undefined && a.address !== a.host ? ` (${a.address})` : ''} [${a.source}] ${a.outcome}${a.code ? ` ${a.code}` : ''}${a.windowsCode ? ` ${a.windowsCode}` : ''} after ${a.durationMs} ms`
    ])
  )
  const d = r.flow.discovery
  if (d.ran)
    rows.push([
      'DNS',
      `${d.domains?.list.join(', ') || '(no domain)'} via ${d.servers?.list.join(', ') || '(no server)'}${d.usedDomain ? `; used ${d.usedDomain}` : ''}`
    ])
  for (const result of d.results) {
    if (result.ignoredRecords !== undefined)
      rows.push(['SRV cap', `${result.qname}: ${result.records.length} record(s) taken, ${result.ignoredRecords} more ignored`])
  }
  if (r.flow.deadline) rows.push(['Deadline', r.flow.deadline.message])
  rows.push(['Host cache', cacheText(r)])
  rows.push(['Client', `CMID ${r.cmid}`])
  const width = Math.max(...rows.map(([label]) => label.length)) + 2
  // every value may hold text from DNS or the host (SRV targets, ePIDs, messages): inert before the terminal
  lines.push(...rows.map(([label, value]) => `${label.padEnd(width)}${inert(value, 1024)}`))
  return `${lines.join('\n')}\n`
}

const SOURCE_TEXT = { manual: 'the manual host setting (like /skms)', cache: 'the host cache', dns: 'DNS discovery' } as const

function cacheText(r: CheckReport): string {
  const c = r.flow.cache
  if (!c.enabled) return 'off (like /ckhc)'
  if (c.lookup === 'not-used') return 'not used with a manual host'
  const hit = c.cachedHost ? `hit ${c.cachedHost.host}:${c.cachedHost.port}` : c.lookup
  const note = r.host?.source === 'cache' ? ' (DNS not searched; --no-cache forces discovery)' : ''
  return `${hit}${c.update !== 'none' ? `, ${c.update}` : ''}${note}`
}
