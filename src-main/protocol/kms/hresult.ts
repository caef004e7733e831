/**
 * HRESULTs a KMS host returns in the NDR error stub (§8.1), with the wording a technician should see (§8.3).
 */

export const HRESULT = {
  /** ERROR_INVALID_DATA as HRESULT: unsupported version, malformed request */
  invalidData: 0x8007000d,
  /** SL_E_VL_KEY_MANAGEMENT_SERVICE_ID_MISMATCH */
  kmsIdMismatch: 0xc004f042,
  /** SL_E_VL_INVALID_TIMESTAMP */
  invalidTimestamp: 0xc004f06c,
  /** SL_REMAPPING_SP_STATUS_INVALIDARG */
  invalidArg: 0xc004d104,
  /** SL_E_VL_NOT_ENOUGH_COUNT: what a Windows client reports when Count < N_Policy */
  notEnoughCount: 0xc004f038
} as const

export function formatHresult(hr: number): string {
  return `0x${(hr >>> 0).toString(16).toUpperCase().padStart(8, '0')}`
}

export interface HresultInfo {
  name: string | undefined
  message: string
}

export function describeHresult(hr: number): HresultInfo {
  switch (hr >>> 0) {
    case HRESULT.invalidData:
      return { name: 'ERROR_INVALID_DATA', message: 'host rejected the request as invalid data: unsupported KMS protocol version?' }
    case HRESULT.kmsIdMismatch:
      return { name: 'SL_E_VL_KEY_MANAGEMENT_SERVICE_ID_MISMATCH', message: 'host refuses this product (KMS ID not licensed / wrong AppID)' }
    case HRESULT.invalidTimestamp:
      return { name: 'SL_E_VL_INVALID_TIMESTAMP', message: 'client and host clocks differ by more than 4 hours' }
    case HRESULT.invalidArg:
      return { name: 'SL_REMAPPING_SP_STATUS_INVALIDARG', message: 'host reported invalid data / client table full' }
    case HRESULT.notEnoughCount:
      return { name: 'SL_E_VL_NOT_ENOUGH_COUNT', message: 'not enough clients: the host count is below the required minimum' }
    default:
      return { name: undefined, message: `host returned error ${formatHresult(hr)}` }
  }
}
