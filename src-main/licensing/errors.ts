/**
 * Why a licensing read or action did not give an answer, sorted into the few reasons a technician acts on
 * differently: the feature needs Windows, bad input, the computer cannot be reached, access is denied, WinRM is off
 * there, authentication failed, PowerShell did not finish, its output was unreadable, or Windows refused the action
 * with a code. The Windows code, when there is one, is explained by the one table (common/windows-codes.ts) in the
 * service; here it is only found (docs/licensing.md §5).
 */
import { WINDOWS_CODE } from '../common/windows-codes'

export type LicensingFailureKind =
  | 'needs-windows'
  | 'invalid-input'
  | 'unreachable'
  | 'access-denied'
  | 'winrm-off'
  | 'authentication'
  | 'timeout'
  | 'unreadable'
  | 'powershell-failed'
  | 'windows-error'

export class LicensingError extends Error {
  readonly kind: LicensingFailureKind
  /** The HRESULT Windows reported, as an unsigned 32-bit number, when there is one. */
  readonly code: number | null
  /** One line: how to fix it, when the kind alone says it (otherwise the code's entry in the table does). */
  readonly fix: string | null

  constructor(kind: LicensingFailureKind, message: string, extra: { code?: number | null; fix?: string | null } = {}) {
    super(message)
    this.name = 'LicensingError'
    this.kind = kind
    this.code = extra.code ?? null
    this.fix = extra.fix ?? null
  }
}

/** What the scripts' `trap` prints for a terminating error (every field may be missing). */
export interface ErrorRecord {
  readonly message: string | null
  readonly errorId: string | null
  readonly category: string | null
  readonly hresult: number | null
  readonly cimCode: number | null
  readonly nativeCode: string | null
}

/** .NET's generic HResults: they say "an exception", not what Windows reported. */
const GENERIC_HRESULTS = new Set([0x80131500, 0x80131501, 0x80004005, 0x80131509])

/** The most specific HRESULT in an error record: the CIM error's code, then `HRESULT 0x…` in its id or message. */
export function errorRecordCode(record: ErrorRecord): number | null {
  if (record.cimCode !== null && record.cimCode !== 0) return record.cimCode >>> 0
  for (const text of [record.errorId, record.message]) {
    const match = text === null ? null : /(?:HRESULT\s+)?0x([0-9a-f]{8})\b/i.exec(text)
    if (match !== null) return Number.parseInt(match[1]!, 16) >>> 0
  }
  if (record.hresult !== null && !GENERIC_HRESULTS.has(record.hresult >>> 0)) return record.hresult >>> 0
  return null
}

/** Which kind of failure an error record is, from its code, the CIM status and PowerShell's error category. */
export function classifyErrorRecord(record: ErrorRecord, remote: boolean): LicensingFailureKind {
  const code = errorRecordCode(record)
  if (code === WINDOWS_CODE.accessDenied || record.nativeCode === 'AccessDenied' || record.category === 'PermissionDenied')
    return 'access-denied'
  if (code === WINDOWS_CODE.winrmCannotConnect) return 'winrm-off'
  if (code === WINDOWS_CODE.kerberosNoCredentials) return 'authentication'
  if (remote && (record.category === 'ConnectionError' || record.category === 'ResourceUnavailable')) return 'unreachable'
  return 'windows-error'
}
