/**
 * The activation manager's adapter to Windows: read the licensing state of this computer or a named one, and take
 * one of the actions slmgr takes — each by running a fixed script (scripts.ts) with the request as JSON data on
 * standard input (powershell.ts). Every value in a request is checked here, at the last step before PowerShell, with
 * the project's own parsers: a KMS host as `HOST[:PORT]`, a lookup domain as a DNS name, a computer name, a key that
 * must be a GVLK of the catalog (KMS Scout installs no other key), product IDs as GUIDs.
 */
import { isIP } from 'node:net'
import { isHostName, KMS_HOST_RULES, parseHostPort } from '../common/host-port'
import { LICENSING_DEFAULTS } from '../common/defaults'
import { normalizeGuid } from '../protocol/guid'
import { productCatalog, type ProductCatalog } from '../protocol/products'
import { checkComputerName } from './computer-name'
import { classifyErrorRecord, errorRecordCode, LicensingError } from './errors'
import { cimTimeoutSeconds, locatePowerShell, runPowerShell, type PowerShellHost, type PowerShellRun } from './powershell'
import { ACTION_SCRIPT, READ_SCRIPT } from './scripts'
import { errorRecordOf, parseScriptOutput, parseSnapshot, type LicensingSnapshot } from './snapshot'

/** The actions slmgr takes that KMS Scout offers (docs/licensing.md §4). */
export type LicensingAction =
  | { readonly kind: 'set-host'; readonly host: string; readonly port: number }
  | { readonly kind: 'clear-host' }
  | { readonly kind: 'set-domain'; readonly domain: string }
  | { readonly kind: 'clear-domain' }
  | { readonly kind: 'host-caching'; readonly enabled: boolean }
  | { readonly kind: 'install-gvlk'; readonly productKey: string }
  | { readonly kind: 'activate'; readonly productIds: readonly string[] }
  | { readonly kind: 'refresh' }

export type LicensingActionKind = LicensingAction['kind']

export interface LicensingAdapterOptions extends PowerShellHost {
  readonly readTimeoutMs?: number
  readonly actionTimeoutMs?: number
  readonly catalog?: ProductCatalog
  /** The clock for a snapshot whose script printed no time of its own. */
  readonly now?: () => Date
}

/** The JSON object the scripts read from standard input: the action's fields, the computer, the CIM deadline. */
export type ScriptRequest = Record<string, string | number | boolean | null | readonly string[]>

/** A request's computer: null for this one, else a checked name. */
function computerField(computer: string | null): string | null {
  return computer === null ? null : checkComputerName(computer)
}

function invalid(message: string, fix: string): LicensingError {
  return new LicensingError('invalid-input', message, { fix })
}

/** The data the action script gets for `action` — checked, so nothing malformed reaches PowerShell. */
export function actionRequest(
  action: LicensingAction,
  computer: string | null,
  timeoutMs: number,
  catalog: ProductCatalog = productCatalog
): ScriptRequest {
  const base = { action: action.kind, computer: computerField(computer), timeoutSec: cimTimeoutSeconds(timeoutMs) }
  switch (action.kind) {
    case 'set-host': {
      const parsed = parseHostPort(action.host, KMS_HOST_RULES)
      if (!parsed.ok || parsed.value.host !== action.host)
        throw invalid(
          `KMS host ${JSON.stringify(action.host)} is not a host name or IP address`,
          'give the host without a port, e.g. kms01.corp.example, and the port separately'
        )
      if (!Number.isInteger(action.port) || action.port < 1 || action.port > 65_535)
        throw invalid(`KMS port ${action.port} is out of range`, 'a port is a whole number from 1 to 65535 (KMS uses 1688)')
      return { ...base, host: action.host, port: action.port }
    }
    case 'set-domain': {
      const domain = action.domain.endsWith('.') ? action.domain.slice(0, -1) : action.domain
      if (isIP(domain) !== 0 || !isHostName(domain) || !domain.includes('.'))
        throw invalid(
          `lookup domain ${JSON.stringify(action.domain)} is not a DNS domain`,
          'give the DNS domain that holds the _vlmcs._tcp records, e.g. corp.example'
        )
      return { ...base, domain }
    }
    case 'host-caching':
      return { ...base, enabled: action.enabled }
    case 'install-gvlk': {
      const key = action.productKey.trim().toUpperCase()
      const sku = catalog.skus.find((s) => s.gvlk === key)
      if (sku === undefined)
        throw invalid(
          'the key is not a GVLK (KMS client setup key) of the product catalog',
          'KMS Scout installs only the public GVLKs it knows; pick the product with --product'
        )
      return { ...base, productKey: key }
    }
    case 'activate': {
      const ids = action.productIds.map((id) => normalizeGuid(id))
      if (ids.length === 0 || ids.some((id) => id === undefined))
        throw invalid('no product to activate, or a product ID that is not a GUID', 'name installed products by their activation ID')
      return { ...base, productIds: ids as string[] }
    }
    case 'clear-host':
    case 'clear-domain':
    case 'refresh':
      return base
  }
}

/** The data the read script gets. */
function readRequest(computer: string | null, timeoutMs: number): ScriptRequest {
  return { computer: computerField(computer), timeoutSec: cimTimeoutSeconds(timeoutMs) }
}

/** The error a finished run stands for, or undefined when it succeeded. */
function failureOf(run: PowerShellRun, parsed: Record<string, unknown> | undefined, remote: boolean): LicensingError | undefined {
  const record = parsed === undefined ? null : errorRecordOf(parsed)
  if (record !== null) {
    const code = errorRecordCode(record)
    return new LicensingError(classifyErrorRecord(record, remote), record.message ?? 'PowerShell reported an error without a message', {
      code
    })
  }
  if (run.exitCode !== 0) {
    const firstLine = run.stderr.split(/\r?\n/).find((line) => line.trim() !== '') ?? ''
    return new LicensingError(
      'powershell-failed',
      `PowerShell exited with ${run.exitCode ?? 'a signal'}${firstLine === '' ? '' : `: ${firstLine.trim().slice(0, 300)}`}`,
      {
        fix: 'run the same read in a PowerShell window to see the whole error (docs/licensing.md §6)'
      }
    )
  }
  return undefined
}

async function run(
  options: LicensingAdapterOptions,
  script: string,
  request: ScriptRequest,
  timeoutMs: number
): Promise<Record<string, unknown>> {
  const executable = locatePowerShell(options)
  const result = await runPowerShell(executable, script, request, { env: options.env, timeoutMs })
  let parsed: Record<string, unknown> | undefined
  try {
    parsed = parseScriptOutput(result.stdout)
  } catch (error) {
    // A failed run that printed no JSON is explained by its exit status and standard error, not by "unreadable".
    if (result.exitCode === 0) throw error
  }
  const failure = failureOf(result, parsed, request.computer !== null)
  if (failure !== undefined) throw failure
  return parsed!
}

/** This computer's (computer null) or a named computer's licensing state. */
export async function readLicensingSnapshot(options: LicensingAdapterOptions, computer: string | null): Promise<LicensingSnapshot> {
  const timeoutMs = options.readTimeoutMs ?? LICENSING_DEFAULTS.readTimeoutMs
  const request = readRequest(computer, timeoutMs)
  const parsed = await run(options, READ_SCRIPT, request, timeoutMs)
  return parseSnapshot(parsed, (options.now ?? (() => new Date()))())
}

export interface ActionResult {
  readonly action: LicensingActionKind
  /** Each CIM method's ReturnValue, in call order (0 = success). */
  readonly returnValues: readonly number[]
}

/** Takes one action on this computer or a named one; a refusal by Windows is a LicensingError with its code. */
export async function runLicensingAction(
  options: LicensingAdapterOptions,
  action: LicensingAction,
  computer: string | null
): Promise<ActionResult> {
  const timeoutMs = options.actionTimeoutMs ?? LICENSING_DEFAULTS.actionTimeoutMs
  const request = actionRequest(action, computer, timeoutMs, options.catalog)
  const parsed = await run(options, ACTION_SCRIPT, request, timeoutMs)
  const values = (
    Array.isArray(parsed.returnValues)
      ? parsed.returnValues
      : parsed.returnValues === undefined || parsed.returnValues === null
        ? []
        : [parsed.returnValues]
  ).map((v) => (typeof v === 'number' ? v >>> 0 : Number.NaN))
  if (parsed.action !== action.kind || values.some((v) => Number.isNaN(v)))
    throw new LicensingError('unreadable', `the ${action.kind} action printed JSON KMS Scout does not expect`, {
      fix: 'unset KMS_SCOUT_POWERSHELL or point it at PowerShell'
    })
  const refused = values.find((v) => v !== 0)
  if (refused !== undefined) throw new LicensingError('windows-error', `Windows refused the ${action.kind} action`, { code: refused })
  return { action: action.kind, returnValues: values }
}
