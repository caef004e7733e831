/**
 * Names of everything the renderer can ask of the main process, and of the events the main
 * process sends back. Kept free of imports so the sandboxed preload can bundle it without
 * pulling zod or any other module in.
 */
export const METHOD_NAMES = [
  'getAppInfo',
  'getSettings',
  'updateSettings',
  'listProducts',
  'getIdentity',
  'renewIdentity',
  'runCheck',
  'discover',
  'cancelRuns',
  'labHostStatus',
  'startLabHost',
  'stopLabHost',
  'labHostClients',
  'planDns',
  'auditDns',
  'publishDns',
  'unpublishDns',
  'licensingStatus',
  'planLicensingAction',
  'runLicensingAction',
  'crossCheckLicensingHost',
  'hostCacheShow',
  'hostCacheClear',
  'labHostCounts',
  'probeHosts',
  'renderReport',
  'saveReport'
] as const

export type MethodName = (typeof METHOD_NAMES)[number]

export const EVENT_NAMES = ['settingsChanged', 'notice', 'checkProgress', 'labHostUpdate'] as const

export type EventName = (typeof EVENT_NAMES)[number]

/** IPC channel used for one API method. */
export const methodChannel = (method: MethodName): string => `kms:call:${method}`

/** The single IPC channel main→renderer events travel on ({ name, payload }). */
export const EVENT_CHANNEL = 'kms:event'

export function isMethodName(value: unknown): value is MethodName {
  return typeof value === 'string' && (METHOD_NAMES as readonly string[]).includes(value)
}

export function isEventName(value: unknown): value is EventName {
  return typeof value === 'string' && (EVENT_NAMES as readonly string[]).includes(value)
}
