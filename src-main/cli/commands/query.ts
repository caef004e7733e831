/**
 * `kms-scout query HOST[:PORT]`: one KMS request to one host, verified, reported against the product's
 * threshold. The client identity is this installation's stable CMID (identity.json in the config folder), so
 * repeated checks count as one client on the host and never inflate its count (PROTOCOL.md §10.3).
 */
import { randomBytes } from 'node:crypto'
import { homedir } from 'node:os'
import { NIL_GUID, productCatalog, type Guid, type Sku } from '../../protocol'
import { buildQueryReport, type CmidSource, type QueryReport } from '../../service/query-report'
import { ClientIdentityStore } from '../../storage/client-identity'
import { configDir, configPaths } from '../../storage/config-dir'
import { createSettingsStore, defaultSettings, type Settings } from '../../storage/settings'
import { isKmsQueryError, queryKmsHost, type KmsQueryError, type KmsQueryResult } from '../../kms-client/kms-client'
import { localWorkstationName } from '../../kms-client/workstation'
import { booleanOption, parseGuidArg, parseHostArg, parseProductArgs, parseProtocolArg, parseTimeoutArg, parseWorkstationArg, stringOption } from '../args'
import type { CliCommand, CommandContext } from '../commands'
import { EXIT, UsageError, type CliIo } from '../io'

const USAGE = 'query HOST[:PORT] [--product NAME | --sku GUID] [--protocol 4|5|6] [--cmid GUID | --new-identity] [--workstation NAME] [--timeout MS] [--json]'

const HELP = `Options:
  HOST[:PORT]          KMS host name or IP address; IPv6 with a port as [2001:db8::10]:1688 (default port 1688)
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
                       (connect 3000, bind 5000, request 5000)
  --json               print the report as one JSON object on stdout (nothing else)

Client identity: every query sends this installation's client machine ID (CMID), created once and stored in
identity.json in the config folder ($KMS_SCOUT_CONFIG_DIR overrides it). Repeated queries count as ONE client
on the host; KMS Scout never sends random CMIDs.

Exit codes: 0 verified answer and count >= threshold (a client would activate), 1 verified answer but count
below the threshold (0xC004F038), 2 no verified answer (not reachable, refused, invalid response),
3 usage or configuration error.`

interface QueryArgs {
  host: string
  port: number
  sku: Sku | undefined
  protocol: number | undefined
  cmid: Guid | undefined
  newIdentity: boolean
  workstation: string | undefined
  timeoutMs: number | undefined
}

function parseQueryArgs(ctx: CommandContext): QueryArgs {
  const { positionals, values } = ctx
  if (positionals.length === 0) throw new UsageError('missing the KMS host to query', 'usage: kms-scout query HOST[:PORT], e.g. kms-scout query kms01.corp.example')
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`, 'query takes one HOST[:PORT]; options start with --')
  const endpoint = parseHostArg(positionals[0]!)
  const sku = parseProductArgs(stringOption(values, 'product'), stringOption(values, 'sku'))
  const protocolText = stringOption(values, 'protocol')
  const cmidText = stringOption(values, 'cmid')
  const newIdentity = booleanOption(values, 'new-identity')
  if (cmidText !== undefined && newIdentity) {
    throw new UsageError('--cmid and --new-identity cannot be combined', '--cmid sends a given CMID once; --new-identity replaces the stored one')
  }
  const cmid = cmidText === undefined ? undefined : parseGuidArg(cmidText, '--cmid')
  if (cmid === NIL_GUID) throw new UsageError('--cmid is the zero GUID, which is not a client identity', 'give a real GUID, or leave --cmid out to use this installation\'s identity')
  const workstationText = stringOption(values, 'workstation')
  const timeoutText = stringOption(values, 'timeout')
  return {
    host: endpoint.host,
    port: endpoint.port,
    sku,
    protocol: protocolText === undefined ? undefined : parseProtocolArg(protocolText),
    cmid,
    newIdentity,
    workstation: workstationText === undefined ? undefined : parseWorkstationArg(workstationText),
    timeoutMs: timeoutText === undefined ? undefined : parseTimeoutArg(timeoutText)
  }
}

async function loadSettings(file: string, io: CliIo): Promise<Settings> {
  try {
    const loaded = await createSettingsStore(file).load()
    for (const w of loaded.warnings) io.stderr(`kms-scout query: warning: ${w.message}\n`)
    return loaded.value
  } catch (error) {
    io.stderr(`kms-scout query: warning: settings not readable (${error instanceof Error ? error.message : String(error)}); using defaults\n`)
    return defaultSettings()
  }
}

async function clientIdentity(args: QueryArgs, file: string, io: CliIo): Promise<{ cmid: Guid; cmidPrev: Guid; source: CmidSource }> {
  if (args.cmid !== undefined) return { cmid: args.cmid, cmidPrev: NIL_GUID, source: 'option' }
  const store = new ClientIdentityStore({
    file,
    random: (n) => randomBytes(n),
    now: () => new Date(),
    onWarning: (w) => io.stderr(`kms-scout query: warning: ${w.message}\n`)
  })
  try {
    const identity = args.newIdentity ? await store.renew() : await store.get()
    if (args.newIdentity) io.stderr(`kms-scout query: created a new client identity ${identity.cmid} (previous ${identity.previousCmid ?? 'none'})\n`)
    return { cmid: identity.cmid, cmidPrev: identity.previousCmid ?? NIL_GUID, source: args.newIdentity ? 'new-installation' : 'installation' }
  } catch (error) {
    throw new UsageError(
      `cannot read or create the client identity ${file}: ${error instanceof Error ? error.message : String(error)}`,
      'make the config folder writable (or set KMS_SCOUT_CONFIG_DIR), or pass --cmid GUID'
    )
  }
}

function resolveSku(args: QueryArgs, settings: Settings, io: CliIo): Sku {
  if (args.sku) return args.sku
  const configured = settings.client.defaultProductSkuId
  if (configured !== null) {
    const sku = productCatalog.skuById(configured)
    if (sku) return sku
    io.stderr(`kms-scout query: warning: the settings' product ${configured} is not a known SKU; using the default product\n`)
  }
  return productCatalog.defaultProduct()
}

export const queryCommand: CliCommand = {
  name: 'query',
  summary: 'ask one KMS host for its count with this installation\'s stable client identity, and verify the answer',
  usage: USAGE,
  help: HELP,
  options: {
    product: { type: 'string' },
    sku: { type: 'string' },
    protocol: { type: 'string' },
    cmid: { type: 'string' },
    'new-identity': { type: 'boolean' },
    workstation: { type: 'string' },
    timeout: { type: 'string' }
  },
  async run(ctx) {
    const { io } = ctx
    // Every argument is checked before anything is read, written or sent.
    const args = parseQueryArgs(ctx)
    const dir = configDir({ platform: process.platform, env: io.env, homedir: homedir() })
    const paths = configPaths(dir)
    const settings = await loadSettings(paths.settings, io)
    const sku = resolveSku(args, settings, io)
    const protocol = args.protocol ?? settings.client.protocolOverride ?? sku.protocolVersion
    const workstationName = args.workstation ?? settings.client.workstationName ?? (await localWorkstationName())
    const identity = await clientIdentity(args, paths.identity, io)
    const t = settings.client.timeouts
    const timeouts =
      args.timeoutMs !== undefined
        ? { resolveMs: args.timeoutMs, connectMs: args.timeoutMs, bindMs: args.timeoutMs, requestMs: args.timeoutMs }
        : { resolveMs: Math.max(t.bindMs, t.requestMs), connectMs: t.connectMs, bindMs: t.bindMs, requestMs: t.requestMs }

    let outcome: { ok: true; result: KmsQueryResult } | { ok: false; error: KmsQueryError }
    try {
      const result = await queryKmsHost({
        host: args.host,
        port: args.port,
        requests: { identity: productCatalog.requestIdentity(sku), protocol, cmid: identity.cmid, cmidPrev: identity.cmidPrev, workstationName },
        timeouts
      })
      outcome = { ok: true, result }
    } catch (error) {
      if (!isKmsQueryError(error)) throw error
      outcome = { ok: false, error }
    }
    const report = buildQueryReport({
      target: { host: args.host, port: args.port },
      sku,
      protocol,
      cmid: identity.cmid,
      cmidSource: identity.source,
      cmidPrev: identity.cmidPrev,
      workstationName,
      outcome
    })

    if (ctx.json) io.stdout(`${JSON.stringify(report, null, 2)}\n`)
    else {
      io.stdout(formatQueryReport(report))
      if (report.error) io.stderr(`kms-scout query: ${report.error.message}\n  fix: ${report.error.fix}\n`)
    }
    return exitCodeOf(report)
  }
}

/** 0 would activate, 1 answered but count below threshold, 2 no verified answer. */
export function exitCodeOf(report: QueryReport): number {
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
  const where = r.target.address !== null && r.target.address !== r.target.host ? `${r.target.endpoint} (${r.target.address})` : r.target.endpoint
  if (r.ok && r.answer) {
    const a = r.answer
    rows.push(['KMS host', `${where} answered — response verified`])
    rows.push(['Count', `${a.count} of threshold ${a.threshold} → a client would activate: ${a.wouldActivate ? 'yes' : `no (${a.windowsCode?.code}: ${a.windowsCode?.meaning})`}`])
    rows.push(['ePID', a.epid.value])
    rows.push(['', a.epid.meaning])
    if (a.hwid !== null) rows.push(['HwId', a.hwid])
    rows.push(['Intervals', `activation ${a.activationInterval.minutes} min (${a.activationInterval.text}), renewal ${a.renewalInterval.minutes} min (${a.renewalInterval.text})`])
  } else {
    rows.push(['KMS host', `${where} — NO verified answer`])
    const e = r.error!
    rows.push(['Error', `${e.code} (${e.phase} phase)${e.windowsCode ? `, Windows: ${e.windowsCode.code}${e.windowsCode.name ? ` ${e.windowsCode.name}` : ''}` : ''}`])
    rows.push(['', e.explanation])
  }
  rows.push(['Product', `${r.product.sku.name} (${r.product.sku.id}), KMS ID ${r.product.kmsCountedId.name}, threshold ${r.product.threshold}`])
  const rpc = r.rpc ? `, ${r.request.transferSyntax?.toUpperCase() ?? '?'} ctx ${r.request.contextId}${r.rpc.alterContext ? ' (after alter_context)' : ''}` : ''
  rows.push(['Protocol', `v${r.answer?.protocol ?? r.request.protocol}${rpc}`])
  rows.push(['RTT', `connect ${ms(r.rtt.connectMs)}, bind ${ms(r.rtt.bindMs)}, request ${ms(r.rtt.requestMs)}, total ${ms(r.rtt.totalMs)}${r.rtt.resolveMs !== null ? ` (DNS ${ms(r.rtt.resolveMs)})` : ''}${r.reconnects > 0 ? `; the host closed between requests, reconnected ${r.reconnects}×` : ''}`])
  const v = r.verification
  if (v.checks.length > 0) {
    const warn = v.checks.filter((c) => c.status === 'warn').length
    const pass = v.checks.filter((c) => c.status === 'pass').length
    rows.push(['Verification', v.verified ? `${pass} checks passed${warn ? `, ${warn} warning(s)` : ''}` : `FAILED: ${v.failed?.check} — ${v.failed?.reason}`])
  }
  rows.push(['Client', `CMID ${r.request.cmid} (${SOURCE_TEXT[r.request.cmidSource]}), workstation ${r.request.workstationName}`])
  r.warnings.forEach((w, i) => rows.push([i === 0 ? 'Warnings' : '', w]))
  const width = Math.max(...rows.map(([label]) => label.length)) + 2
  return rows.map(([label, value]) => `${label.padEnd(width)}${value}`).join('\n') + '\n'
}
