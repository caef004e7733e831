/**
 * `kms-scout serve`: runs the lab KMS host in the foreground until Ctrl-C / SIGTERM, then stops gracefully.
 * Defaults come from the settings file's `labHost` section in the config directory; flags override them.
 * Log lines (human, or JSON lines with --json-log) go to stdout — to stderr with --json, which keeps stdout for the
 * one JSON summary printed at the end.
 */
import os from 'node:os'
import { openAppContext } from '../../service/app-context'
import {
  DEFAULT_ACTIVATION_INTERVAL_MIN,
  DEFAULT_RENEWAL_INTERVAL_MIN,
  INTERVAL_RANGE_MIN,
  LAB_HOST_DEFAULTS,
  LAB_HOST_RANGES,
  parseListenAddress,
  parseWholeNumber
} from '../../service/inputs'
import {
  createConfiguredLabHost,
  logLabHost,
  MAX_WORKERS,
  parseCountMode,
  parseEpidOverrides,
  parseHwid,
  startLabHost,
  checkLabHostPublishing,
  publishLabHostRecords,
  unpublishLabHostRecords
} from '../../service/lab-host-service'
import { describeUpdate, type SrvUpdateResult } from '../../service/dns-publish-service'
import { inert } from '../../service/presentation'
import { SERVE_PUBLISH_HELP, SERVE_PUBLISH_OPTIONS, servePublishing } from './publish'
import { booleanOption, optional, stringOptions } from '../args'
import type { CliCommand } from '../commands'
import { EXIT, UsageError } from '../io'

const NOTICE = [
  'KMS Scout lab host: a test fixture for labs, training and development — never a way to activate unlicensed software.',
  'Windows refuses activation from a KMS host on the same machine (0x8007000D); point other lab machines (or kms-scout query) at it.'
]

const R = LAB_HOST_RANGES
const D = LAB_HOST_DEFAULTS

export const serveCommand: CliCommand = {
  name: 'serve',
  usage:
    'serve [--listen ADDR:PORT]... [--db PATH] [--count real|N] [--epid EPID]... [--csvlk NAME]... [--hwid HEX] [--activation-interval MIN] [--renewal-interval MIN] [--max-connections N] [--max-per-address N] [--max-rate N] [--max-log-mb N] [--timeout S] [--workers N|auto] [--json-log] [--publish DOMAIN... --publish-server IP[:PORT] [--publish-name NAME] [--priority N] [--weight N] [--ttl S] [--tsig-key FILE]]',
  help: [
    'Options (defaults from the labHost section of settings.json in the config directory):',
    `  --listen ADDR:PORT        address to listen on; repeat for several (default ${D.listen}; [::1]:1688 for IPv6;`,
    '                            port 0 = any free port). Non-loopback addresses are reachable by other machines: a warning is logged.',
    '  --db PATH                 client log (SQLite); default client-log.sqlite in the config directory',
    "  --count real|N            'real' (default): distinct clients per KMS counted ID in 30 days, capped at 2 × N_Policy;",
    '                            N: always answer N (e.g. 3 makes Windows clients report 0xC004F038)',
    '  --epid EPID | KEY=EPID    ePID for every held host key, or for one by its ini name (Windows, Office2010, Office2024, …); repeatable',
    '  --csvlk NAME|ID           host key (CSVLK) to hold instead of the newest of its application; repeatable',
    '                            (default: Windows Server 2025, Office LTSC 2024, Office 2010 VL). Products the key does',
    '                            not serve are refused with 0xC004F042, like a real host; see kms-scout products --json',
    '  --hwid HEX                HwId for v6 responses, 16 hex digits',
    `  --activation-interval MIN VLActivationInterval, ${INTERVAL_RANGE_MIN.min}–${INTERVAL_RANGE_MIN.max} (default ${DEFAULT_ACTIVATION_INTERVAL_MIN})`,
    `  --renewal-interval MIN    VLRenewalInterval, ${INTERVAL_RANGE_MIN.min}–${INTERVAL_RANGE_MIN.max} (default ${DEFAULT_RENEWAL_INTERVAL_MIN})`,
    `  --max-connections N       concurrent connections; more are refused at once (default ${D.maxConnections})`,
    `  --max-per-address N       connections one client address may hold (default ${D.maxConnectionsPerAddress})`,
    `  --max-rate N              KMS requests per second one address may send, bursts of 2 × N (default ${D.maxRequestsPerSecondPerAddress}; 0 = no limit)`,
    `  --max-log-mb N            size cap of the client log in MiB; the oldest records go past it (default ${D.maxLogMiB})`,
    `  --timeout S               deadline per exchange and for idle connections, seconds (default ${D.exchangeTimeoutS})`,
    '  --workers N|auto          serve with N worker processes besides the main one, to use more cores (default 0;',
    '                            auto = one per further core). The count and the client log stay in the main process.',
    '  --json-log                one JSON object per log line',
    ...SERVE_PUBLISH_HELP,
    '',
    'Stops gracefully on Ctrl-C or SIGTERM: exchanges in progress finish first.'
  ].join('\n'),
  options: {
    listen: { type: 'string', multiple: true },
    db: { type: 'string' },
    count: { type: 'string' },
    epid: { type: 'string', multiple: true },
    csvlk: { type: 'string', multiple: true },
    hwid: { type: 'string' },
    'activation-interval': { type: 'string' },
    'renewal-interval': { type: 'string' },
    'max-connections': { type: 'string' },
    'max-per-address': { type: 'string' },
    'max-rate': { type: 'string' },
    'max-log-mb': { type: 'string' },
    timeout: { type: 'string' },
    workers: { type: 'string' },
    'json-log': { type: 'boolean' },
    ...SERVE_PUBLISH_OPTIONS
  },
  async run({ values, positionals, json, io }) {
    if (positionals.length > 0)
      throw new UsageError(`serve takes no arguments, got '${positionals.join(' ')}'`, "run 'kms-scout serve --help' for the options")

    // Flags first: a typo is reported before any file is touched.
    const listenTexts = stringOptions(values, 'listen')
    const listen = listenTexts.length === 0 ? undefined : listenTexts.map((text) => parseListenAddress(text, '--listen'))
    const whole = (name: string, range: { min: number; max: number }, unit: string, example: number): number | undefined =>
      optional(values, name, (text, label) => parseWholeNumber(text, label, range, unit, example))
    const workersText = optional(values, 'workers', (text) => text.trim().toLowerCase())
    // 'auto': one process per core, the main one included
    const workers =
      workersText === 'auto'
        ? Math.min(MAX_WORKERS, Math.max(0, os.availableParallelism() - 1))
        : (whole('workers', { min: 0, max: MAX_WORKERS }, 'processes', 1) ?? 0)
    const overrides = {
      listen,
      dbPath: optional(values, 'db', (text) => text),
      countMode: optional(values, 'count', parseCountMode),
      ...parseEpidOverrides(stringOptions(values, 'epid'), '--epid'),
      ...(stringOptions(values, 'csvlk').length > 0 ? { csvlks: stringOptions(values, 'csvlk') } : {}),
      hwid: optional(values, 'hwid', parseHwid),
      activationInterval: whole('activation-interval', INTERVAL_RANGE_MIN, 'minutes', DEFAULT_ACTIVATION_INTERVAL_MIN),
      renewalInterval: whole('renewal-interval', INTERVAL_RANGE_MIN, 'minutes', DEFAULT_RENEWAL_INTERVAL_MIN),
      maxConnections: whole('max-connections', R.maxConnections, 'connections', D.maxConnections),
      maxConnectionsPerAddress: whole('max-per-address', R.maxConnectionsPerAddress, 'connections', D.maxConnectionsPerAddress),
      maxRequestsPerSecondPerAddress: whole(
        'max-rate',
        R.maxRequestsPerSecondPerAddress,
        'requests per second',
        D.maxRequestsPerSecondPerAddress
      ),
      maxLogMiB: whole('max-log-mb', R.maxLogMiB, 'MiB', D.maxLogMiB),
      exchangeTimeoutS: whole('timeout', R.exchangeTimeoutS, 'seconds', D.exchangeTimeoutS)
    }
    if (workers > 0 && io.labHostWorker === undefined) {
      throw new UsageError(
        '--workers needs the built CLI (the worker program lab-host-worker.js comes with it)',
        'run `npm run build` and start the CLI with bin/kms-scout.js, or leave out --workers'
      )
    }
    const jsonLog = booleanOption(values, 'json-log')
    const publishing = servePublishing(values)
    if (publishing) await checkLabHostPublishing(publishing)

    const app = await openAppContext({ env: io.env, onWarning: (message) => io.stderr(`kms-scout serve: ${message}\n`) })
    const configured = await createConfiguredLabHost(app.settings.current().labHost, app.configDir, {
      ...overrides,
      workers: workers > 0 ? { count: workers, script: io.labHostWorker!.script, execArgv: io.labHostWorker!.execArgv } : undefined
    })
    for (const warning of configured.warnings) io.stderr(`kms-scout serve: ${warning}\n`)
    const host = configured.host
    const out = json ? io.stderr : io.stdout
    const jsonLines = jsonLog || configured.jsonLog
    const detach = logLabHost(host, { write: out, json: jsonLines })
    for (const line of NOTICE)
      out(jsonLines ? `${JSON.stringify({ time: new Date().toISOString(), event: 'notice', message: line })}\n` : `${line}\n`)

    let addresses
    try {
      addresses = await startLabHost(host)
    } catch (error) {
      detach()
      throw error
    }
    const s = host.status()
    const mode =
      s.countMode === 'real'
        ? 'real (distinct clients per KMS counted ID in 30 days, capped at 2 × N_Policy)'
        : `fixed ${s.countMode.fixed}`
    if (!jsonLines) {
      out(`count: ${mode}; client log: ${s.clientLog.file}\n`)
      if (s.workers.length > 0)
        out(`worker processes: ${s.workers.length} (pid ${s.workers.map((w) => w.pid).join(', ')}), sharing the listening sockets\n`)
      out('Press Ctrl-C to stop.\n')
    }
    const logUpdates = (results: readonly SrvUpdateResult[]): void => {
      for (const r of results) {
        const line = describeUpdate(r)
        out(
          jsonLines
            ? `${JSON.stringify({ time: new Date().toISOString(), event: 'dns-update', ok: r.ok, message: line, fix: r.ok ? undefined : r.fix })}\n`
            : `${inert(line, 1024)}\n`
        )
        if (!r.ok && !jsonLines) out(`  fix: ${r.fix}\n`)
      }
    }
    const published = publishing ? await publishLabHostRecords(host, publishing) : []
    logUpdates(published)

    const signal = await io.waitForInterrupt()
    if (!jsonLines) out(`${signal}: stopping; exchanges in progress may finish (Ctrl-C again quits at once)…\n`)
    // the record goes before the listener, so no client is sent to a host that is gone
    const removed = publishing ? await unpublishLabHostRecords(published, publishing) : []
    logUpdates(removed)
    await host.stop()
    detach()
    const final = host.status().counters
    if (json)
      io.stdout(
        `${JSON.stringify({ ok: true, addresses: addresses.map((a) => a.text), counters: final, ...(publishing ? { dns: { published, removed } } : {}) })}\n`
      )
    return EXIT.ok
  }
}
