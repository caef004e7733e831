/**
 * `kms-scout check`: the whole Windows client flow (manual host → cached host → DNS discovery with RFC 2782
 * selection and fast failover), judged like a monitoring plugin: one status line with perfdata first (Nagios /
 * Icinga / Checkmk read it), details after, exit 0 OK / 1 WARNING / 2 CRITICAL / 3 UNKNOWN.
 *
 * Settings (settings.json in the config folder, $KMS_SCOUT_CONFIG_DIR) give the defaults; flags override them.
 * The client identity is this installation's stable CMID, as for `query`.
 */
import { randomBytes } from 'node:crypto'
import { homedir } from 'node:os'
import { DiscoveryConfigError, checkDnsServer, checkLookupDomain } from '../../discovery/domains'
import { checkOptionsFrom, type RunOverrides } from '../../discovery/options-from-settings'
import { runCheck, type CheckOptions, type CheckReport } from '../../discovery/run-check'
import { formatTraceEntry, type TraceEntry } from '../../discovery/trace'
import { ClientIdentityStore } from '../../storage/client-identity'
import { configDir, configPaths, type ConfigPaths } from '../../storage/config-dir'
import { HostCache } from '../../storage/host-cache'
import { createSettingsStore, defaultSettings, type Settings } from '../../storage/settings'
import { localWorkstationName } from '../../kms-client/workstation'
import { booleanOption, parseHostArg, parseProductArgs, parseProtocolArg, parseTimeoutArg, parseWorkstationArg, stringOption } from '../args'
import type { CliCommand, CommandContext } from '../commands'
import { UsageError, type CliIo } from '../io'

const USAGE =
  'check [--host H[:P]] [--domain D]... [--dns-server IP[:PORT]] [--no-cache] [--sequential] [--stagger MS] [--legacy-selection] [--product NAME | --sku GUID] [--protocol 4|5|6] [--timeout MS] [--workstation NAME] [--json] [--verbose]'

const HELP = `Options:
  --host H[:P]           use this KMS host only, like slmgr /skms (no cache, no DNS discovery); default port 1688
  --domain D             search _vlmcs._tcp.D instead of this machine's DNS suffixes, like slmgr /skms-domain;
                         repeat for several domains (searched in order, the first with records is used)
  --dns-server IP[:PORT] ask this DNS server instead of the system's (never a public resolver)
  --no-cache             do not use or update the cached host, like slmgr /ckhc (discover every time)
  --sequential           try one host at a time, waiting out each failure (what Windows does)
  --stagger MS           fast failover: start the next host after MS milliseconds while earlier ones are still
                         trying (default from settings, 250)
  --legacy-selection     ignore SRV priority and weight (pre-Windows 7 clients pick hosts at random)
  --product NAME         product to claim (exact name, unique part, or SKU GUID); default: settings, else
                         Windows 10 Professional (threshold 25)
  --sku GUID             product by SKU (activation) ID
  --protocol 4|5|6       KMS protocol version (default: the product's)
  --timeout MS           time limit per phase and host (connect, bind, request); default from settings
  --workstation NAME     WorkstationName sent (default: settings, else this computer's name)
  --json                 print the report (with the full trace) as one JSON object on stdout
  --verbose              print every step: domains, DNS queries and answers, draws, attempts, cache

Output: the first line is the status with perfdata, e.g.
  KMS OK - kms01.corp.example:1688 count=50/25 ePID=03612-00206-... rtt=12ms | count=50;;;0 rtt=12ms

Exit codes (monitoring-plugin convention): 0 OK — a host answered and its count meets the product's
threshold; 1 WARNING — a host answered but its count is below the threshold (clients get 0xC004F038);
2 CRITICAL — no KMS host found or none gave a verified answer (0x8007232B, 0x8007251D, 0xC004F074, …);
3 UNKNOWN — usage or configuration error (including no DNS server or domain on this machine).`

export interface CliFiles {
  readonly paths: ConfigPaths
  readonly settings: Settings
}

/** Config folder and settings for a command; problems with the settings file become warnings. */
export async function loadCliFiles(io: CliIo, command: string): Promise<CliFiles> {
  const paths = configPaths(configDir({ platform: process.platform, env: io.env, homedir: homedir() }))
  try {
    const loaded = await createSettingsStore(paths.settings).load()
    for (const w of loaded.warnings) io.stderr(`kms-scout ${command}: warning: ${w.message}\n`)
    return { paths, settings: loaded.value }
  } catch (error) {
    io.stderr(`kms-scout ${command}: warning: settings not readable (${error instanceof Error ? error.message : String(error)}); using defaults\n`)
    return { paths, settings: defaultSettings() }
  }
}

/** `--domain` values (repeatable), validated. */
export function domainArgs(values: CommandContext['values']): string[] | undefined {
  const raw = values.domain
  const list = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).filter((v): v is string => typeof v === 'string')
  if (list.length === 0) return undefined
  return list.map((d) => asUsage(() => checkLookupDomain(d, '--domain')))
}

export function dnsServerArg(values: CommandContext['values']): string | undefined {
  const text = stringOption(values, 'dns-server')
  return text === undefined ? undefined : asUsage(() => checkDnsServer(text, '--dns-server'))
}

/** Runs `work`, turning a DiscoveryConfigError into the CLI's UsageError (exit 3). */
export function asUsage<T>(work: () => T): T {
  try {
    return work()
  } catch (error) {
    if (error instanceof DiscoveryConfigError) throw new UsageError(error.message, error.hint)
    throw error
  }
}

function staggerArg(text: string): number {
  const ms = /^[0-9]+$/.test(text.trim()) ? Number(text.trim()) : NaN
  if (!Number.isInteger(ms) || ms > 10_000) throw new UsageError(`--stagger '${text}' is not a time in milliseconds between 0 and 10000`, 'e.g. --stagger 250 (or --sequential to try one host at a time)')
  return ms
}

async function buildOptions(ctx: CommandContext, settings: Settings): Promise<CheckOptions> {
  const { values, positionals } = ctx
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, 'give a host with --host H[:P]; options start with --')
  const c = settings.client
  const hostText = stringOption(values, 'host')
  const host = hostText === undefined ? undefined : parseHostArg(hostText)
  const domains = domainArgs(values)
  const dnsServer = dnsServerArg(values)
  const sku = parseProductArgs(stringOption(values, 'product'), stringOption(values, 'sku'))
  const protocolText = stringOption(values, 'protocol')
  const timeoutText = stringOption(values, 'timeout')
  const staggerText = stringOption(values, 'stagger')
  const workstationText = stringOption(values, 'workstation')
  if (booleanOption(values, 'sequential') && staggerText !== undefined) throw new UsageError('--sequential and --stagger cannot be combined', 'sequential mode has no stagger; leave one of them out')
  const settingsDnsServer = c.dnsServer === null ? undefined : asUsage(() => checkDnsServer(c.dnsServer!, 'settings dnsServer'))
  const overrides: RunOverrides = {
    ...(host ? { host: { host: host.host, port: host.port } } : {}),
    ...(domains ? { domains } : {}),
    ...((dnsServer ?? settingsDnsServer) !== undefined ? { dnsServer: (dnsServer ?? settingsDnsServer)! } : {}),
    ...(sku ? { productSkuId: sku.guid } : {}),
    ...(protocolText !== undefined ? { protocol: parseProtocolArg(protocolText) } : {}),
    noCache: booleanOption(values, 'no-cache'),
    sequential: booleanOption(values, 'sequential'),
    ...(staggerText !== undefined ? { staggerMs: staggerArg(staggerText) } : {}),
    legacySelection: booleanOption(values, 'legacy-selection'),
    ...(timeoutText !== undefined ? { timeoutMs: parseTimeoutArg(timeoutText) } : {}),
    ...(workstationText !== undefined ? { workstationName: parseWorkstationArg(workstationText) } : {})
  }
  return checkOptionsFrom(c, overrides, c.workstationName ?? (await localWorkstationName()))
}

async function installationIdentity(paths: ConfigPaths, io: CliIo): Promise<{ cmid: string; previousCmid: string | null }> {
  const store = new ClientIdentityStore({
    file: paths.identity,
    random: (n) => randomBytes(n),
    now: () => new Date(),
    onWarning: (w) => io.stderr(`kms-scout check: warning: ${w.message}\n`)
  })
  try {
    const identity = await store.get()
    return { cmid: identity.cmid, previousCmid: identity.previousCmid }
  } catch (error) {
    throw new UsageError(`cannot read or create the client identity ${paths.identity}: ${error instanceof Error ? error.message : String(error)}`, 'make the config folder writable (or set KMS_SCOUT_CONFIG_DIR)')
  }
}

export const checkCommand: CliCommand = {
  name: 'check',
  summary: 'find a KMS host the way a Windows client does (manual → cached → DNS) and check it like a monitoring plugin',
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
    workstation: { type: 'string' },
    verbose: { type: 'boolean', short: 'v' }
  },
  async run(ctx) {
    const { io } = ctx
    const verbose = booleanOption(ctx.values, 'verbose')
    let report: CheckReport
    try {
      const files = await loadCliFiles(io, 'check')
      const options = await buildOptions(ctx, files.settings)
      if (options.manualHost && ctx.values.domain !== undefined) {
        // slmgr prints the same warning when /skms and /skms-domain are both set.
        io.stderr(`kms-scout check: warning: the manual host ${options.manualHost.host}:${options.manualHost.port} overrides --domain; DNS discovery is not used\n`)
      }
      const identity = await installationIdentity(files.paths, io)
      const hostCache = new HostCache({ file: files.paths.hostCache, now: () => new Date(), onWarning: (w) => io.stderr(`kms-scout check: warning: ${w.message}\n`) })
      // With --json the trace goes live to stderr (stdout holds only the JSON); otherwise after the status line.
      const onTrace = verbose && ctx.json ? (entry: TraceEntry) => io.stderr(`${formatTraceEntry(entry)}\n`) : undefined
      report = await asUsageAsync(() => runCheck(options, { identity, hostCache, ...(onTrace ? { onTrace } : {}) }))
    } catch (error) {
      if (error instanceof UsageError && !ctx.json) {
        // A monitoring system reads stdout: give it an UNKNOWN status line too.
        io.stdout(`KMS UNKNOWN - ${error.message}\n`)
      }
      throw error
    }
    if (ctx.json) {
      io.stdout(`${JSON.stringify({ ok: report.status === 'ok', ...report }, null, 2)}\n`)
      return report.exitCode
    }
    io.stdout(formatCheckReport(report))
    if (verbose) io.stdout(`\nTrace:\n${report.trace.map(formatTraceEntry).join('\n')}\n`)
    return report.exitCode
  }
}

/** Async form of {@link asUsage}. */
export async function asUsageAsync<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    if (error instanceof DiscoveryConfigError) throw new UsageError(error.message, error.hint)
    throw error
  }
}

/** Status line (with perfdata), then aligned detail lines. */
export function formatCheckReport(r: CheckReport): string {
  const lines = [r.perfdata ? `${r.statusLine} | ${r.perfdata}` : r.statusLine]
  const rows: Array<[string, string]> = []
  rows.push(['Product', `${r.product.name} (${r.product.application}), threshold ${r.product.threshold}, protocol v${r.product.protocol}`])
  if (r.host && r.answer) {
    const a = r.answer
    const where = r.host.address !== undefined && r.host.address !== r.host.host ? `${r.host.host}:${r.host.port} (${r.host.address})` : `${r.host.host}:${r.host.port}`
    rows.push(['KMS host', `${where}, found via ${SOURCE_TEXT[r.host.source]}`])
    rows.push(['Count', `${a.count} of ${a.threshold} → a client would activate: ${r.wouldActivate ? 'yes' : `no (${r.windows?.code} ${r.windows?.summary})`}`])
    rows.push(['ePID', a.epid])
    if (a.hwid !== undefined) rows.push(['HwId', a.hwid])
    rows.push(['Intervals', `activation ${a.activationIntervalMin} min, renewal ${a.renewalIntervalMin} min`])
    rows.push(['RTT', `${formatMs(a.rttMs)} ms (protocol ${a.protocol})`])
  }
  if (r.error) {
    rows.push(['Error', `${r.error.windows.code} ${r.error.windows.summary}`])
    rows.push(['Meaning', r.error.windows.meaning])
    rows.push(['Fix', r.error.windows.fix])
    if (r.error.inner) rows.push(['Host error', `${r.error.inner.code} ${r.error.inner.summary} — ${r.error.inner.fix}`])
  } else if (r.windows) {
    rows.push(['Fix', r.windows.fix])
  }
  const tried = r.flow.attempts.filter((a) => a.outcome !== 'verified')
  tried.forEach((a, i) =>
    rows.push([i === 0 ? 'Attempts' : '', `${a.host}:${a.port}${a.address !== undefined && a.address !== a.host ? ` (${a.address})` : ''} [${a.source}] ${a.outcome}${a.code ? ` ${a.code}` : ''}${a.windowsCode ? ` ${a.windowsCode}` : ''} after ${a.durationMs} ms`])
  )
  const d = r.flow.discovery
  if (d.ran) rows.push(['DNS', `${d.domains?.list.join(', ') || '(no domain)'} via ${d.servers?.list.join(', ') || '(no server)'}${d.usedDomain ? `; used ${d.usedDomain}` : ''}`])
  rows.push(['Host cache', cacheText(r)])
  rows.push(['Client', `CMID ${r.cmid}`])
  const width = Math.max(...rows.map(([label]) => label.length)) + 2
  lines.push(...rows.map(([label, value]) => `${label.padEnd(width)}${value}`))
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

function formatMs(ms: number): string {
  return ms >= 10 ? String(Math.round(ms)) : String(Math.round(ms * 10) / 10)
}
