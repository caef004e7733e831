/**
 * The activation manager, for the app and the CLI alike: what Windows' licensing says about this computer or named
 * other computers (every product with a key, the KMS settings Windows uses, the machine's CMID and — on a KMS host —
 * its count and counters), the actions slmgr takes (set/clear host and domain, host caching, install the catalog's
 * GVLK, activate, refresh), and the cross-check that asks the KMS host Windows uses what it says now.
 *
 * The adapter (src-main/licensing) reads and acts; this module explains: licence states by name, LicenseStatusReason
 * and action outcomes through the one error-code table, remaining time as a date and a duration, the recorded host
 * ePID like `query` explains it (host key included), whether the installed key is the catalog's GVLK. Reads of many
 * computers run a few at a time, each with its own deadline (docs/licensing.md).
 */
import { mapLimited } from '../common/map-limited'
import type { HandlerTable, ParsedMethodInput } from '../api/contract'
import { ApiFailure } from '../api/result'
import { LICENSING_DEFAULTS } from '../common/defaults'
import { formatMinutes } from '../common/format'
import { formatHostPort } from '../common/host-port'
import { explainWindowsCode, WINDOWS_CODE } from '../common/windows-codes'
import { describeEpid } from '../kms-client/answer-analysis'
import {
  readLicensingSnapshot,
  runLicensingAction,
  type LicensingAction,
  type LicensingActionKind,
  type LicensingAdapterOptions
} from '../licensing/adapter'
import { checkComputerName } from '../licensing/computer-name'
import { LicensingError, type LicensingFailureKind } from '../licensing/errors'
import { locatePowerShell } from '../licensing/powershell'
import type {
  ActionPlan,
  ActionResultView,
  ComputerResult,
  CrossCheckAnswer,
  CrossCheckView,
  DurationView,
  HostEpidView,
  LicenseStatusName,
  LicensingFailure,
  LicensingStatusView,
  MachineReport,
  ProductReport,
  WindowsCodeView
} from '../licensing/report'
import type { LicensingSnapshot, ProductRecord } from '../licensing/snapshot'
import { NIL_GUID, parseEpid, productCatalog, type ProductCatalog, type Sku } from '../protocol'
import type { AppContext } from './app-context'
import { queryHost } from './client-service'
import type { EventHub } from './event-hub'
import type { QueryReport } from './query-report'

export type { ActionPlan, ActionResultView, ComputerResult, CrossCheckView, LicensingFailure, LicensingStatusView, MachineReport }

const WINDOWS_APPLICATION_ID = '55c92734-d682-4d71-983e-d6ec3f16059f'

// ── reports ───────────────────────────────────────────────────────────────────────────────────────────────────

/** LicenseStatus 0–6 in slmgr's words (docs/licensing.md §3). */
const LICENSE_STATUS: readonly { name: LicenseStatusName; text: string }[] = [
  { name: 'unlicensed', text: 'Unlicensed' },
  { name: 'licensed', text: 'Licensed' },
  { name: 'initial-grace', text: 'Initial grace period' },
  { name: 'additional-grace', text: 'Additional grace period (KMS licence expired or hardware out of tolerance)' },
  { name: 'non-genuine-grace', text: 'Non-genuine grace period' },
  { name: 'notification', text: 'Notification' },
  { name: 'extended-grace', text: 'Extended grace period' }
]

const ACTIVATION_TYPE = ['all', 'AD', 'KMS', 'token'] as const

function windowsCode(value: number): WindowsCodeView {
  const entry = explainWindowsCode(value)
  return { code: entry.code, name: entry.symbol ?? null, summary: entry.summary, meaning: entry.meaning, fix: entry.fix }
}

function duration(minutes: number, readAt: string): DurationView {
  return {
    minutes,
    text: formatMinutes(minutes),
    days: Math.ceil(minutes / 1440),
    until: new Date(Date.parse(readAt) + minutes * 60_000).toISOString()
  }
}

function channelOf(description: string | null): string | null {
  const match = description === null ? null : /,\s*([A-Za-z0-9_:]+) channel\b/.exec(description)
  return match === null ? null : match[1]!.toUpperCase()
}

function applicationName(id: string | null, source: ProductRecord['source'], catalog: ProductCatalog): string {
  const app = id === null ? undefined : catalog.applicationById(id)
  return app?.name ?? (source === 'ospp' ? 'Office2010' : 'unknown application')
}

function gvlkView(record: ProductRecord, sku: Sku | undefined): ProductReport['gvlk'] {
  if (record.partialProductKey === null) return { isGvlk: null, text: 'no key installed' }
  if (sku?.gvlk === null || sku?.gvlk === undefined) return { isGvlk: null, text: 'the catalog has no GVLK for this product' }
  return sku.gvlk.endsWith(`-${record.partialProductKey.toUpperCase()}`)
    ? { isGvlk: true, text: `the GVLK of ${sku.name}` }
    : { isGvlk: false, text: `not the GVLK (the GVLK of ${sku.name} ends in ${sku.gvlk.slice(-5)})` }
}

/** The recorded host ePID explained like `query` does, with the host key it names and whether that covers the product. */
function hostEpidView(value: string, sku: Sku | undefined, catalog: ProductCatalog = productCatalog): HostEpidView {
  const parsed = parseEpid(value)
  const parts = parsed.ok ? parsed.parts : undefined
  const described = describeEpid(value, parts, catalog)
  if (parts === undefined) return { ...described, hostKey: null }
  const candidates = catalog.csvlksForEpid(parts.groupId, parts.keyId)
  if (sku === undefined) {
    const name = candidates.map((c) => c.name).join(' / ')
    return { ...described, hostKey: candidates.length === 0 ? null : { name, verdict: 'ambiguous', text: `host key ${name}` } }
  }
  const coverage = catalog.hostKeyCoverage(parts.groupId, parts.keyId, sku.kmsCountedId)
  const name = coverage.csvlk?.name ?? (candidates.map((c) => c.name).join(' / ') || 'unknown host key')
  const text = {
    covered: `host key ${name}, which activates ${sku.kmsCountedName}`,
    'not-covered': `host key ${name}, which does NOT activate ${sku.kmsCountedName}`,
    ambiguous: `host key ${name}: some of these activate ${sku.kmsCountedName}, some do not`,
    'unknown-key': `no known host key has group ${parts.groupId} and key id ${parts.keyId}`
  }[coverage.verdict]
  return { ...described, hostKey: { name, verdict: coverage.verdict, text } }
}

function describeProduct(record: ProductRecord, readAt: string, catalog: ProductCatalog): ProductReport {
  const sku = record.id === null ? undefined : catalog.skuById(record.id)
  const known = record.licenseStatus === null ? undefined : LICENSE_STATUS[record.licenseStatus]
  const status = known ?? { name: 'unknown' as const, text: `Unknown (${record.licenseStatus ?? 'not reported'})` }
  const minutes = record.gracePeriodRemainingMin
  const remaining =
    minutes === null || minutes <= 0 || known === undefined || status.name === 'unlicensed' || status.name === 'notification'
      ? null
      : { ...duration(minutes, readAt), kind: status.name === 'licensed' ? ('validity' as const) : ('grace' as const) }
  const intervalText =
    record.activationIntervalMin === null || record.renewalIntervalMin === null
      ? null
      : `retry every ${formatMinutes(record.activationIntervalMin)} until activated, renew every ${formatMinutes(record.renewalIntervalMin)}`
  const configuredPort = record.kmsPort !== null && record.kmsPort > 0 ? record.kmsPort : LICENSING_KMS_PORT
  return {
    source: record.source,
    activationId: record.id,
    application: { id: record.applicationId, name: applicationName(record.applicationId, record.source, catalog) },
    name: record.name ?? sku?.name ?? 'unnamed product',
    description: record.description,
    channel: channelOf(record.description),
    keyChannel: record.productKeyChannel,
    partialKey: record.partialProductKey,
    catalogName: sku?.name ?? null,
    gvlk: gvlkView(record, sku),
    status: { code: record.licenseStatus, name: status.name, text: status.text, level: status.name === 'licensed' ? 'ok' : 'warning' },
    reason: record.licenseStatusReason === null || record.licenseStatusReason === 0 ? null : windowsCode(record.licenseStatusReason),
    remaining,
    evaluationEnd: record.evaluationEndDate,
    intervals: { activationMin: record.activationIntervalMin, renewalMin: record.renewalIntervalMin, text: intervalText },
    kms: {
      configuredHost:
        record.kmsMachine === null
          ? null
          : { host: record.kmsMachine, port: configuredPort, endpoint: formatHostPort(record.kmsMachine, configuredPort) },
      lookupDomain: record.kmsLookupDomain,
      discovered:
        record.discoveredName === null
          ? null
          : {
              host: record.discoveredName,
              port: record.discoveredPort || LICENSING_KMS_PORT,
              endpoint: formatHostPort(record.discoveredName, record.discoveredPort || LICENSING_KMS_PORT),
              ip: record.discoveredIp
            },
      hostEpid: record.kmsHostEpid === null ? null : hostEpidView(record.kmsHostEpid, sku, catalog),
      lastActivationType:
        record.lastActivationType === 1 ? 'AD' : record.lastActivationType === 2 ? 'KMS' : record.lastActivationType === 3 ? 'token' : null,
      configuredActivationType: record.activationTypeEnabled === null ? null : (ACTIVATION_TYPE[record.activationTypeEnabled] ?? null)
    },
    isKmsHost: record.isKmsHost === true
  }
}

/** The port Windows uses when none is set (`slmgr /skms host` without a port). */
const LICENSING_KMS_PORT = 1688

/** A snapshot as a technician's report. */
function describeMachine(snapshot: LicensingSnapshot, computer: string | null, catalog: ProductCatalog = productCatalog): MachineReport {
  const products = snapshot.products.map((p) => describeProduct(p, snapshot.readAt, catalog))
  const s = snapshot.service
  const isHost = products.some((p) => p.isKmsHost) || (s?.currentCount !== null && s?.currentCount !== undefined && s.currentCount >= 0)
  const notLicensed = products.filter((p) => p.status.level !== 'ok')
  const summary =
    products.length === 0
      ? 'no product has a key installed'
      : notLicensed.length === 0
        ? `${products.length} product(s), all licensed`
        : `${notLicensed.length} of ${products.length} product(s) not licensed: ${notLicensed.map((p) => `${p.name} (${p.status.text})`).join('; ')}`
  return {
    computer,
    readAt: snapshot.readAt,
    powershellVersion: snapshot.powershellVersion,
    elevated: snapshot.elevated,
    serviceVersion: s?.version ?? null,
    cmid: s?.clientMachineId ?? null,
    hostCaching: s?.hostCaching ?? null,
    kmsHost:
      isHost && s !== null
        ? {
            currentCount: s.currentCount,
            requiredCount: s.requiredClientCount,
            listeningPort: s.listeningPort,
            dnsPublishing: s.dnsPublishing,
            lowPriority: s.lowPriority,
            requests: s.requests
          }
        : null,
    office2010:
      snapshot.officeService === null
        ? null
        : {
            cmid: snapshot.officeService.clientMachineId,
            hostCaching: snapshot.officeService.hostCaching,
            version: snapshot.officeService.version
          },
    products,
    level: products.length > 0 && notLicensed.length === 0 ? 'ok' : 'warning',
    summary
  }
}

// ── failures ─────────────────────────────────────────────────────────────────────────────────────────────────

/** A LicensingError as the reason a computer could not be read or changed, with its fix. */
function describeFailure(error: LicensingError, computer: string | null): LicensingFailure {
  const code = error.code === null ? null : windowsCode(error.code)
  const where = computer ?? 'this computer'
  const fixes: Partial<Record<LicensingFailureKind, string>> = {
    'access-denied':
      computer === null
        ? (code?.fix ?? explainWindowsCode(WINDOWS_CODE.accessDenied).fix)
        : `use an account that is an administrator on ${computer} (in a workgroup, also set LocalAccountTokenFilterPolicy=1 there)`,
    unreachable: `check the name and the network path to ${where}: WinRM listens on TCP 5985; the computer must be on and reachable`
  }
  return {
    kind: error.kind,
    message: error.message,
    fix: fixes[error.kind] ?? error.fix ?? code?.fix ?? 'try again; if it persists, run the same command in PowerShell on that computer',
    windowsCode: code
  }
}

/** Turns the adapter's refusals of the whole request (no Windows, bad input) into the API's errors. */
function asApiFailure(error: unknown): never {
  if (error instanceof LicensingError && (error.kind === 'needs-windows' || error.kind === 'invalid-input'))
    throw new ApiFailure(error.kind, error.message, error.fix ?? undefined)
  throw error
}

// ── reading ──────────────────────────────────────────────────────────────────────────────────────────────────

export interface LicensingHost {
  readonly env: NodeJS.ProcessEnv
  readonly platform: NodeJS.Platform
  readonly catalog?: ProductCatalog
  /** Per-run deadlines (tests shorten them). */
  readonly readTimeoutMs?: number
  readonly actionTimeoutMs?: number
  readonly parallelComputers?: number
}

function adapterOptions(host: LicensingHost): LicensingAdapterOptions {
  return {
    env: host.env,
    platform: host.platform,
    ...(host.readTimeoutMs !== undefined ? { readTimeoutMs: host.readTimeoutMs } : {}),
    ...(host.actionTimeoutMs !== undefined ? { actionTimeoutMs: host.actionTimeoutMs } : {}),
    ...(host.catalog !== undefined ? { catalog: host.catalog } : {})
  }
}

/** Checks the whole request before anything runs: PowerShell exists, every name is valid, not too many names. */
function checkTargets(host: LicensingHost, computers: readonly string[]): (string | null)[] {
  try {
    locatePowerShell(host)
    if (computers.length > LICENSING_DEFAULTS.maxComputers)
      throw new LicensingError(
        'invalid-input',
        `${computers.length} computers named; at most ${LICENSING_DEFAULTS.maxComputers} at a time`,
        {
          fix: 'split the list'
        }
      )
    const names = computers.map(checkComputerName)
    // The first spelling of a name wins; the same computer is read once.
    const unique = names.filter((name, at) => names.findIndex((other) => other.toLowerCase() === name.toLowerCase()) === at)
    return unique.length === 0 ? [null] : unique
  } catch (error) {
    return asApiFailure(error)
  }
}

async function readOne(host: LicensingHost, computer: string | null): Promise<ComputerResult> {
  try {
    const snapshot = await readLicensingSnapshot(adapterOptions(host), computer)
    return { computer, ok: true, state: describeMachine(snapshot, computer, host.catalog) }
  } catch (error) {
    if (error instanceof LicensingError) return { computer, ok: false, failure: describeFailure(error, computer) }
    throw error
  }
}

function statusLevel(results: readonly ComputerResult[]): 0 | 1 | 2 {
  if (results.some((r) => !r.ok)) return 2
  return results.some((r) => r.ok && r.state.level !== 'ok') ? 1 : 0
}

/** The state of this computer (no names) or of each named computer: one result per computer, in order. */
export async function readLicensingStatus(host: LicensingHost, computers: readonly string[] = []): Promise<LicensingStatusView> {
  const targets = checkTargets(host, computers)
  const results = await mapLimited(targets, host.parallelComputers ?? LICENSING_DEFAULTS.parallelComputers, (c) => readOne(host, c))
  return { results, level: statusLevel(results) }
}

// ── actions ──────────────────────────────────────────────────────────────────────────────────────────────────

/** An action as the app and the CLI ask for it; install-gvlk and activate are resolved against each computer's state. */
export type LicensingActionRequest =
  | { kind: 'set-host'; host: string; port: number }
  | { kind: 'clear-host' }
  | { kind: 'set-domain'; domain: string }
  | { kind: 'clear-domain' }
  | { kind: 'host-caching'; enabled: boolean }
  /** the GVLK of the catalog product `productSkuId`, default: of the installed Windows edition */
  | { kind: 'install-gvlk'; productSkuId?: string | undefined }
  /** default: every installed KMS client product */
  | { kind: 'activate'; productIds?: readonly string[] | undefined }
  | { kind: 'refresh' }

/** Whether Windows needs administrator rights for it (slmgr's /ato does not). */
const NEEDS_ELEVATION: Record<LicensingActionKind, boolean> = {
  'set-host': true,
  'clear-host': true,
  'set-domain': true,
  'clear-domain': true,
  'host-caching': true,
  'install-gvlk': true,
  activate: false,
  refresh: false
}

export type PlanResult =
  | { computer: string | null; ok: true; plan: ActionPlan; action: LicensingAction }
  | { computer: string | null; ok: false; failure: LicensingFailure }

function planFailure(computer: string | null, message: string, fix: string): PlanResult {
  return { computer, ok: false, failure: { kind: 'invalid-input', message, fix, windowsCode: null } }
}

/** What `request` means for a computer in `state`: the adapter's action and the words that say what it will do. */
function resolveAction(request: LicensingActionRequest, state: MachineReport, catalog: ProductCatalog = productCatalog): PlanResult {
  const computer = state.computer
  const where = computer ?? 'this computer'
  const warnings: string[] = []
  const needsElevation = NEEDS_ELEVATION[request.kind]
  if (needsElevation && state.elevated === false)
    warnings.push(
      `KMS Scout is not running as administrator: Windows will refuse this with ${explainWindowsCode(WINDOWS_CODE.accessDenied).code} (access denied); run KMS Scout as administrator`
    )
  const ok = (action: LicensingAction, text: string): PlanResult => ({
    computer,
    ok: true,
    action,
    plan: { computer, text, needsElevation, warnings }
  })
  const windows = state.products.filter((p) => p.source === 'spp' && p.application.id === WINDOWS_APPLICATION_ID)
  switch (request.kind) {
    case 'set-host':
      if (state.products.some((p) => p.kms.lookupDomain !== null))
        warnings.push('a lookup domain is set too; the host set here takes precedence over it')
      return ok(
        request,
        `Set the KMS host of ${where} to ${formatHostPort(request.host, request.port)} (slmgr /skms): SoftwareLicensingService.SetKeyManagementServiceMachine and SetKeyManagementServicePort. Windows stops looking for hosts in DNS while a host is set.`
      )
    case 'clear-host':
      return ok(
        request,
        `Clear the KMS host of ${where} (slmgr /ckms): ClearKeyManagementServiceMachine and ClearKeyManagementServicePort. Windows finds hosts through DNS again.`
      )
    case 'set-domain':
      return ok(
        request,
        `Look for KMS hosts of ${where} in the DNS domain ${request.domain} only (slmgr /skms-domain): SetKeyManagementServiceLookupDomain.`
      )
    case 'clear-domain':
      return ok(request, `Clear the KMS lookup domain of ${where} (slmgr /ckms-domain): ClearKeyManagementServiceLookupDomain.`)
    case 'host-caching':
      return ok(
        request,
        request.enabled
          ? `Turn KMS host caching on for ${where} (slmgr /skhc): DisableKeyManagementServiceHostCaching(false). Windows keeps using the host that last answered.`
          : `Turn KMS host caching off for ${where} (slmgr /ckhc): DisableKeyManagementServiceHostCaching(true). Windows asks DNS every time, so SRV priority and weight apply.`
      )
    case 'refresh':
      return ok(request, `Refresh the licence status of ${where}: SoftwareLicensingService.RefreshLicenseStatus.`)
    case 'install-gvlk': {
      let sku: Sku | undefined
      if (request.productSkuId !== undefined) {
        sku = catalog.skuById(request.productSkuId)
        if (sku === undefined)
          return planFailure(
            computer,
            `product ${request.productSkuId} is not in the catalog`,
            "run 'kms-scout products' to find the edition"
          )
      } else {
        const installed = windows.find((p) => p.activationId !== null && catalog.skuById(p.activationId)?.gvlk)
        sku = installed?.activationId ? catalog.skuById(installed.activationId) : undefined
        if (sku === undefined)
          return planFailure(
            computer,
            `the Windows edition installed on ${where} (${windows.map((p) => p.name).join(', ') || 'none found'}) has no GVLK in the catalog`,
            'name the edition to install with --product (see kms-scout products --search)'
          )
      }
      if (sku.gvlk === null)
        return planFailure(computer, `the catalog has no GVLK for ${sku.name}`, 'pick a volume edition with a GVLK (kms-scout products)')
      if (sku.gvlkIsGenerated)
        return planFailure(
          computer,
          `the catalog's GVLK for ${sku.name} is a generated one, not a key Microsoft publishes`,
          'KMS Scout installs only published GVLKs'
        )
      if (!windows.some((p) => p.activationId === sku.guid) && sku.application === 'Windows')
        warnings.push(
          `${where} runs ${windows.map((p) => p.name).join(', ') || 'another edition'}; installing the GVLK of ${sku.name} changes the edition or fails (0xC004F069)`
        )
      return ok(
        { kind: 'install-gvlk', productKey: sku.gvlk },
        `Install the GVLK of ${sku.name} (…${sku.gvlk.slice(-5)}) on ${where} (slmgr /ipk): SoftwareLicensingService.InstallProductKey, then RefreshLicenseStatus. ${where} becomes a KMS client of that edition and activates against a KMS host.`
      )
    }
    case 'activate': {
      const installed = state.products.filter((p) => p.source === 'spp' && p.activationId !== null)
      let chosen: ProductReport[]
      if (request.productIds !== undefined && request.productIds.length > 0) {
        const wanted = request.productIds.map((id) => id.toLowerCase())
        const missing = wanted.filter((id) => !installed.some((p) => p.activationId === id))
        if (missing.length > 0)
          return planFailure(
            computer,
            `no installed product on ${where} has the activation ID ${missing.join(', ')}`,
            'run kms-scout status to list the installed products and their IDs'
          )
        chosen = installed.filter((p) => wanted.includes(p.activationId!))
      } else {
        chosen = installed.filter((p) => p.channel === 'VOLUME_KMSCLIENT')
        if (chosen.length === 0)
          return planFailure(
            computer,
            `no KMS client product (GVLK) is installed on ${where}`,
            'install the GVLK first (kms-scout install-gvlk), or name a product to activate'
          )
      }
      return ok(
        { kind: 'activate', productIds: chosen.map((p) => p.activationId!) },
        `Activate ${chosen.map((p) => p.name).join(', ')} on ${where} now (slmgr /ato): SoftwareLicensingProduct.Activate, then RefreshLicenseStatus. A KMS client contacts its KMS host.`
      )
    }
  }
}

/** Reads each computer and says what the action would do there, without doing it. */
export async function planLicensingAction(
  host: LicensingHost,
  request: LicensingActionRequest,
  computers: readonly string[] = []
): Promise<PlanResult[]> {
  const targets = checkTargets(host, computers)
  return mapLimited(targets, host.parallelComputers ?? LICENSING_DEFAULTS.parallelComputers, async (computer) => {
    const read = await readOne(host, computer)
    return read.ok ? resolveAction(request, read.state, host.catalog) : { computer, ok: false, failure: read.failure }
  })
}

/** Takes the action on each computer (after reading it to resolve the action), then reads it again. */
export async function runLicensingActionOn(
  host: LicensingHost,
  request: LicensingActionRequest,
  computers: readonly string[] = [],
  hooks: { onPlan?: (plan: ActionPlan) => void } = {}
): Promise<{ results: ActionResultView[]; ok: boolean }> {
  const targets = checkTargets(host, computers)
  const results = await mapLimited(
    targets,
    host.parallelComputers ?? LICENSING_DEFAULTS.parallelComputers,
    async (computer): Promise<ActionResultView> => {
      const before = await readOne(host, computer)
      if (!before.ok)
        return {
          computer,
          ok: false,
          plan: null,
          outcome: 'not changed: the state could not be read',
          failure: before.failure,
          after: null
        }
      const resolved = resolveAction(request, before.state, host.catalog)
      if (!resolved.ok) return { computer, ok: false, plan: null, outcome: 'not changed', failure: resolved.failure, after: null }
      hooks.onPlan?.(resolved.plan)
      let failure: LicensingFailure | null = null
      try {
        await runLicensingAction(adapterOptions(host), resolved.action, computer)
      } catch (error) {
        if (!(error instanceof LicensingError)) throw error
        failure = describeFailure(error, computer)
      }
      const after = await readOne(host, computer)
      const outcome =
        failure === null
          ? `done: ${request.kind} on ${computer ?? 'this computer'}`
          : `failed: ${failure.windowsCode ? `${failure.windowsCode.code} ` : ''}${failure.windowsCode?.summary ?? failure.message}`
      return { computer, ok: failure === null, plan: resolved.plan, outcome, failure, after }
    }
  )
  return { results, ok: results.every((r) => r.ok) }
}

// ── cross-check ──────────────────────────────────────────────────────────────────────────────────────────────

function crossCheckAnswer(report: QueryReport, sku: Sku | undefined, catalog: ProductCatalog): CrossCheckAnswer {
  const a = report.answer
  return {
    ok: report.ok,
    summary: report.summary,
    endpoint: report.target.endpoint,
    count: a?.count ?? null,
    threshold: a?.threshold ?? null,
    wouldActivate: report.wouldActivate,
    epid: a === null ? null : hostEpidView(a.epid.value, sku, catalog),
    error:
      report.error === null
        ? null
        : { explanation: report.error.explanation, fix: report.error.fix, windowsCode: report.error.windowsCode },
    cmid: report.request.cmid,
    rttMs: report.rtt.totalMs
  }
}

/** Asks the KMS host Windows uses (for `productId`, default: the first product with a recorded host) what it says now. */
export async function crossCheckLicensingHost(
  ctx: AppContext,
  host: LicensingHost,
  input: { computer?: string | undefined; productId?: string | undefined },
  hooks: { onWarning: (message: string) => void }
): Promise<CrossCheckView> {
  const [target] = checkTargets(host, input.computer === undefined ? [] : [input.computer])
  const read = await readOne(host, target ?? null)
  if (!read.ok) throw new ApiFailure(read.failure.kind, read.failure.message, read.failure.fix)
  const state = read.state
  const candidates = state.products.filter((p) => p.kms.configuredHost !== null || p.kms.discovered !== null)
  const product = input.productId === undefined ? candidates[0] : candidates.find((p) => p.activationId === input.productId!.toLowerCase())
  if (product === undefined)
    throw new ApiFailure(
      'no-kms-host',
      `Windows has no KMS host recorded ${input.productId === undefined ? 'for any product' : `for product ${input.productId}`} on ${target ?? 'this computer'}`,
      'set one (kms-scout set-host HOST) or activate once so Windows finds one in DNS (kms-scout activate)'
    )
  const endpoint = (product.kms.configuredHost ?? product.kms.discovered)!
  const catalog = host.catalog ?? productCatalog
  const sku = product.activationId === null ? undefined : catalog.skuById(product.activationId)
  // The machine's own CMID: the check counts as that machine, never as one more client on the host.
  const cmid = state.cmid !== null && state.cmid !== NIL_GUID ? state.cmid : undefined
  const report = await queryHost(ctx, { host: endpoint.host, port: endpoint.port, product: sku, cmid }, hooks)
  const now = crossCheckAnswer(report, sku, catalog)
  const recordedEpid = product.kms.hostEpid
  const answered = now.epid?.value ?? null
  const sameEpid = recordedEpid === null || answered === null ? null : recordedEpid.value === answered
  const summary = !now.ok
    ? `${endpoint.endpoint} did not give a verified answer now: ${now.error?.explanation ?? now.summary}`
    : sameEpid === false
      ? `${endpoint.endpoint} answers with another ePID than Windows recorded: a different host behind the name, or a new host key`
      : `${endpoint.endpoint} answers: count ${now.count} of ${now.threshold}${sameEpid === true ? ', same ePID as Windows recorded' : ''}`
  return {
    computer: target ?? null,
    product: { name: product.name, activationId: product.activationId },
    recorded: {
      source: product.kms.configuredHost !== null ? 'configured' : 'discovered',
      endpoint: endpoint.endpoint,
      ip: product.kms.discovered?.ip ?? null,
      epid: recordedEpid
    },
    now,
    sameEpid,
    summary
  }
}

/** The licensing host of this process: its environment and platform. */
function processLicensingHost(): LicensingHost {
  return { env: process.env, platform: process.platform }
}

/** The request the API's parsed input stands for (its `host` field is `HOST[:PORT]`, already split). */
type ParsedActionInput = ParsedMethodInput<'runLicensingAction'>['action']

function actionRequestOf(input: ParsedActionInput): LicensingActionRequest {
  return input.kind === 'set-host' ? { kind: 'set-host', host: input.host.host, port: input.host.port } : input
}

export function createLicensingHandlers(
  ctx: AppContext,
  events: EventHub,
  host: LicensingHost = processLicensingHost()
): Pick<HandlerTable, 'licensingStatus' | 'planLicensingAction' | 'runLicensingAction' | 'crossCheckLicensingHost'> {
  const onWarning = (message: string): void => events.emit('notice', { level: 'warning', message })
  return {
    licensingStatus: async (input) => readLicensingStatus(host, input?.computers ?? []),
    planLicensingAction: async (input) => ({
      plans: await planLicensingAction(host, actionRequestOf(input.action), input.computers ?? [])
    }),
    runLicensingAction: async (input) => runLicensingActionOn(host, actionRequestOf(input.action), input.computers ?? []),
    crossCheckLicensingHost: async (input) =>
      crossCheckLicensingHost(ctx, host, { computer: input?.computer, productId: input?.productId }, { onWarning })
  }
}
