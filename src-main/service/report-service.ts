/**
 * Reports for a chat, a ticket or a tool — one builder for the app ("Copy report", "Save report…") and the CLI
 * (`--report FILE`):
 * - text: aligned lines, every value from the network made inert (it may end up in a terminal);
 * - JSON: the whole report as the API and `--json` give it, with a small envelope;
 * - HTML: one self-contained file — styles inlined, no script, no remote content (its own CSP says so), every
 *   value escaped — with the verdict, the failover timeline as SVG and the trace.
 */
import { rename, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type {
  FlowTimeline,
  HandlerTable,
  LabHostCountsView,
  LabHostView,
  RenderedReport,
  ReportFormat,
  ReportSubject
} from '../api/contract'
import { ApiFailure } from '../api/result'
import { formatHostPort } from '../common/host-port'
import { inert } from '../common/inert-text'
import type { CheckReport } from '../discovery/run-check'
import type { DiscoveryReport } from '../discovery/run-discovery'
import { formatTraceEntry, type TraceEntry } from '../discovery/trace'
import type { QueryReport } from './query-report'
import { buildTimeline } from './timeline'

/** What a report is made of: one of the app's views, or the CLI's query. */
export type ReportInput =
  | { subject: 'check'; report: CheckReport }
  | { subject: 'discovery'; report: DiscoveryReport }
  | { subject: 'lab-host'; report: { view: LabHostView; counts: LabHostCountsView } }
  | { subject: 'query'; report: QueryReport }

const MEDIA_TYPES: Record<ReportFormat, string> = {
  text: 'text/plain; charset=utf-8',
  json: 'application/json',
  html: 'text/html; charset=utf-8'
}
const EXTENSIONS: Record<ReportFormat, string> = { text: 'txt', json: 'json', html: 'html' }
const TITLES: Record<ReportInput['subject'], string> = {
  check: 'Activation check',
  discovery: 'DNS discovery',
  'lab-host': 'Lab KMS host',
  query: 'KMS host query'
}

/** The format a file name asks for (`--report FILE`); an unknown extension is a usage error. */
export function reportFormatForFile(file: string): ReportFormat {
  const ext = path.extname(file).toLowerCase()
  if (ext === '.txt' || ext === '.text' || ext === '.log') return 'text'
  if (ext === '.json') return 'json'
  if (ext === '.html' || ext === '.htm') return 'html'
  throw new ApiFailure(
    'invalid-input',
    `report file '${file}': the format cannot be told from ${ext === '' ? 'a name without an extension' : `'${ext}'`}`,
    'end the file name in .txt (text), .json or .html'
  )
}

export function renderReport(input: ReportInput, format: ReportFormat, now: Date = new Date()): RenderedReport {
  const stamp = now
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replaceAll(':', '-')
  const content =
    format === 'json'
      ? `${JSON.stringify({ kind: 'kms-scout-report', subject: input.subject, generatedAt: now.toISOString(), report: jsonBody(input) }, null, 2)}\n`
      : format === 'text'
        ? textReport(input, now)
        : htmlReport(input, now)
  return {
    subject: input.subject,
    format,
    fileName: `kms-scout-${input.subject}-${stamp}.${EXTENSIONS[format]}`,
    mediaType: MEDIA_TYPES[format],
    content
  }
}

/** Writes next to the target and renames, so a reader never sees half a report. */
async function writeReportFile(file: string, content: string): Promise<number> {
  const target = path.resolve(file)
  const temporary = `${target}.${process.pid}.tmp`
  await writeFile(temporary, content, 'utf8')
  await rename(temporary, target)
  return Buffer.byteLength(content)
}

/** `--report FILE`: the report in the format the file name asks for; a write failure is one line of cause and fix. */
export async function saveReportAs(file: string, input: ReportInput): Promise<number> {
  const rendered = renderReport(input, reportFormatForFile(file))
  try {
    return await writeReportFile(file, rendered.content)
  } catch (error) {
    throw new ApiFailure(
      'write-failed',
      `cannot write the report ${file}: ${error instanceof Error ? error.message : String(error)}`,
      'choose a folder you can write to'
    )
  }
}

function jsonBody(input: ReportInput): unknown {
  if (input.subject === 'check') return { ...input.report, timeline: buildTimeline(input.report.trace) }
  return input.report
}

// ---------------------------------------------------------------- the rows every format shows

interface Section {
  title: string
  rows: Array<[string, string]>
}

const SOURCE_TEXT = { manual: 'fixed host (like slmgr /skms)', cache: 'cached host', dns: 'found in DNS' } as const

function verdict(input: ReportInput): { tone: 'ok' | 'warn' | 'bad'; text: string } {
  switch (input.subject) {
    case 'check': {
      const r = input.report
      const tone = r.status === 'ok' ? 'ok' : r.status === 'warning' ? 'warn' : 'bad'
      const text = r.answer
        ? `${r.status.toUpperCase()} — a client of ${r.product.name} would ${r.wouldActivate ? '' : 'NOT '}activate (count ${r.answer.count} of ${r.answer.threshold})`
        : `${r.status.toUpperCase()} — ${r.error ? `${r.error.windows.code} ${r.error.windows.summary}` : 'no verified answer'}`
      return { tone, text }
    }
    case 'discovery': {
      const r = input.report
      const records = r.results.reduce((sum, d) => sum + d.records.length, 0)
      return r.ok
        ? { tone: 'ok', text: `${records} KMS host record(s) found${r.usedDomain ? `; clients use ${r.usedDomain}` : ''}` }
        : { tone: 'bad', text: r.error ? `${r.error.windows.code} ${r.error.windows.summary}` : 'no KMS SRV records found' }
    }
    case 'lab-host': {
      const { view, counts } = input.report
      if (!view.running || !view.status) return { tone: 'warn', text: 'the lab host is not running' }
      const ready = counts.groups.filter((g) => g.wouldActivate).length
      return {
        tone: 'ok',
        text: `running on ${view.status.addresses.map((a) => a.text).join(', ')}; ${ready} of ${counts.groups.length} product group(s) at their threshold`
      }
    }
    case 'query': {
      const r = input.report
      return r.ok && r.answer
        ? {
            tone: r.wouldActivate ? 'ok' : 'warn',
            text: `${r.target.endpoint} answered: count ${r.answer.count} of ${r.answer.threshold}, a client would ${r.wouldActivate ? '' : 'NOT '}activate`
          }
        : { tone: 'bad', text: `${r.target.endpoint}: no verified answer${r.error?.windowsCode ? ` (${r.error.windowsCode.code})` : ''}` }
    }
  }
}

function sections(input: ReportInput): Section[] {
  switch (input.subject) {
    case 'check':
      return checkSections(input.report)
    case 'discovery':
      return discoverySections(input.report)
    case 'lab-host':
      return labHostSections(input.report.view, input.report.counts)
    case 'query':
      return querySections(input.report)
  }
}

function checkSections(r: CheckReport): Section[] {
  const rows: Array<[string, string]> = [
    ['Status line', r.statusLine],
    ['Product', `${r.product.name} — ${r.product.kmsCountedName}, threshold ${r.product.threshold}, protocol v${r.product.protocol}`]
  ]
  if (r.host && r.answer) {
    const a = r.answer
    rows.push(['KMS host', `${formatHostPort(r.host.host, r.host.port)} (${a.address}), ${SOURCE_TEXT[r.host.source]}`])
    rows.push(['Count', `${a.count} of ${a.threshold}`])
    rows.push(['ePID', `${a.epid} — ${a.epidMeaning}`])
    if (a.hostKey) rows.push(['Host key', a.hostKey.text])
    if (a.hwid !== undefined) rows.push(['HwId', a.hwid])
    rows.push(['Intervals', `activation ${a.activationIntervalMin} min, renewal ${a.renewalIntervalMin} min`])
    rows.push(['Round trip', `${a.rttMs.toFixed(1)} ms`])
  }
  if (r.windows) rows.push(['Windows code', `${r.windows.code} ${r.windows.summary} — ${r.windows.meaning}`], ['Usual fix', r.windows.fix])
  if (r.error && r.error.windows.code !== r.windows?.code)
    rows.push(['Error', `${r.error.windows.code} ${r.error.message}`], ['Usual fix', r.error.windows.fix])
  if (r.hostKeyAdvice !== undefined) rows.push(['Host key advice', r.hostKeyAdvice])
  if (r.flow.deadline) rows.push(['Deadline', r.flow.deadline.message])
  rows.push(['Client ID', r.cmid], ['Duration', `${r.durationMs.toFixed(1)} ms`])
  const timeline = buildTimeline(r.trace)
  return [
    { title: 'Result', rows },
    {
      title: 'Timeline (ms from the start)',
      rows: timeline.bars.map((bar) => [
        `+${bar.startMs.toFixed(1)}${bar.endMs > bar.startMs ? `…${bar.endMs.toFixed(1)}` : ''}`,
        `${bar.winner ? '★ ' : ''}${bar.label} — ${bar.detail}`
      ])
    }
  ]
}

function discoverySections(r: DiscoveryReport): Section[] {
  const out: Section[] = [
    {
      title: 'Where',
      rows: [
        ['DNS servers', `${r.servers.list.join(', ') || '(none)'} (${r.servers.from})`],
        ['Domains', `${r.domains.list.join(', ') || '(none)'} (${r.domains.from})`],
        ['Selection', r.selection === 'rfc2782' ? 'RFC 2782 (priority, then weight)' : 'legacy (uniform random)'],
        ...r.warnings.map((w): [string, string] => ['Warning', w])
      ]
    }
  ]
  for (const d of r.results) {
    out.push({
      title: `${d.qname}: ${d.outcome}${d.used ? ' (used by clients)' : ''}`,
      rows:
        d.records.length === 0
          ? [['', d.message ?? d.outcome]]
          : d.records.map((rec): [string, string] => [
              `#${rec.order}`,
              `${rec.target}:${rec.port} priority ${rec.priority} weight ${rec.weight}, first ${(rec.chanceFirst * 100).toFixed(1)}%, ${rec.addresses.join(', ') || 'no address'}, TTL ${rec.ttl} s`
            ])
    })
  }
  return out
}

function labHostSections(view: LabHostView, counts: LabHostCountsView): Section[] {
  const s = view.status
  const out: Section[] = []
  if (s) {
    const total = Object.values(s.counters.requests).reduce((sum, e) => sum + e.ok + e.refused, 0)
    out.push({
      title: 'Host',
      rows: [
        ['Addresses', s.addresses.map((a) => a.text).join(', ')],
        ['Count mode', s.countMode === 'real' ? 'real (distinct clients per KMS counted ID, 30 days)' : `fixed at ${s.countMode.fixed}`],
        ['HwId', s.identity.hwid],
        ...s.identity.keys.map((k): [string, string] => ['Host key', `${k.name}: ${k.epid}`]),
        ['Requests', `${total} since start`],
        ['Connections', `${s.counters.connections.accepted} accepted, ${s.counters.connections.refused} refused`]
      ]
    })
  }
  out.push({
    title: 'Counts per KMS counted ID',
    rows: counts.groups.map((g): [string, string] => [
      g.name,
      `count ${g.count} of ${g.threshold} → a client would activate: ${g.wouldActivate ? 'yes' : 'no'} (${g.distinctClients} distinct client(s) in the log)`
    ])
  })
  out.push({
    title: 'Recent requests',
    rows: view.recent.map((e): [string, string] => [
      new Date(e.timeMs).toISOString(),
      `${e.clientAddress} ${e.workstationName} ${e.productName ?? e.skuId} v${e.protocolMajor} ${e.outcome === 'ok' ? `count ${e.count}` : `refused: ${e.reason ?? ''}`}`
    ])
  })
  return out
}

function querySections(r: QueryReport): Section[] {
  const rows: Array<[string, string]> = [
    ['Summary', r.summary],
    ['Product', `${r.product.sku.name}, KMS ID ${r.product.kmsCountedId.name}, threshold ${r.product.threshold}`]
  ]
  if (r.answer) {
    rows.push(['Count', `${r.answer.count} of ${r.answer.threshold}`], ['ePID', `${r.answer.epid.value} — ${r.answer.epid.meaning}`])
    if (r.answer.hwid !== null) rows.push(['HwId', r.answer.hwid])
  }
  if (r.error) rows.push(['Error', `${r.error.code}: ${r.error.message}`], ['Fix', r.error.fix])
  rows.push(['RTT', `${r.rtt.totalMs.toFixed(1)} ms`], ['Client ID', r.request.cmid])
  return [{ title: 'Result', rows }]
}

function traceOf(input: ReportInput): readonly TraceEntry[] {
  return input.subject === 'check' || input.subject === 'discovery' ? input.report.trace : []
}

// ---------------------------------------------------------------- text

function textReport(input: ReportInput, now: Date): string {
  const lines = [`KMS Scout — ${TITLES[input.subject]} report`, `Generated   ${now.toISOString()}`, `Verdict     ${verdict(input).text}`]
  for (const section of sections(input)) {
    lines.push('', section.title)
    const width = Math.max(0, ...section.rows.map(([label]) => label.length)) + 2
    for (const [label, value] of section.rows) lines.push(`  ${label.padEnd(width)}${value}`.trimEnd())
  }
  const trace = traceOf(input)
  if (trace.length > 0) lines.push('', 'Trace', ...trace.map((e) => `  ${formatTraceEntry(e)}`))
  // values come from DNS and KMS hosts: inert, as on the terminal
  return `${lines.map((line) => inert(line, 2048)).join('\n')}\n`
}

// ---------------------------------------------------------------- HTML

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!)
}

const BAR_COLOURS: Record<string, string> = { ok: '#16a34a', failed: '#dc2626', cancelled: '#94a3b8', info: '#0284c7' }

/** The waterfall as inline SVG: a label column, then each bar scaled to the run's duration. */
function timelineSvg(timeline: FlowTimeline): string {
  const rowHeight = 22
  const labelWidth = 330
  const barWidth = 560
  const height = timeline.bars.length * rowHeight + 28
  const scale = barWidth / Math.max(timeline.totalMs, 1)
  const x = (ms: number): number => labelWidth + ms * scale
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelWidth + barWidth + 20}" height="${height}" role="img" aria-label="Failover timeline">`
  ]
  for (const at of timeline.staggerStartsMs) {
    parts.push(
      `<line x1="${x(at).toFixed(1)}" x2="${x(at).toFixed(1)}" y1="0" y2="${height - 24}" stroke="#f59e0b" stroke-dasharray="3 3"/>`
    )
  }
  timeline.bars.forEach((bar, i) => {
    const y = i * rowHeight + 4
    const width = Math.max(bar.endMs - bar.startMs, 0) * scale
    parts.push(
      `<text x="0" y="${y + 13}" font-size="12" fill="#334155">${escapeHtml(bar.label.length > 48 ? `${bar.label.slice(0, 47)}…` : bar.label)}</text>`,
      width < 3
        ? `<circle cx="${x(bar.startMs).toFixed(1)}" cy="${y + 9}" r="5" fill="${BAR_COLOURS[bar.outcome]}"><title>${escapeHtml(bar.detail)}</title></circle>`
        : `<rect x="${x(bar.startMs).toFixed(1)}" y="${y + 2}" width="${width.toFixed(1)}" height="14" rx="3" fill="${BAR_COLOURS[bar.outcome]}"${bar.winner ? ' stroke="#0f172a" stroke-width="2"' : ''}><title>${escapeHtml(bar.detail)}</title></rect>`
    )
    if (bar.winner) parts.push(`<text x="${(x(bar.endMs) + 4).toFixed(1)}" y="${y + 13}" font-size="12" fill="#0f172a">★ winner</text>`)
  })
  const axisY = height - 8
  parts.push(
    `<text x="${labelWidth}" y="${axisY}" font-size="11" fill="#64748b">0 ms</text>`,
    `<text x="${labelWidth + barWidth}" y="${axisY}" font-size="11" fill="#64748b" text-anchor="end">${timeline.totalMs.toFixed(1)} ms</text>`,
    '</svg>'
  )
  return parts.join('')
}

const HTML_STYLE = `body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#0f172a;background:#fff;margin:2rem auto;max-width:960px;padding:0 1rem}
h1{font-size:1.35rem}h2{font-size:1.05rem;margin-top:1.6rem;border-bottom:1px solid #cbd5e1}
.verdict{padding:.6rem .8rem;border-radius:8px;font-weight:600}.ok{background:#dcfce7}.warn{background:#fef3c7}.bad{background:#fee2e2}
table{border-collapse:collapse;width:100%}th,td{text-align:left;vertical-align:top;padding:.25rem .5rem;border-bottom:1px solid #e2e8f0}
th{color:#475569;font-weight:500;white-space:nowrap}code,pre{font-family:ui-monospace,'Cascadia Mono','DejaVu Sans Mono',monospace;font-size:12px}
pre{white-space:pre-wrap;word-break:break-word;background:#f8fafc;padding:.6rem;border-radius:6px}svg{max-width:100%;height:auto}`

function htmlReport(input: ReportInput, now: Date): string {
  const v = verdict(input)
  const body: string[] = [
    `<h1>KMS Scout — ${escapeHtml(TITLES[input.subject])} report</h1>`,
    `<p>Generated ${escapeHtml(now.toISOString())}</p>`,
    `<p class="verdict ${v.tone}">${escapeHtml(v.text)}</p>`
  ]
  if (input.subject === 'check') {
    body.push('<h2>Timeline</h2>', timelineSvg(buildTimeline(input.report.trace)))
  }
  for (const section of sections(input)) {
    body.push(`<h2>${escapeHtml(section.title)}</h2>`, '<table>')
    for (const [label, value] of section.rows) body.push(`<tr><th scope="row">${escapeHtml(label)}</th><td>${escapeHtml(value)}</td></tr>`)
    body.push('</table>')
  }
  const trace = traceOf(input)
  if (trace.length > 0) body.push('<h2>Trace</h2>', `<pre>${escapeHtml(trace.map((e) => formatTraceEntry(e)).join('\n'))}</pre>`)
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    // The file is opened from disk by anyone: nothing may run or load, whatever a DNS record or a host sent.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    `<title>KMS Scout — ${escapeHtml(TITLES[input.subject])}</title>`,
    `<style>${HTML_STYLE}</style></head><body>`,
    ...body,
    '</body></html>',
    ''
  ].join('\n')
}

// ---------------------------------------------------------------- the app's handlers

/** What the desktop shell lends the service: a save dialog. Without it (the test bridge), saving is refused. */
export interface ReportShellHooks {
  /** The file the user chose for `fileName`, or null when they cancelled. */
  chooseSavePath?: ((fileName: string, format: ReportFormat) => Promise<string | null>) | undefined
}

export interface ReportMemory {
  check: CheckReport | null
  discovery: DiscoveryReport | null
}

export function createReportHandlers(
  memory: ReportMemory,
  labHost: Pick<HandlerTable, 'labHostStatus' | 'labHostCounts'>,
  hooks: ReportShellHooks
): Pick<HandlerTable, 'renderReport' | 'saveReport'> {
  const inputFor = async (subject: ReportSubject): Promise<ReportInput> => {
    if (subject === 'lab-host') {
      return { subject, report: { view: await labHost.labHostStatus(undefined), counts: await labHost.labHostCounts(undefined) } }
    }
    const report = memory[subject]
    if (report === null)
      throw new ApiFailure('no-report', `there is no ${subject} to report yet`, `run a ${subject} first, then copy or save its report`)
    return subject === 'check' ? { subject, report: memory.check! } : { subject, report: memory.discovery! }
  }
  return {
    renderReport: async (input) => renderReport(await inputFor(input.subject), input.format),
    saveReport: async (input) => {
      const chooser = hooks.chooseSavePath
      if (chooser === undefined)
        throw new ApiFailure('unsupported', 'this window has no save dialog', 'use Copy report, or save from the desktop app')
      const rendered = renderReport(await inputFor(input.subject), input.format)
      const file = await chooser(rendered.fileName, input.format)
      if (file === null) return { cancelled: true }
      try {
        return { file, bytes: await writeReportFile(file, rendered.content) }
      } catch (error) {
        throw new ApiFailure(
          'write-failed',
          `cannot write the report ${file}: ${error instanceof Error ? error.message : String(error)}`,
          'choose a folder you can write to'
        )
      }
    }
  }
}
