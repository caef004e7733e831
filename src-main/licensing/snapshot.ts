/**
 * The read script's JSON (docs/licensing.md §2) as typed values, whichever PowerShell printed it:
 * - a list of one item arrives as the item itself (Windows PowerShell 5.1 and 7 alike, for a pipeline with one
 *   result), and 5.1 may wrap a list as `{"value":[…],"Count":n}`;
 * - dates are `"\/Date(ms)\/"` in 5.1 (sometimes inside `{"value":…,"DateTime":…}`) and ISO 8601 text in 7;
 * - a property older Windows lacks is `null` (Select-Object keeps the name), or missing altogether;
 * - numbers may come as text.
 * Nothing here trusts the shape: a value of the wrong kind becomes null, and output that is not the script's
 * JSON at all is refused with LicensingError('unreadable').
 */
import { normalizeGuid } from '../protocol/guid'
import { LicensingError, type ErrorRecord } from './errors'

export interface ProductRecord {
  /** SoftwareLicensingProduct (Windows, Office 2013+) or OfficeSoftwareProtectionProduct (Office 2010). */
  readonly source: 'spp' | 'ospp'
  /** Activation ID = the SKU GUID, lower case. */
  readonly id: string | null
  readonly applicationId: string | null
  readonly name: string | null
  readonly description: string | null
  /** `Volume:GVLK`, `Retail`, `Volume:MAK`, … (Windows 8 and later). */
  readonly productKeyChannel: string | null
  readonly partialProductKey: string | null
  readonly licenseStatus: number | null
  /** HRESULT, unsigned. */
  readonly licenseStatusReason: number | null
  readonly gracePeriodRemainingMin: number | null
  /** ISO 8601; null when none (Windows reports 1601-01-01 for "no evaluation end"). */
  readonly evaluationEndDate: string | null
  readonly activationIntervalMin: number | null
  readonly renewalIntervalMin: number | null
  /** Last successful activation: 1 AD, 2 KMS, 3 token. */
  readonly lastActivationType: number | null
  /** Configured: 0 all, 1 AD, 2 KMS, 3 token. */
  readonly activationTypeEnabled: number | null
  /** `slmgr /skms` host; null when none is set. */
  readonly kmsMachine: string | null
  /** `slmgr /skms` port; 0 or null when none is set (then 1688). */
  readonly kmsPort: number | null
  readonly kmsLookupDomain: string | null
  readonly discoveredName: string | null
  readonly discoveredPort: number | null
  readonly discoveredIp: string | null
  /** The ePID of the KMS host this product last activated against. */
  readonly kmsHostEpid: string | null
  readonly isKmsHost: boolean | null
}

export interface KmsHostRequests {
  readonly total: number | null
  readonly failed: number | null
  readonly unlicensed: number | null
  readonly licensed: number | null
  readonly initialGrace: number | null
  readonly expiredOrHardwareOutOfTolerance: number | null
  readonly nonGenuineGrace: number | null
  readonly notification: number | null
}

export interface ServiceRecord {
  readonly source: 'spp' | 'ospp'
  readonly version: string | null
  readonly clientMachineId: string | null
  /** true: caching on (the default), false: off (slmgr /ckhc). */
  readonly hostCaching: boolean | null
  readonly listeningPort: number | null
  readonly dnsPublishing: boolean | null
  readonly lowPriority: boolean | null
  /** -1 (or null) when this machine is not a KMS host. */
  readonly currentCount: number | null
  readonly requiredClientCount: number | null
  readonly requests: KmsHostRequests
}

export interface LicensingSnapshot {
  /** When the script read the state (ISO 8601 UTC). */
  readonly readAt: string
  readonly powershellVersion: string | null
  /** Whether the script ran elevated; null for a remote computer. */
  readonly elevated: boolean | null
  readonly service: ServiceRecord | null
  readonly officeService: ServiceRecord | null
  /** SPP products first, then Office 2010's. */
  readonly products: readonly ProductRecord[]
}

type Json = unknown

function isObject(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A list, whatever shape PowerShell gave it: array, one object, `{value:[…],Count}`, or nothing. */
function asList(value: Json): Json[] {
  if (value === null || value === undefined) return []
  if (Array.isArray(value)) return value
  if (isObject(value) && Array.isArray(value.value) && 'Count' in value) return value.value
  return [value]
}

function text(value: Json): string | null {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (typeof value !== 'string') return null
  const trimmed = value.trim()
  return trimmed === '' ? null : trimmed
}

function integer(value: Json): number | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^-?[0-9]+$/.test(value.trim()) ? Number(value.trim()) : NaN
  return Number.isSafeInteger(n) ? n : null
}

/** An HRESULT or other uint32 (5.1 prints uint32 as decimal; a signed value is the same bits). */
function uint32(value: Json): number | null {
  const n = integer(value)
  return n === null || n < -0x80000000 || n > 0xffffffff ? null : n >>> 0
}

function flag(value: Json): boolean | null {
  if (typeof value === 'boolean') return value
  if (value === 1 || value === 0) return value === 1
  if (typeof value === 'string') {
    const t = value.trim().toLowerCase()
    if (t === 'true' || t === '1') return true
    if (t === 'false' || t === '0') return false
  }
  return null
}

function guid(value: Json): string | null {
  const t = text(value)
  return t === null ? null : (normalizeGuid(t) ?? null)
}

/** `/Date(1767225600000)/`, `/Date(1767225600000+0100)/` (5.1), ISO 8601 (7), or 5.1's `{value, DateTime}` object. */
export function parseDate(value: Json): string | null {
  if (isObject(value)) return parseDate(value.value)
  const t = text(value)
  if (t === null) return null
  const ms = /^\/Date\((-?[0-9]+)(?:[+-][0-9]{4})?\)\/$/.exec(t)
  const time = ms !== null ? Number(ms[1]) : /^[0-9]{4}-[0-9]{2}-[0-9]{2}T/.test(t) ? Date.parse(t) : NaN
  if (!Number.isFinite(time)) return null
  const date = new Date(time)
  // DateTime.MinValue and the FILETIME epoch both mean "not set" in these classes.
  return date.getUTCFullYear() <= 1601 ? null : date.toISOString()
}

function product(raw: Json, source: ProductRecord['source']): ProductRecord | null {
  if (!isObject(raw)) return null
  const port = (v: Json): number | null => {
    const n = integer(v)
    return n === null || n < 0 || n > 65_535 ? null : n
  }
  return {
    source,
    id: guid(raw.ID),
    applicationId: guid(raw.ApplicationID),
    name: text(raw.Name),
    description: text(raw.Description),
    productKeyChannel: text(raw.ProductKeyChannel),
    partialProductKey: text(raw.PartialProductKey),
    licenseStatus: integer(raw.LicenseStatus),
    licenseStatusReason: uint32(raw.LicenseStatusReason),
    gracePeriodRemainingMin: integer(raw.GracePeriodRemaining),
    evaluationEndDate: parseDate(raw.EvaluationEndDate),
    activationIntervalMin: integer(raw.VLActivationInterval),
    renewalIntervalMin: integer(raw.VLRenewalInterval),
    lastActivationType: integer(raw.VLActivationType),
    activationTypeEnabled: integer(raw.VLActivationTypeEnabled),
    kmsMachine: text(raw.KeyManagementServiceMachine),
    kmsPort: port(raw.KeyManagementServicePort),
    kmsLookupDomain: text(raw.KeyManagementServiceLookupDomain),
    discoveredName: text(raw.DiscoveredKeyManagementServiceMachineName),
    discoveredPort: port(raw.DiscoveredKeyManagementServiceMachinePort),
    discoveredIp: text(raw.DiscoveredKeyManagementServiceMachineIpAddress),
    kmsHostEpid: text(raw.KeyManagementServiceProductKeyID),
    isKmsHost: flag(raw.IsKeyManagementServiceMachine)
  }
}

function service(raw: Json, source: ServiceRecord['source']): ServiceRecord | null {
  const item = asList(raw)[0]
  if (!isObject(item)) return null
  return {
    source,
    version: text(item.Version),
    clientMachineId: guid(item.ClientMachineID),
    hostCaching: flag(item.KeyManagementServiceHostCaching),
    listeningPort: integer(item.KeyManagementServiceListeningPort),
    dnsPublishing: flag(item.KeyManagementServiceDnsPublishing),
    lowPriority: flag(item.KeyManagementServiceLowPriority),
    currentCount: integer(item.KeyManagementServiceCurrentCount),
    requiredClientCount: integer(item.RequiredClientCount),
    requests: {
      total: integer(item.KeyManagementServiceTotalRequests),
      failed: integer(item.KeyManagementServiceFailedRequests),
      unlicensed: integer(item.KeyManagementServiceUnlicensedRequests),
      licensed: integer(item.KeyManagementServiceLicensedRequests),
      initialGrace: integer(item.KeyManagementServiceOOBGraceRequests),
      expiredOrHardwareOutOfTolerance: integer(item.KeyManagementServiceOOTGraceRequests),
      nonGenuineGrace: integer(item.KeyManagementServiceNonGenuineGraceRequests),
      notification: integer(item.KeyManagementServiceNotificationRequests)
    }
  }
}

/** The error record a script's `trap` printed, or null when `parsed` is not one. */
export function errorRecordOf(parsed: Json): ErrorRecord | null {
  if (!isObject(parsed) || !isObject(parsed.error)) return null
  const e = parsed.error
  const signed = integer(e.hresult)
  return {
    message: text(e.message),
    errorId: text(e.errorId),
    category: text(e.category),
    hresult: signed === null ? null : signed >>> 0,
    cimCode: uint32(e.cimCode),
    nativeCode: text(e.nativeCode)
  }
}

/** The JSON object a script printed; LicensingError('unreadable') for anything else (BOM and blank lines allowed). */
export function parseScriptOutput(stdout: string): Record<string, Json> {
  const body = stdout.replace(/^\uFEFF/, '').trim()
  let parsed: Json
  try {
    parsed = JSON.parse(body)
  } catch {
    parsed = undefined
  }
  if (!isObject(parsed)) {
    const start = body.slice(0, 120)
    throw new LicensingError(
      'unreadable',
      `PowerShell did not print KMS Scout's JSON (it printed ${body === '' ? 'nothing' : JSON.stringify(start)})`,
      {
        fix: "check that KMS_SCOUT_POWERSHELL, if set, names PowerShell; on Windows, check that 'powershell.exe -NoProfile' starts normally"
      }
    )
  }
  return parsed
}

/** The read script's output as a snapshot; `receivedAt` stands in when the script's own time is missing. */
export function parseSnapshot(parsed: Record<string, Json>, receivedAt: Date): LicensingSnapshot {
  if (!('products' in parsed) && !('service' in parsed))
    throw new LicensingError('unreadable', 'the licensing read printed JSON without products or service', {
      fix: 'the PowerShell that ran is not the one KMS Scout expects; unset KMS_SCOUT_POWERSHELL or point it at PowerShell'
    })
  const products = [
    ...asList(parsed.products).map((p) => product(p, 'spp')),
    ...asList(parsed.officeProducts).map((p) => product(p, 'ospp'))
  ].filter((p): p is ProductRecord => p !== null)
  return {
    readAt: parseDate(parsed.readAt) ?? receivedAt.toISOString(),
    powershellVersion: text(parsed.powershell),
    elevated: flag(parsed.elevated),
    service: service(parsed.service, 'spp'),
    officeService: service(parsed.officeService, 'ospp'),
    products
  }
}
