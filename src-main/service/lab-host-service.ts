/**
 * The lab KMS host as KMS Scout assembles it, for `kms-scout serve` and the app's lab-host page alike: options
 * from the `labHost` settings with a run's overrides on top, the persisted identity (ePIDs, HwId), and the errors
 * of starting it (port in use, a client log in use or not ours) as one line of cause and one of fix.
 *
 * In the app it is off until started, loopback unless an address is chosen — and a non-loopback address only
 * with an explicit confirmation. While it runs, the UI gets `labHostUpdate` events at most a few times a second
 * (a busy host answers thousands of requests a second; one IPC message each would swamp the window).
 */
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import type { HandlerTable, LabHostView } from '../api/contract'
import { ApiFailure } from '../api/result'
import { isLoopback, labHostConfigFromSettings, type ListenAddress } from '../lab-host/config'
import type { LabHostCountMode } from '../lab-host/count'
import type { LabHostExchange } from '../lab-host/events'
import { chooseHostKeys, defaultHostKeys } from '../lab-host/host-keys'
import { epidProblem, loadLabHostIdentity, type IdentityOverrides } from '../lab-host/identity'
import { LabHost, LabHostListenError } from '../lab-host/lab-host'
import { attachLabHostLogger, type LabHostLoggerOptions } from '../lab-host/log'
import { MAX_WORKERS } from '../lab-host/workers'
import { productCatalog } from '../protocol'
import { ClientLogBusyError, ClientLogFormatError } from '../storage/client-log'
import type { Settings } from '../storage/settings'
import type { ConfirmQuestion } from './app-service'
import type { EventHub } from './event-hub'
import { parseListenAddress } from './inputs'
import { checkLabHostPublishing, updateLabHostRecords, type LabHostPublishing, type SrvUpdateResult } from './dns-publish-service'

export { MAX_WORKERS, type LabHost }

/** How often a running host may update the UI, and how many recent requests an update carries. */
const UPDATE_INTERVAL_MS = 250
const RECENT_EXCHANGES = 50

/** What one run changes of the settings (CLI flags; the app's listen addresses). Unset: the setting applies. */
export interface LabHostOverrides {
  readonly listen?: readonly ListenAddress[] | undefined
  /** Relative paths are taken from the current folder (a CLI argument), not from the config folder. */
  readonly dbPath?: string | undefined
  readonly countMode?: LabHostCountMode | undefined
  /** Per CSVLK group (iniName). */
  readonly epids?: Readonly<Record<string, string>> | undefined
  /** One ePID for every group; per-group ePIDs of this run win over it, and it wins over the settings' ones. */
  readonly allEpids?: string | undefined
  readonly hwid?: string | undefined
  /** Host keys (CSVLK names or activation IDs) instead of the newest of their application; replaces the settings' list. */
  readonly csvlks?: readonly string[] | undefined
  readonly activationInterval?: number | undefined
  readonly renewalInterval?: number | undefined
  readonly maxConnections?: number | undefined
  readonly maxConnectionsPerAddress?: number | undefined
  readonly maxRequestsPerSecondPerAddress?: number | undefined
  readonly maxLogMiB?: number | undefined
  readonly exchangeTimeoutS?: number | undefined
  /** Worker processes besides this one; needs the worker program. */
  readonly workers?: { readonly count: number; readonly script: string; readonly execArgv?: string[] | undefined } | undefined
}

export interface ConfiguredLabHost {
  readonly host: LabHost
  /** Problems with the identity file or the overrides, as sentences. */
  readonly warnings: readonly string[]
  /** The settings ask for JSON log lines. */
  readonly jsonLog: boolean
}

/** A lab host built from the settings and this run's overrides (not started). Throws ApiFailure for bad values. */
export async function createConfiguredLabHost(
  settings: Settings['labHost'],
  configDir: string,
  overrides: LabHostOverrides = {}
): Promise<ConfiguredLabHost> {
  let config
  try {
    config = labHostConfigFromSettings(settings, configDir)
  } catch (error) {
    throw new ApiFailure(
      'config',
      `settings labHost: ${error instanceof Error ? error.message : String(error)}`,
      'fix labHost in the settings file, or give the listen addresses for this run'
    )
  }
  const identityOverrides: IdentityOverrides = {
    // this run's ePID for every group beats per-group ePIDs from the settings; this run's per-group ones beat both
    epids: { ...(overrides.allEpids === undefined ? config.identityOverrides.epids : {}), ...overrides.epids },
    allEpids: overrides.allEpids,
    hwid: overrides.hwid ?? config.identityOverrides.hwid
  }
  let loaded
  try {
    loaded = await loadLabHostIdentity({
      file: config.identityFile,
      random: (n) => randomBytes(n),
      now: () => new Date(),
      keys: chooseHostKeys(productCatalog, overrides.csvlks ?? config.csvlks),
      overrides: identityOverrides
    })
  } catch (error) {
    if (error instanceof RangeError) {
      // host-keys puts the hint after a newline
      const [message, hint] = error.message.split('\n')
      throw new ApiFailure(
        'invalid-input',
        message ?? error.message,
        hint ?? 'fix labHost.csvlks / labHost.epids / labHost.hwid in the settings file or the values given for this run'
      )
    }
    throw error
  }
  const host = new LabHost({
    listen: overrides.listen ?? config.listen,
    dbPath: overrides.dbPath === undefined ? config.dbPath : path.resolve(overrides.dbPath),
    retentionDays: config.retentionDays,
    identity: loaded.identity,
    countMode: overrides.countMode ?? config.countMode,
    activationInterval: overrides.activationInterval ?? config.activationInterval,
    renewalInterval: overrides.renewalInterval ?? config.renewalInterval,
    maxConnections: overrides.maxConnections ?? config.maxConnections,
    maxConnectionsPerAddress: overrides.maxConnectionsPerAddress ?? config.maxConnectionsPerAddress,
    maxRequestsPerSecondPerAddress: overrides.maxRequestsPerSecondPerAddress ?? config.maxRequestsPerSecondPerAddress,
    maxLogBytes: overrides.maxLogMiB === undefined ? config.maxLogBytes : overrides.maxLogMiB * 1048576,
    exchangeTimeoutMs: overrides.exchangeTimeoutS === undefined ? config.exchangeTimeoutMs : overrides.exchangeTimeoutS * 1000,
    maxPduBytes: config.maxPduBytes,
    workers: overrides.workers
  })
  return { host, warnings: loaded.warnings, jsonLog: config.jsonLog }
}

/** Starts the host; a listen or client-log problem becomes one line of cause and one of fix. */
export async function startLabHost(host: LabHost): Promise<Awaited<ReturnType<LabHost['start']>>> {
  try {
    return await host.start()
  } catch (error) {
    if (error instanceof LabHostListenError) {
      const hint =
        error.code === 'EADDRINUSE'
          ? 'another KMS host (or kms-scout serve) already listens there; stop it or choose another port'
          : error.code === 'EACCES'
            ? 'this user may not listen on that port; use a port above 1023'
            : error.code === 'EADDRNOTAVAIL'
              ? 'that address is not on this machine; choose one of its own addresses'
              : 'check the listen addresses'
      throw new ApiFailure('listen-failed', error.message, hint)
    }
    if (error instanceof ClientLogBusyError)
      throw new ApiFailure(
        'client-log-busy',
        error.message,
        'another lab host uses this client log; stop it, or give this one its own database file'
      )
    if (error instanceof ClientLogFormatError)
      throw new ApiFailure('client-log-format', error.message, 'give the lab host its own database file')
    throw error
  }
}

/**
 * The lab host's own `_vlmcs._tcp` record, like a KMS host's DNS publishing (docs/dns-publishing.md): published
 * in every domain once it listens (its first address's port), removed before it stops listening, so clients are
 * never sent to a host that is gone. Used by `serve --publish` and the app's lab-host page alike.
 */
export async function publishLabHostRecords(host: LabHost, publishing: LabHostPublishing): Promise<SrvUpdateResult[]> {
  const port = host.addresses[0]?.port
  if (port === undefined)
    throw new ApiFailure('not-running', 'the lab host is not listening, so there is no record to publish', 'start it first')
  return updateLabHostRecords('publish', publishing, port)
}

export async function unpublishLabHostRecords(
  published: readonly SrvUpdateResult[],
  publishing: LabHostPublishing
): Promise<SrvUpdateResult[]> {
  const port = published[0]?.record.port
  return port === undefined ? [] : updateLabHostRecords('unpublish', publishing, port)
}

export { checkLabHostPublishing, type LabHostPublishing }

/** Log lines for a running host (human or JSON); returns the function that detaches them. */
export function logLabHost(host: LabHost, options: LabHostLoggerOptions): () => void {
  return attachLabHostLogger(host, options)
}

/** `real` or a fixed client count. */
export function parseCountMode(text: string, label: string): LabHostCountMode {
  if (text.trim().toLowerCase() === 'real') return 'real'
  const n = /^[0-9]+$/.test(text.trim()) ? Number(text.trim()) : NaN
  if (!Number.isSafeInteger(n) || n > 0xffff_ffff) {
    throw new ApiFailure(
      'invalid-input',
      `${label} '${text}' is neither 'real' nor a client count`,
      `use ${label} real (distinct clients, like a real host) or a fixed number such as ${label} 3`
    )
  }
  return { fixed: n }
}

/** `EPID` (every CSVLK group) or `GROUP=EPID`, as given for one run. */
export function parseEpidOverrides(values: readonly string[], label: string): Pick<LabHostOverrides, 'epids' | 'allEpids'> {
  // the ini names of the host keys ("Windows", "Office2010", "Office2024", …)
  const groups = [...new Set(productCatalog.csvlks().flatMap((c) => (c.iniName === null ? [] : [c.iniName])))]
  const epids: Record<string, string> = {}
  let allEpids: string | undefined
  for (const v of values) {
    const eq = v.indexOf('=')
    const group = eq > 0 ? v.slice(0, eq) : undefined
    const epid = (eq > 0 ? v.slice(eq + 1) : v).trim()
    const problem = epidProblem(epid)
    if (problem)
      throw new ApiFailure(
        'invalid-input',
        `${label} '${v}': ${problem}`,
        'an ePID looks like 03612-00206-567-887631-03-1033-17763.0000-2972018 (optionally GROUP=EPID)'
      )
    if (group === undefined) {
      allEpids = epid
      continue
    }
    const known = groups.find((g) => g.toLowerCase() === group.toLowerCase())
    if (!known) throw new ApiFailure('invalid-input', `${label}: unknown CSVLK group '${group}'`, `groups: ${groups.join(', ')}`)
    epids[known] = epid
  }
  return { epids, allEpids }
}

/** The HwId sent in v6 responses: 16 hex digits in wire order. */
export function parseHwid(text: string, label: string): string {
  if (!/^[0-9A-Fa-f]{16}$/.test(text.trim()))
    throw new ApiFailure(
      'invalid-input',
      `${label} '${text}' is not 16 hex digits`,
      `e.g. ${label} 3A1C049600B60076 (8 bytes as sent on the wire)`
    )
  return text.trim()
}

export interface LabHostServiceDeps {
  settings: () => Settings
  configDir: string
  events: EventHub
  /** The shell's own confirmation (see AppServiceOptions.confirm); the renderer's flag is ignored when it is given. */
  confirm?: (question: ConfirmQuestion) => Promise<boolean>
}

export interface LabHostService {
  handlers: Pick<HandlerTable, 'labHostStatus' | 'startLabHost' | 'stopLabHost' | 'labHostClients'>
  close(): Promise<void>
}

/** The released keys a lab host can hold, for a choice in the UI: the defaults first, then newest first. */
function hostKeyChoices(): LabHostView['hostKeys'] {
  const defaults = defaultHostKeys(productCatalog)
  const released = productCatalog.csvlks().filter((c) => c.id !== null && !c.isLab && !c.isPreview && c.groupId !== null)
  return [...defaults, ...released.filter((c) => !defaults.includes(c))].map((c) => ({
    id: c.id!,
    name: c.name,
    applications: productCatalog.csvlkApplicationIds(c).map((id) => productCatalog.applicationById(id)?.name ?? id)
  }))
}

export function createLabHostService(deps: LabHostServiceDeps): LabHostService {
  const hostKeys = hostKeyChoices()
  let host: LabHost | null = null
  let warnings: string[] = []
  let recent: LabHostExchange[] = []
  let timer: NodeJS.Timeout | undefined
  let dirty = false
  let publishing: LabHostPublishing | null = null
  let dnsRecords: SrvUpdateResult[] = []

  const view = (): LabHostView => ({
    running: host !== null && host.state === 'running',
    status: host?.status() ?? null,
    warnings: [...warnings],
    recent: [...recent],
    sameMachineNote:
      'Windows refuses activation from a KMS host on the same machine (0x8007000D): clients of this lab host are other lab machines and KMS Scout itself.',
    hostKeys,
    dnsRecords: [...dnsRecords]
  })
  const publish = (): void => {
    dirty = false
    deps.events.emit('labHostUpdate', view())
  }

  async function stop(): Promise<void> {
    const running = host
    if (running === null) return
    clearInterval(timer)
    if (publishing !== null) {
      dnsRecords = await unpublishLabHostRecords(dnsRecords, publishing)
      publishing = null
    }
    await running.stop()
    host = null
    publish()
  }

  return {
    handlers: {
      labHostStatus: async () => view(),
      startLabHost: async (input) => {
        if (host !== null)
          throw new ApiFailure('already-running', 'the lab host is already running', 'stop it first to change its addresses')
        const settings = deps.settings().labHost
        const listen = input?.listen?.map((text) => parseListenAddress(text, 'listen address'))
        const addresses = listen ?? settings.listen.map((text) => parseListenAddress(text, 'settings labHost.listen'))
        const exposed = addresses.filter((address) => !isLoopback(address.address))
        if (exposed.length > 0) {
          const where = exposed.map((a) => a.address).join(', ')
          const confirmed = deps.confirm
            ? await deps.confirm({
                title: 'Lab KMS host on the network',
                message: `Listen on ${where}?`,
                detail: `Other machines on that network can then reach this lab KMS host. Do this only on an isolated lab network.`,
                confirmLabel: 'Listen on the network'
              })
            : input?.confirmNonLoopback === true
          if (!confirmed) {
            throw new ApiFailure(
              'confirm-non-loopback',
              `listening on ${where} makes the lab host reachable from the network`,
              'confirm that this is an isolated lab network, or use 127.0.0.1'
            )
          }
        }
        if (input?.publish) await checkLabHostPublishing(input.publish)
        const configured = await createConfiguredLabHost(settings, deps.configDir, {
          listen,
          ...(input?.csvlks ? { csvlks: input.csvlks } : {})
        })
        const next = configured.host
        warnings = [...configured.warnings]
        recent = []
        next.on('request-logged', (exchange) => {
          recent = [exchange, ...recent].slice(0, RECENT_EXCHANGES)
          dirty = true
        })
        next.on('connection-refused', () => (dirty = true))
        next.on('warning', (warning) => {
          warnings = [...warnings, warning.message]
          dirty = true
        })
        await startLabHost(next)
        host = next
        dnsRecords = []
        if (input?.publish) {
          publishing = input.publish
          dnsRecords = await publishLabHostRecords(next, input.publish)
        }
        timer = setInterval(() => {
          if (dirty) publish()
        }, UPDATE_INTERVAL_MS)
        timer.unref()
        publish()
        return view()
      },
      stopLabHost: async () => {
        await stop()
        return view()
      },
      labHostClients: async (input) => {
        const log = host?.clientLog
        if (log === undefined) throw new ApiFailure('not-running', 'the lab host is not running', 'start it to see its client log')
        return { rows: await log.recent(input?.limit ?? 100) }
      }
    },
    close: stop
  }
}
