/**
 * The application service: builds the handler table behind the API contract from the storage,
 * protocol, discovery and lab-host modules. Electron, the test bridge and the CLI all drive the
 * app through this one object, so whatever the UI can do is tested without Electron.
 */
import { platform as osPlatform } from 'node:os'
import type { ClientIdentity } from '../storage/client-identity'
import { openAppContext } from './app-context'
import { createClientHandlers } from './client-service'
import { listProductsView } from './products'
import { createDnsPublishHandlers } from './dns-publish-service'
import { createLabHostService } from './lab-host-service'
import { createLicensingHandlers } from './licensing-service'
import { clearHostCache, showHostCache } from './host-cache-service'
import { createLabHostInsight } from './lab-host-insight'
import { createProbeHandlers } from './probe-service'
import { createReportHandlers, type ReportMemory, type ReportShellHooks } from './report-service'
import { buildTimeline } from './timeline'
import type { AppInfo, ClientIdentityView, HandlerTable, SettingsView } from '../api/contract'
import { EventHub } from './event-hub'
import type { WindowBounds } from '../storage/settings'

export interface AppServiceOptions {
  shell: AppInfo['shell']
  /** Directory for settings, identity, host cache and the lab-host log. */
  configDir: string
  version: string
  platform?: string
  /**
   * Asks the person at the app, outside the renderer (Electron: a main-process dialog), before something that
   * exposes this machine — the lab host listening beyond loopback. Without it the renderer's own confirmation is
   * taken (the test bridge); with it, the renderer cannot confirm on the person's behalf.
   */
  confirm?: (question: ConfirmQuestion) => Promise<boolean>
  /** What the desktop shell lends for reports (a save dialog); may also be set later on `AppService.shellHooks`. */
  shellHooks?: ReportShellHooks
}

export interface ConfirmQuestion {
  title: string
  message: string
  detail: string
  /** the button that says yes */
  confirmLabel: string
}

export type { WindowBounds }

export interface AppService {
  handlers: HandlerTable
  events: EventHub
  /** The shell's hooks for reports (Electron sets its save dialog here; e2e sets a chooser of its own). */
  shellHooks: ReportShellHooks
  /** Window geometry, kept with the settings but not part of the renderer's API. */
  windowBounds: {
    load(): Promise<WindowBounds | undefined>
    save(bounds: WindowBounds): Promise<void>
  }
  close(): Promise<void>
}

export async function createAppService(options: AppServiceOptions): Promise<AppService> {
  const events = new EventHub()
  const ctx = await openAppContext({
    configDir: options.configDir,
    onWarning: (message) => events.emit('notice', { level: 'warning', message })
  })
  const { settings, identity } = ctx

  const info: AppInfo = {
    name: 'KMS Scout',
    version: options.version,
    shell: options.shell,
    platform: options.platform ?? osPlatform(),
    configDir: options.configDir
  }

  const labHost = createLabHostService({
    settings: () => settings.current(),
    configDir: options.configDir,
    events,
    ...(options.confirm ? { confirm: options.confirm } : {})
  })

  const shellHooks: ReportShellHooks = { ...options.shellHooks }
  const labInsight = createLabHostInsight(labHost.handlers, events)
  // The last check and discovery, for their reports (the renderer shows the same ones).
  const reportMemory: ReportMemory = { check: null, discovery: null }
  const clientHandlers = createClientHandlers(ctx, events)

  const settingsView = (): SettingsView => ({ settings: settings.current(), warnings: [...settings.warnings] })

  const handlers: HandlerTable = {
    getAppInfo: async () => info,
    getSettings: async () => settingsView(),
    updateSettings: async (next) => {
      await settings.replace(next)
      const view = settingsView()
      events.emit('settingsChanged', view)
      return view
    },
    listProducts: async (input) => listProductsView(input?.search ?? ''),
    runCheck: async (input) => {
      const view = await clientHandlers.runCheck(input)
      reportMemory.check = view
      return { ...view, timeline: buildTimeline(view.trace) }
    },
    discover: async (input) => {
      const view = await clientHandlers.discover(input)
      reportMemory.discovery = view
      return view
    },
    cancelRuns: clientHandlers.cancelRuns,
    hostCacheShow: async () => showHostCache(ctx),
    hostCacheClear: async (input) => clearHostCache(ctx, input?.applicationId),
    ...labInsight.handlers,
    ...createProbeHandlers(ctx, (message) => events.emit('notice', { level: 'warning', message })),
    ...createReportHandlers(reportMemory, { ...labHost.handlers, ...labInsight.handlers }, shellHooks),
    ...createDnsPublishHandlers(ctx, (message) => events.emit('notice', { level: 'warning', message })),
    ...labHost.handlers,
    ...createLicensingHandlers(ctx, events),
    getIdentity: async () => identityView(await identity.get()),
    renewIdentity: async () => {
      const renewed = identityView(await identity.renew())
      events.emit('notice', { level: 'info', message: `New client machine ID ${renewed.cmid}; the previous one is kept as CMID_prev.` })
      return renewed
    }
  }

  return {
    handlers,
    events,
    shellHooks,
    windowBounds: {
      load: async () => settings.current().window ?? undefined,
      save: async (bounds) => {
        await settings.replace({ ...settings.current(), window: bounds })
      }
    },
    close: async () => {
      labInsight.close()
      await labHost.close()
      await settings.flush()
    }
  }
}

function identityView(identity: ClientIdentity): ClientIdentityView {
  return { cmid: identity.cmid, createdAt: identity.createdAt, previousCmid: identity.previousCmid }
}
