/**
 * The lab KMS host as the app sees it: off until started, configured from the `labHost` settings, loopback
 * unless an address is chosen — and a non-loopback address only with an explicit confirmation. While it
 * runs, the UI gets `labHostUpdate` events at most a few times a second (a busy host answers thousands of
 * requests a second; one IPC message each would swamp the window).
 */
import { randomBytes } from 'node:crypto'
import type { HandlerTable, LabHostView } from '../api/contract'
import { ApiFailure } from '../api/result'
import { LabHost, LabHostListenError, type LabHostStatus } from '../lab-host/lab-host'
import { isLoopback, labHostConfigFromSettings, parseListenAddress, type ListenAddress } from '../lab-host/config'
import type { LabHostExchange } from '../lab-host/events'
import { loadLabHostIdentity } from '../lab-host/identity'
import type { Settings } from '../storage/settings'
import type { EventHub } from './event-hub'

/** How often a running host may update the UI, and how many recent requests an update carries. */
const UPDATE_INTERVAL_MS = 250
const RECENT_EXCHANGES = 50

export interface LabHostServiceDeps {
  settings: () => Settings
  configDir: string
  events: EventHub
}

export interface LabHostService {
  handlers: Pick<HandlerTable, 'labHostStatus' | 'startLabHost' | 'stopLabHost' | 'labHostClients'>
  close(): Promise<void>
}

export function createLabHostService(deps: LabHostServiceDeps): LabHostService {
  let host: LabHost | null = null
  let warnings: string[] = []
  let recent: LabHostExchange[] = []
  let timer: NodeJS.Timeout | undefined
  let dirty = false

  const view = (): LabHostView => ({
    running: host !== null && host.state === 'running',
    status: host?.status() ?? null,
    warnings: [...warnings],
    recent: [...recent],
    sameMachineNote:
      'Windows refuses activation from a KMS host on the same machine (0x8007000D): clients of this lab host are other lab machines and KMS Scout itself.'
  })
  const publish = (): void => {
    dirty = false
    deps.events.emit('labHostUpdate', view())
  }

  async function stop(): Promise<void> {
    const running = host
    if (running === null) return
    clearInterval(timer)
    await running.stop()
    host = null
    publish()
  }

  return {
    handlers: {
      labHostStatus: async () => view(),
      startLabHost: async (input) => {
        if (host !== null) throw new ApiFailure('already-running', 'the lab host is already running', 'stop it first to change its addresses')
        const settings = deps.settings().labHost
        const config = labHostConfigFromSettings(settings, deps.configDir)
        const listen: ListenAddress[] = input?.listen?.map(listenAddressOrFail) ?? config.listen
        const exposed = listen.filter((address) => !isLoopback(address.address))
        if (exposed.length > 0 && input?.confirmNonLoopback !== true) {
          throw new ApiFailure(
            'confirm-non-loopback',
            `listening on ${exposed.map((a) => a.address).join(', ')} makes the lab host reachable from the network`,
            'confirm that this is an isolated lab network, or use 127.0.0.1'
          )
        }
        const loaded = await loadLabHostIdentity({
          file: config.identityFile,
          random: (n) => randomBytes(n),
          now: () => new Date(),
          overrides: config.identityOverrides
        })
        const next = new LabHost({
          listen,
          dbPath: config.dbPath,
          retentionDays: config.retentionDays,
          identity: loaded.identity,
          countMode: config.countMode,
          activationInterval: config.activationInterval,
          renewalInterval: config.renewalInterval,
          maxConnections: config.maxConnections,
          exchangeTimeoutMs: config.exchangeTimeoutMs,
          maxPduBytes: config.maxPduBytes
        })
        warnings = [...loaded.warnings]
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
        try {
          await next.start()
        } catch (error) {
          if (error instanceof LabHostListenError) {
            throw new ApiFailure('listen-failed', error.message, error.code === 'EADDRINUSE' ? 'another KMS host already listens there; choose another port' : 'check the listen address')
          }
          throw error
        }
        host = next
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

function listenAddressOrFail(text: string): ListenAddress {
  const parsed = parseListenAddress(text)
  if (typeof parsed === 'string') throw new ApiFailure('invalid-input', `listen address ${text}: ${parsed}`, 'write IP[:PORT], e.g. 127.0.0.1:1688 or [::1]:1688')
  return parsed
}

export type { LabHostStatus }
