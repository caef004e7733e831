/**
 * The client side of KMS Scout, for the app and the CLI alike: one query of one host, a full check (manual host
 * → cached host → DNS, like a Windows client) and a DNS discovery. The settings give the defaults; a run's
 * overrides (CLI flags, the UI's fields) win. The installation's client identity is used unless a run names
 * another CMID. For the app, progress goes out as `checkProgress` events, one trace step at a time.
 */
import { ApiFailure } from '../api/result'
import type { CheckView, DiscoveryView, HandlerTable, TraceView } from '../api/contract'
import { DiscoveryConfigError } from '../discovery/domains'
import { checkOptionsFrom, discoveryOptionsFrom, type RunOverrides } from '../discovery/options-from-settings'
import { runCheck, type CheckReport } from '../discovery/run-check'
import { runDiscovery, type DiscoveryReport } from '../discovery/run-discovery'
import { formatTraceEntry, type TraceEntry } from '../discovery/trace'
import { isKmsQueryError, queryKmsHost, type KmsClientTimeouts, type KmsQueryError, type KmsQueryResult } from '../kms-client/kms-client'
import { localWorkstationName } from '../kms-client/workstation'
import { NIL_GUID, productCatalog, type Guid, type KmsProtocolVersion, type Sku } from '../protocol'
import type { ClientIdentity } from '../storage/client-identity'
import type { AppContext } from './app-context'
import type { EventHub } from './event-hub'
import { chooseProduct, productForRun } from './products'
import { buildQueryReport, type CmidSource, type QueryReport } from './query-report'

export { formatTraceEntry, type CheckReport, type DiscoveryReport, type QueryReport, type RunOverrides, type TraceEntry }
/** A failure of the configuration (a bad setting, no DNS domain…) as the API's error, which the CLI exits 3 on. */
async function configErrorsAsFailures<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    if (error instanceof DiscoveryConfigError) throw new ApiFailure('invalid-input', error.message, error.hint)
    throw error
  }
}

/** This installation's identity, created on first use; a folder that cannot be written is a configuration error. */
async function installationIdentity(ctx: AppContext, renew: boolean): Promise<ClientIdentity> {
  try {
    return renew ? await ctx.identity.renew() : await ctx.identity.get()
  } catch (error) {
    throw new ApiFailure(
      'config',
      `cannot read or create the client identity ${ctx.paths.identity}: ${error instanceof Error ? error.message : String(error)}`,
      'make the config folder writable (or set KMS_SCOUT_CONFIG_DIR), or pass a CMID for this query (--cmid GUID)'
    )
  }
}

export interface QueryHostInput {
  readonly host: string
  readonly port: number
  /** The product named for this run; default: settings, else the catalog's default. */
  readonly product?: Sku | undefined
  readonly protocol?: KmsProtocolVersion | undefined
  /** Send this CMID for this query only (the stored identity is not touched). */
  readonly cmid?: Guid | undefined
  /** Create a new persistent identity first (the old CMID is sent as CMID_prev). */
  readonly newIdentity?: boolean | undefined
  readonly workstationName?: string | undefined
  /** One limit for every phase (resolve, connect, bind, request). */
  readonly timeoutMs?: number | undefined
}

export interface QueryHostHooks {
  readonly onWarning: (message: string) => void
  /** Something the user should know that is not a problem (a new identity was created). */
  readonly onNotice?: (message: string) => void
}

/** One KMS request to one host, verified, reported against the product's threshold. */
export async function queryHost(ctx: AppContext, input: QueryHostInput, hooks: QueryHostHooks): Promise<QueryReport> {
  if (input.cmid !== undefined && input.newIdentity === true) {
    throw new ApiFailure(
      'invalid-input',
      '--cmid and --new-identity cannot be combined',
      '--cmid sends a given CMID once; --new-identity replaces the stored one'
    )
  }
  const client = ctx.settings.current().client
  const sku = productForRun(input.product, client.defaultProductSkuId, hooks.onWarning)
  const protocol = input.protocol ?? client.protocolOverride ?? sku.protocolVersion
  const workstationName = input.workstationName ?? client.workstationName ?? (await localWorkstationName())
  let cmid: Guid
  let cmidPrev: Guid = NIL_GUID
  let cmidSource: CmidSource = 'option'
  if (input.cmid !== undefined) cmid = input.cmid
  else {
    const identity = await installationIdentity(ctx, input.newIdentity === true)
    if (input.newIdentity === true)
      hooks.onNotice?.(`created a new client identity ${identity.cmid} (previous ${identity.previousCmid ?? 'none'})`)
    cmid = identity.cmid
    cmidPrev = identity.previousCmid ?? NIL_GUID
    cmidSource = input.newIdentity === true ? 'new-installation' : 'installation'
  }
  const t = client.timeouts
  const timeouts: KmsClientTimeouts =
    input.timeoutMs !== undefined
      ? { resolveMs: input.timeoutMs, connectMs: input.timeoutMs, bindMs: input.timeoutMs, requestMs: input.timeoutMs }
      : { resolveMs: Math.max(t.bindMs, t.requestMs), connectMs: t.connectMs, bindMs: t.bindMs, requestMs: t.requestMs }

  let outcome: { ok: true; result: KmsQueryResult } | { ok: false; error: KmsQueryError }
  try {
    const result = await queryKmsHost({
      host: input.host,
      port: input.port,
      requests: { identity: productCatalog.requestIdentity(sku), protocol, cmid, cmidPrev, workstationName },
      timeouts
    })
    outcome = { ok: true, result }
  } catch (error) {
    if (!isKmsQueryError(error)) throw error
    outcome = { ok: false, error }
  }
  return buildQueryReport({
    target: { host: input.host, port: input.port },
    sku,
    protocol,
    cmid,
    cmidSource,
    cmidPrev,
    workstationName,
    outcome
  })
}

export interface CheckRunInput extends RunOverrides {
  /** The product named for this run; default: settings, else the catalog's default. */
  readonly product?: Sku | undefined
}

/** The whole Windows client flow, judged like a monitoring plugin. */
export async function checkClientFlow(
  ctx: AppContext,
  input: CheckRunInput,
  hooks: { onWarning: (message: string) => void; onTrace?: (entry: TraceEntry) => void; signal?: AbortSignal }
): Promise<CheckReport> {
  const client = ctx.settings.current().client
  const sku = productForRun(input.product, client.defaultProductSkuId, hooks.onWarning)
  const { product: _product, ...overrides } = input
  const options = {
    // this computer's name is looked up (DNS, up to 1 s) only when neither the run nor the settings name one
    ...checkOptionsFrom(client, overrides, overrides.workstationName ?? client.workstationName ?? (await localWorkstationName())),
    product: sku
  }
  const identity = await installationIdentity(ctx, false)
  return configErrorsAsFailures(() =>
    runCheck(options, {
      identity,
      hostCache: ctx.hostCache,
      ...(hooks.onTrace ? { onTrace: hooks.onTrace } : {}),
      ...(hooks.signal ? { signal: hooks.signal } : {})
    })
  )
}

/** The `_vlmcs._tcp` records a client would find, in one drawn selection order. */
export async function discoverHosts(
  ctx: AppContext,
  overrides: RunOverrides,
  hooks: { onTrace?: (entry: TraceEntry) => void; signal?: AbortSignal } = {}
): Promise<DiscoveryReport> {
  const options = discoveryOptionsFrom(ctx.settings.current().client, overrides)
  return configErrorsAsFailures(() =>
    runDiscovery(options, { ...(hooks.onTrace ? { onTrace: hooks.onTrace } : {}), ...(hooks.signal ? { signal: hooks.signal } : {}) })
  )
}

const withText = (entry: TraceEntry): TraceView => ({ ...entry, text: formatTraceEntry(entry) })

export function createClientHandlers(ctx: AppContext, events: EventHub): Pick<HandlerTable, 'runCheck' | 'discover' | 'cancelRuns'> {
  let lastRunId = 0
  // Checks and discoveries in flight, so the UI's Cancel can stop them (each also stops at its deadline).
  const running = new Set<AbortController>()
  const cancellable = async <T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> => {
    const controller = new AbortController()
    running.add(controller)
    try {
      return await work(controller.signal)
    } finally {
      running.delete(controller)
    }
  }
  const onWarning = (message: string): void => events.emit('notice', { level: 'warning', message })
  return {
    runCheck: async (input) => {
      const runId = ++lastRunId
      const { productSkuId, ...overrides } = input ?? {}
      const product = chooseProduct({ skuId: productSkuId }, { name: 'product', skuId: 'productSkuId' })
      const report = await cancellable((signal) =>
        checkClientFlow(
          ctx,
          { ...overrides, product },
          { onWarning, onTrace: (entry) => events.emit('checkProgress', { runId, step: withText(entry) }), signal }
        )
      )
      return { ...report, trace: report.trace.map(withText) } satisfies CheckView
    },
    discover: async (input) => {
      const report = await cancellable((signal) => discoverHosts(ctx, input ?? {}, { signal }))
      return { ...report, trace: report.trace.map(withText) } satisfies DiscoveryView
    },
    cancelRuns: async () => {
      const cancelled = running.size
      for (const controller of running) controller.abort()
      return { cancelled }
    }
  }
}
