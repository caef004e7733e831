/**
 * `kms-scout serve`: runs the lab KMS host in the foreground until Ctrl-C / SIGTERM, then stops gracefully.
 * Defaults come from the settings file's `labHost` section in the config directory; flags override them.
 * Log lines (human, or JSON lines with --json-log) go to stdout — to stderr with --json, which keeps stdout for the
 * one JSON summary printed at the end.
 */
import { randomBytes } from 'node:crypto'
import os from 'node:os'
import path from 'node:path'
import { productCatalog } from '../../protocol/index'
import { ClientLogBusyError, ClientLogFormatError } from '../../storage/client-log'
import { configDir, configPaths } from '../../storage/config-dir'
import { createSettingsStore } from '../../storage/settings'
import { LabHost, LabHostListenError } from '../../lab-host/lab-host'
import { INTERVAL_RANGE_MIN as INTERVAL_RANGE } from '../../common/defaults'
import { MAX_WORKERS } from '../../lab-host/workers'
import { labHostConfigFromSettings, parseListenAddress, type ListenAddress } from '../../lab-host/config'
import type { LabHostCountMode } from '../../lab-host/count'
import { epidProblem, loadLabHostIdentity, type IdentityOverrides } from '../../lab-host/identity'
import { attachLabHostLogger } from '../../lab-host/log'
import type { CliCommand, CommandContext } from '../commands'
import { EXIT, UsageError } from '../io'

const NOTICE = [
  'KMS Scout lab host: a test fixture for labs, training and development — never a way to activate unlicensed software.',
  'Windows refuses activation from a KMS host on the same machine (0x8007000D); point other lab machines (or kms-scout query) at it.'
]

function strings(value: unknown): string[] {
  if (value === undefined) return []
  return (Array.isArray(value) ? value : [value]).map(String)
}

function single(values: CommandContext['values'], name: string): string | undefined {
  const v = values[name]
  if (v === undefined) return undefined
  // parseArgs keeps the last occurrence of a non-multiple option
  return String(Array.isArray(v) ? v[v.length - 1] : v)
}

function integer(text: string, flag: string, min: number, max: number, unit: string): number {
  const n = /^[0-9]+$/.test(text.trim()) ? Number(text.trim()) : NaN
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${flag} '${text}' is not a whole number of ${unit} from ${min} to ${max}`, `e.g. --${flag} ${Math.min(max, Math.max(min, flag === 'timeout' ? 30 : flag === 'max-connections' ? 256 : flag === 'workers' ? 1 : 120))}`)
  }
  return n
}

function parseCount(text: string): LabHostCountMode {
  if (text.trim().toLowerCase() === 'real') return 'real'
  const n = /^[0-9]+$/.test(text.trim()) ? Number(text.trim()) : NaN
  if (!Number.isSafeInteger(n) || n > 0xffff_ffff) {
    throw new UsageError(`--count '${text}' is neither 'real' nor a client count`, `use --count real (distinct clients, like a real host) or a fixed number such as --count 3`)
  }
  return { fixed: n }
}

function parseEpidFlags(values: string[]): Pick<IdentityOverrides, 'epids' | 'allEpids'> {
  const groups = productCatalog.csvlkGroups.map((g) => g.iniName)
  const epids: Record<string, string> = {}
  let allEpids: string | undefined
  for (const v of values) {
    const eq = v.indexOf('=')
    const group = eq > 0 ? v.slice(0, eq) : undefined
    const epid = (eq > 0 ? v.slice(eq + 1) : v).trim()
    const problem = epidProblem(epid)
    if (problem) throw new UsageError(`--epid '${v}': ${problem}`, 'an ePID looks like 03612-00206-567-887631-03-1033-17763.0000-2972018 (optionally GROUP=EPID)')
    if (group === undefined) {
      allEpids = epid
      continue
    }
    const known = groups.find((g) => g.toLowerCase() === group.toLowerCase())
    if (!known) throw new UsageError(`--epid: unknown CSVLK group '${group}'`, `groups: ${groups.join(', ')}`)
    epids[known] = epid
  }
  return { epids, allEpids }
}

function parseListen(values: string[]): ListenAddress[] {
  return values.map((v) => {
    const parsed = parseListenAddress(v)
    if (typeof parsed === 'string') throw new UsageError(`--listen: ${parsed}`, 'write IP:PORT, e.g. --listen 127.0.0.1:1688 or --listen [::1]:1688 (port 0 = any free port)')
    return parsed
  })
}

export const serveCommand: CliCommand = {
  name: 'serve',
  summary: 'run the lab KMS host (test fixture; loopback only unless told otherwise)',
  usage:
    'serve [--listen ADDR:PORT]... [--db PATH] [--count real|N] [--epid EPID]... [--hwid HEX] [--activation-interval MIN] [--renewal-interval MIN] [--max-connections N] [--timeout S] [--workers N|auto] [--json-log]',
  help: [
    'Options (defaults from the labHost section of settings.json in the config directory):',
    '  --listen ADDR:PORT        address to listen on; repeat for several (default 127.0.0.1:1688; [::1]:1688 for IPv6;',
    '                            port 0 = any free port). Non-loopback addresses are reachable by other machines: a warning is logged.',
    '  --db PATH                 client log (SQLite); default client-log.sqlite in the config directory',
    "  --count real|N            'real' (default): distinct clients per KMS counted ID in 30 days, capped at 2 × N_Policy;",
    '                            N: always answer N (e.g. 3 makes Windows clients report 0xC004F038)',
    '  --epid EPID | GROUP=EPID  ePID for every CSVLK group, or for one (Windows, Office2010, Office2013, …); repeatable',
    '  --hwid HEX                HwId for v6 responses, 16 hex digits',
    '  --activation-interval MIN VLActivationInterval, 15–43200 (default 120)',
    '  --renewal-interval MIN    VLRenewalInterval, 15–43200 (default 10080)',
    '  --max-connections N       concurrent connections; more are refused at once (default 256)',
    '  --timeout S               deadline per exchange and for idle connections, seconds (default 30)',
    '  --workers N|auto          serve with N worker processes besides the main one, to use more cores (default 0;',
    '                            auto = one per further core). The count and the client log stay in the main process.',
    '  --json-log                one JSON object per log line',
    '',
    'Stops gracefully on Ctrl-C or SIGTERM: exchanges in progress finish first.'
  ].join('\n'),
  options: {
    listen: { type: 'string', multiple: true },
    db: { type: 'string' },
    count: { type: 'string' },
    epid: { type: 'string', multiple: true },
    hwid: { type: 'string' },
    'activation-interval': { type: 'string' },
    'renewal-interval': { type: 'string' },
    'max-connections': { type: 'string' },
    timeout: { type: 'string' },
    workers: { type: 'string' },
    'json-log': { type: 'boolean' }
  },
  async run({ values, positionals, json, io }) {
    if (positionals.length > 0) throw new UsageError(`serve takes no arguments, got '${positionals.join(' ')}'`, "run 'kms-scout serve --help' for the options")

    // Flags first: a typo is reported before any file is touched.
    const listen = values.listen === undefined ? undefined : parseListen(strings(values.listen))
    const db = single(values, 'db')
    const countText = single(values, 'count')
    const countMode = countText === undefined ? undefined : parseCount(countText)
    const epidFlags = parseEpidFlags(strings(values.epid))
    const hwid = single(values, 'hwid')
    if (hwid !== undefined && !/^[0-9A-Fa-f]{16}$/.test(hwid.trim())) {
      throw new UsageError(`--hwid '${hwid}' is not 16 hex digits`, 'e.g. --hwid 3A1C049600B60076 (8 bytes as sent on the wire)')
    }
    const flag = (name: string, min: number, max: number, unit: string): number | undefined => {
      const text = single(values, name)
      return text === undefined ? undefined : integer(text, name, min, max, unit)
    }
    const activationInterval = flag('activation-interval', INTERVAL_RANGE.min, INTERVAL_RANGE.max, 'minutes')
    const renewalInterval = flag('renewal-interval', INTERVAL_RANGE.min, INTERVAL_RANGE.max, 'minutes')
    const maxConnections = flag('max-connections', 1, 65_535, 'connections')
    const timeoutS = flag('timeout', 1, 3600, 'seconds')
    const workersText = single(values, 'workers')
    // 'auto': one process per core, the main one included
    const workers = workersText?.trim().toLowerCase() === 'auto' ? Math.min(MAX_WORKERS, Math.max(0, os.availableParallelism() - 1)) : (flag('workers', 0, MAX_WORKERS, 'processes') ?? 0)
    if (workers > 0 && io.labHostWorker === undefined) {
      throw new UsageError('--workers needs the built CLI (the worker program lab-host-worker.js comes with it)', 'run `npm run build` and start the CLI with bin/kms-scout.js, or leave out --workers')
    }
    const jsonLog = values['json-log'] === true

    const dir = configDir({ platform: process.platform, env: io.env, homedir: os.homedir() })
    const settingsFile = configPaths(dir).settings
    const loaded = await createSettingsStore(settingsFile).load()
    for (const w of loaded.warnings) io.stderr(`kms-scout serve: ${w.message}\n`)
    let config
    try {
      config = labHostConfigFromSettings(loaded.value.labHost, dir)
    } catch (err) {
      throw new UsageError(`${settingsFile}: ${err instanceof Error ? err.message : String(err)}`, 'fix labHost in the settings file, or give --listen')
    }

    const overrides: IdentityOverrides = {
      // a CLI ePID for every group beats per-group ePIDs from the settings; CLI per-group ones beat both
      epids: { ...(epidFlags.allEpids === undefined ? config.identityOverrides.epids : {}), ...epidFlags.epids },
      allEpids: epidFlags.allEpids,
      hwid: hwid?.trim() ?? config.identityOverrides.hwid
    }
    let identity
    try {
      const loadedIdentity = await loadLabHostIdentity({ file: config.identityFile, random: (n) => randomBytes(n), now: () => new Date(), overrides })
      for (const w of loadedIdentity.warnings) io.stderr(`kms-scout serve: ${w}\n`)
      identity = loadedIdentity.identity
    } catch (err) {
      if (err instanceof RangeError) throw new UsageError(err.message, 'fix labHost.epids / labHost.hwid in the settings file or the --epid / --hwid flags')
      throw err
    }

    const host = new LabHost({
      listen: listen ?? config.listen,
      dbPath: db === undefined ? config.dbPath : path.resolve(db),
      retentionDays: config.retentionDays,
      identity,
      countMode: countMode ?? config.countMode,
      activationInterval: activationInterval ?? config.activationInterval,
      renewalInterval: renewalInterval ?? config.renewalInterval,
      maxConnections: maxConnections ?? config.maxConnections,
      exchangeTimeoutMs: timeoutS === undefined ? config.exchangeTimeoutMs : timeoutS * 1000,
      maxPduBytes: config.maxPduBytes,
      workers: workers > 0 ? { count: workers, script: io.labHostWorker!.script, execArgv: io.labHostWorker!.execArgv } : undefined
    })
    const out = json ? io.stderr : io.stdout
    const jsonLines = jsonLog || config.jsonLog
    const detach = attachLabHostLogger(host, { write: out, json: jsonLines })
    for (const line of NOTICE) out(jsonLines ? `${JSON.stringify({ time: new Date().toISOString(), event: 'notice', message: line })}\n` : `${line}\n`)

    let addresses
    try {
      addresses = await host.start()
    } catch (err) {
      detach()
      if (err instanceof LabHostListenError) {
        const hint =
          err.code === 'EADDRINUSE'
            ? 'another KMS host (or kms-scout serve) already listens there; stop it or choose another port with --listen'
            : err.code === 'EACCES'
              ? 'this user may not listen on that port; use a port above 1023 with --listen'
              : err.code === 'EADDRNOTAVAIL'
                ? 'that address is not on this machine; list one of its own addresses with --listen'
                : 'check the --listen addresses'
        throw new UsageError(err.message, hint)
      }
      if (err instanceof ClientLogBusyError) throw new UsageError(err.message, 'another host uses this client log; stop it, or give this one its own with --db')
      if (err instanceof ClientLogFormatError) throw new UsageError(err.message, 'give the lab host its own file with --db')
      throw err
    }
    const s = host.status()
    const mode = s.countMode === 'real' ? 'real (distinct clients per KMS counted ID in 30 days, capped at 2 × N_Policy)' : `fixed ${s.countMode.fixed}`
    if (!jsonLines) {
      out(`count: ${mode}; client log: ${s.clientLog.file}\n`)
      if (s.workers.length > 0) out(`worker processes: ${s.workers.length} (pid ${s.workers.map((w) => w.pid).join(', ')}), sharing the listening sockets\n`)
      out('Press Ctrl-C to stop.\n')
    }

    const signal = await io.waitForInterrupt()
    if (!jsonLines) out(`${signal}: stopping; exchanges in progress may finish (Ctrl-C again quits at once)…\n`)
    await host.stop()
    detach()
    const final = host.status().counters
    if (json) io.stdout(`${JSON.stringify({ ok: true, addresses: addresses.map((a) => a.text), counters: final })}\n`)
    return EXIT.ok
  }
}
