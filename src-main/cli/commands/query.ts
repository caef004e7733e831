/**
 * `kms-scout query HOST[:PORT]`: one KMS request to one host, verified, reported against the product's
 * threshold. The client identity is this installation's stable CMID (identity.json in the config folder), so
 * repeated checks count as one client on the host and never inflate its count (docs/protocol.md §10.3).
 */
import { openAppContext } from '../../service/app-context'
import { queryHost, type QueryHostInput, type QueryReport } from '../../service/client-service'
import { DEFAULT_CLIENT_TIMEOUTS, DEFAULT_KMS_PORT, parseCmid } from '../../service/inputs'
import { inert } from '../../service/presentation'
import { reportFormatForFile, saveReportAs } from '../../service/report-service'
import type { CmidSource } from '../../service/query-report'
import { booleanOption, optional, parseHostArg, productArgs, protocolArg, stringOption, timeoutArg, workstationArg } from '../args'
import type { CliCommand, CommandContext } from '../commands'
import { EXIT, UsageError } from '../io'

const USAGE =
  'query HOST[:PORT] [--product NAME | --sku GUID] [--protocol 4|5|6] [--cmid GUID | --new-identity] [--workstation NAME] [--timeout MS] [--json] [--report FILE]'

const HELP = `Options:
  HOST[:PORT]          KMS host name or IP address; IPv6 with a port as [2001:db8::10]:${DEFAULT_KMS_PORT} (default port ${DEFAULT_KMS_PORT})
  --product NAME       product to claim: exact name, a unique part of it, or its SKU GUID
                       (default: the settings' product, else Windows 10 Professional — threshold 25, protocol 6)
  --sku GUID           product by SKU (activation) ID; see 'kms-scout products'
  --protocol 4|5|6     KMS protocol version (default: the product's)
  --cmid GUID          send this client machine ID for this query only (identity.json is not touched)
  --new-identity       create a NEW persistent client identity for this installation and use it; the old CMID
                       is kept as CMID_prev. Each identity counts as one more client on the host for 30 days —
                       use it only when this configuration was copied from another machine.
  --workstation NAME   WorkstationName sent (default: settings, else this computer's name; at most 63 characters)
  --timeout MS         time limit for each phase (resolve, connect, bind, request); default from settings
                       (connect ${DEFAULT_CLIENT_TIMEOUTS.connectMs}, bind ${DEFAULT_CLIENT_TIMEOUTS.bindMs}, request ${DEFAULT_CLIENT_TIMEOUTS.requestMs})
  --json               print the report as one JSON object on stdout (nothing else)
  --report FILE        also write a report for a ticket: FILE.txt (text), FILE.json or FILE.html

Client identity: every query sends this installation's client machine ID (CMID), created once and stored in
identity.json in the config folder ($KMS_SCOUT_CONFIG_DIR overrides it). Repeated queries count as ONE client
on the host; KMS Scout never sends random CMIDs.

Exit codes: 0 verified answer and count >= threshold (a client would activate), 1 verified answer but count
below the threshold (0xC004F038), 2 no verified answer (not reachable, refused, invalid response),
3 usage or configuration error.`

function parseQueryArgs(ctx: CommandContext): QueryHostInput {
  const { positionals, values } = ctx
  if (positionals.length === 0)
    throw new UsageError('missing the KMS host to query', 'usage: kms-scout query HOST[:PORT], e.g. kms-scout query kms01.corp.example')
  if (positionals.length > 1)
    throw new UsageError(`unexpected argument '${positionals[1]}'`, 'query takes one HOST[:PORT]; options start with --')
  const endpoint = parseHostArg(positionals[0]!, (note) => ctx.io.stderr(`kms-scout query: warning: ${note}\n`))
  return {
    host: endpoint.host,
    port: endpoint.port,
    product: productArgs(values),
    protocol: protocolArg(values),
    cmid: optional(values, 'cmid', parseCmid),
    newIdentity: booleanOption(values, 'new-identity'),
    workstationName: workstationArg(values),
    timeoutMs: timeoutArg(values)
  }
}

export const queryCommand: CliCommand = {
  name: 'query',
  usage: USAGE,
  help: HELP,
  options: {
    product: { type: 'string' },
    sku: { type: 'string' },
    protocol: { type: 'string' },
    cmid: { type: 'string' },
    'new-identity': { type: 'boolean' },
    workstation: { type: 'string' },
    timeout: { type: 'string' },
    report: { type: 'string' }
  },
  async run(ctx) {
    const { io } = ctx
    // Every argument is checked before anything is read, written or sent.
    const input = parseQueryArgs(ctx)
    const reportFile = stringOption(ctx.values, 'report')
    if (reportFile !== undefined) reportFormatForFile(reportFile)
    const warn = (message: string): void => io.stderr(`kms-scout query: warning: ${message}\n`)
    const app = await openAppContext({ env: io.env, onWarning: warn })
    const report = await queryHost(app, input, { onWarning: warn, onNotice: (message) => io.stderr(`kms-scout query: ${message}\n`) })
    if (reportFile !== undefined) await saveReportAs(reportFile, { subject: 'query', report })
    if (ctx.json) io.stdout(`${JSON.stringify(report, null, 2)}\n`)
    else {
      io.stdout(formatQueryReport(report))
      if (report.error) io.stderr(`kms-scout query: ${inert(report.error.message, 1024)}\n  fix: ${report.error.fix}\n`)
    }
    return exitCodeOf(report)
  }
}

/** 0 would activate, 1 answered but count below threshold, 2 no verified answer. */
function exitCodeOf(report: QueryReport): number {
  if (!report.ok) return EXIT.critical
  return report.wouldActivate ? EXIT.ok : EXIT.warning
}

const SOURCE_TEXT: Record<CmidSource, string> = {
  installation: "this installation's identity",
  'new-installation': "this installation's NEW identity",
  option: 'from --cmid'
}

function ms(value: number | null): string {
  return value === null ? '–' : `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`
}

/** The human form: a short block of aligned "label  value" lines. */
export function formatQueryReport(r: QueryReport): string {
  const rows: [string, string][] = []
  const where =
    r.target.address !== null && r.target.address !== r.target.host ? `${r.target.endpoint} (${r.target.address})` : r.target.endpoint
  if (r.ok && r.answer) {
    const a = r.answer
    rows.push(['KMS host', `${where} answered — response verified`])
    rows.push([
      'Count',
      `${a.count} of threshold ${a.threshold} → a client would activate: ${a.wouldActivate ? 'yes' : `no (${a.windowsCode?.code}: ${a.windowsCode?.meaning})`}`
    ])
    rows.push(['ePID', a.epid.value])
    rows.push(['', a.epid.meaning])
    if (a.hostKey) rows.push(['Host key', a.hostKey.serves === false ? `NO — ${a.hostKey.text}` : a.hostKey.text])
    if (a.hwid !== null) rows.push(['HwId', a.hwid])
    rows.push([
      'Intervals',
      `activation ${a.activationInterval.minutes} min (${a.activationInterval.text}), renewal ${a.renewalInterval.minutes} min (${a.renewalInterval.text})`
    ])
  } else {
    rows.push(['KMS host', `${where} — NO verified answer`])
    const e = r.error!
    const host =
      e.hostCode && e.hostCode.code !== e.windowsCode?.code
        ? `; this host: ${e.hostCode.code}${e.hostCode.name ? ` ${e.hostCode.name}` : ''}`
        : ''
    rows.push([
      'Error',
      `${e.code} (${e.phase} phase)${e.windowsCode ? `, Windows: ${e.windowsCode.code}${e.windowsCode.name ? ` ${e.windowsCode.name}` : ''}` : ''}${host}`
    ])
    rows.push(['', e.explanation])
    rows.push(['Fix', e.fix])
  }
  rows.push([
    'Product',
    `${r.product.sku.name} (${r.product.sku.id}), KMS ID ${r.product.kmsCountedId.name}, threshold ${r.product.threshold}`
  ])
  const rpc = r.rpc
    ? `, ${r.request.transferSyntax?.toUpperCase() ?? '?'} ctx ${r.request.contextId}${r.rpc.alterContext ? ' (after alter_context)' : ''}`
    : ''
  rows.push(['Protocol', `v${r.answer?.protocol ?? r.request.protocol}${rpc}`])
  rows.push([
    'RTT',
    `connect ${ms(r.rtt.connectMs)}, bind ${ms(r.rtt.bindMs)}, request ${ms(r.rtt.requestMs)}, total ${ms(r.rtt.totalMs)}${r.rtt.resolveMs !== null ? ` (DNS ${ms(r.rtt.resolveMs)})` : ''}${r.reconnects > 0 ? `; the host closed between requests, reconnected ${r.reconnects}×` : ''}`
  ])
  const v = r.verification
  if (v.checks.length > 0) {
    const warn = v.checks.filter((c) => c.status === 'warn').length
    const pass = v.checks.filter((c) => c.status === 'pass').length
    rows.push([
      'Verification',
      v.verified ? `${pass} checks passed${warn ? `, ${warn} warning(s)` : ''}` : `FAILED: ${v.failed?.check} — ${v.failed?.reason}`
    ])
  }
  rows.push(['Client', `CMID ${r.request.cmid} (${SOURCE_TEXT[r.request.cmidSource]}), workstation ${r.request.workstationName}`])
  r.warnings.forEach((w, i) => rows.push([i === 0 ? 'Warnings' : '', w]))
  const width = Math.max(...rows.map(([label]) => label.length)) + 2
  // values may hold text from the host (its ePID in a verification error): inert before the terminal
  return rows.map(([label, value]) => `${label.padEnd(width)}${inert(value, 1024)}`).join('\n') + '\n'
}
