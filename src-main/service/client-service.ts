/**
 * The client side of the app: a full check (manual host → cached host → DNS, like a Windows client) and a
 * DNS discovery, with the settings as defaults and the UI's fields as overrides. Progress goes out as
 * `checkProgress` events, one trace step at a time, so the UI can show why each host was picked or skipped
 * while the check runs.
 */
import type { CheckView, DiscoveryView, HandlerTable, TraceView } from '../api/contract'
import { checkOptionsFrom, discoveryOptionsFrom } from '../discovery/options-from-settings'
import { runCheck } from '../discovery/run-check'
import { runDiscovery } from '../discovery/run-discovery'
import { formatTraceEntry, type TraceEntry } from '../discovery/trace'
import type { ClientIdentityStore } from '../storage/client-identity'
import type { HostCache } from '../storage/host-cache'
import type { Settings } from '../storage/settings'
import { localWorkstationName } from '../kms-client/workstation'
import type { EventHub } from './event-hub'

export interface ClientServiceDeps {
  settings: () => Settings
  identity: ClientIdentityStore
  hostCache: HostCache
  events: EventHub
}

const withText = (entry: TraceEntry): TraceView => ({ ...entry, text: formatTraceEntry(entry) })

export function createClientHandlers(deps: ClientServiceDeps): Pick<HandlerTable, 'runCheck' | 'discover'> {
  let lastRunId = 0
  return {
    runCheck: async (input) => {
      const runId = ++lastRunId
      const client = deps.settings().client
      const options = checkOptionsFrom(client, input, client.workstationName ?? (await localWorkstationName()))
      const identity = await deps.identity.get()
      const report = await runCheck(options, {
        identity,
        hostCache: deps.hostCache,
        onTrace: (entry) => deps.events.emit('checkProgress', { runId, step: withText(entry) })
      })
      return { ...report, trace: report.trace.map(withText) } satisfies CheckView
    },
    discover: async (input) => {
      const report = await runDiscovery(discoveryOptionsFrom(deps.settings().client, input ?? {}))
      return { ...report, trace: report.trace.map(withText) } satisfies DiscoveryView
    }
  }
}
