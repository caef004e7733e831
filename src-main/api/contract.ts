/**
 * The one API contract between the renderer and the main process (and the CLI where it fits):
 * for every method, the zod schema its input must satisfy — checked at runtime in main, whatever
 * transport carried the call — and the TypeScript type of its output; for every event, the type
 * of its payload.
 */
import { z } from 'zod'
import type { EventName, MethodName } from './channels'
import type { ApiResult } from './result'
import { settingsSchema, type Settings } from '../storage/settings'
import type { Sku } from '../protocol/products'

/** Methods without arguments accept `undefined` only (the renderer calls `kms.getAppInfo()`). */
const noInput = z.undefined()

export const methodInputSchemas = {
  getAppInfo: noInput,
  getSettings: noInput,
  updateSettings: settingsSchema,
  listProducts: z.object({ search: z.string().max(200).optional() }).strict().optional(),
  getIdentity: noInput,
  renewIdentity: noInput
} satisfies Record<MethodName, z.ZodType>

export interface AppInfo {
  name: string
  version: string
  /** 'electron' in the desktop app, 'bridge' in the browser test harness, 'cli' for the CLI. */
  shell: 'electron' | 'bridge' | 'cli'
  platform: string
  /** Where settings, the client identity and the host cache live. */
  configDir: string
}

export interface SettingsView {
  settings: Settings
  /** Problems found while loading (a broken file moved aside, …), for the UI to show. */
  warnings: string[]
}

export interface Notice {
  level: 'info' | 'warning' | 'error'
  message: string
}

export interface ProductList {
  products: Sku[]
  /** The SKU checks use when no product is chosen (a current Windows client edition, threshold 25). */
  defaultSkuId: string
}

/** This installation's KMS client machine ID, reused by every check so checks count as one client. */
export interface ClientIdentityView {
  cmid: string
  createdAt: string | null
  previousCmid: string | null
}

export interface MethodOutputs {
  getAppInfo: AppInfo
  getSettings: SettingsView
  updateSettings: SettingsView
  listProducts: ProductList
  getIdentity: ClientIdentityView
  renewIdentity: ClientIdentityView
}

export interface EventPayloads {
  settingsChanged: SettingsView
  notice: Notice
}

export type MethodInput<M extends MethodName> = z.input<(typeof methodInputSchemas)[M]>
export type ParsedMethodInput<M extends MethodName> = z.output<(typeof methodInputSchemas)[M]>

/** What main implements: one async function per method, given already-validated input. */
export type HandlerTable = {
  [M in MethodName]: (input: ParsedMethodInput<M>) => Promise<MethodOutputs[M]>
}

export type EventListener<E extends EventName> = (payload: EventPayloads[E]) => void

/** What the renderer sees as `window.kms` (exposed by the preload, or by the test bridge). */
export type KmsApi = {
  readonly [M in MethodName]: undefined extends MethodInput<M>
    ? (input?: MethodInput<M>) => Promise<ApiResult<MethodOutputs[M]>>
    : (input: MethodInput<M>) => Promise<ApiResult<MethodOutputs[M]>>
} & {
  /** Subscribe to a main-process event; returns the function that unsubscribes. */
  readonly on: <E extends EventName>(event: E, listener: EventListener<E>) => () => void
}

export type { ApiResult, EventName, MethodName, Settings, Sku }
