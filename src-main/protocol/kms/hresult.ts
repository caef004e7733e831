/**
 * HRESULTs a KMS host returns in the NDR error stub (docs/protocol.md §8). What each means for a technician, and
 * the fix, is in the project's one table of Windows codes (common/windows-codes.ts); this module only names the
 * values the protocol itself sends and recognises.
 */
import { explainWindowsCode, formatCode, WINDOWS_CODE } from '../../common/windows-codes'

export const HRESULT = {
  /** ERROR_INVALID_DATA as HRESULT: unsupported version, malformed request */
  invalidData: WINDOWS_CODE.invalidData,
  /** SL_E_VL_KEY_MANAGEMENT_SERVICE_ID_MISMATCH */
  kmsIdMismatch: WINDOWS_CODE.kmsCannotBeUsed,
  /** SL_E_VL_INVALID_TIMESTAMP */
  invalidTimestamp: WINDOWS_CODE.invalidTimestamp,
  /** SL_REMAPPING_SP_STATUS_INVALIDARG */
  invalidArg: WINDOWS_CODE.clientTableFull,
  /** SL_E_VL_NOT_ENOUGH_COUNT: what a Windows client reports when Count < N_Policy */
  notEnoughCount: WINDOWS_CODE.countInsufficient
} as const

/** `0xC004F042`. */
export const formatHresult = formatCode

export interface HresultInfo {
  name: string | undefined
  message: string
}

/** The symbolic name and one-line meaning of a host's HRESULT, from the one table. */
export function describeHresult(hr: number): HresultInfo {
  const entry = explainWindowsCode(hr)
  return { name: entry.symbol, message: entry.meaning }
}
