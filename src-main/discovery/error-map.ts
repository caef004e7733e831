/**
 * Which Windows code stands for which outcome of KMS Scout's own flow. Windows does not document per-attempt codes
 * for every transport failure, so those are the closest equivalents a technician will recognise, chosen here and
 * documented in docs/discovery.md ("Error table"). The codes, their meaning and fix: common/windows-codes.ts.
 */
import type { DnsErrorCode } from '../dns/errors'
import type { ProbeFailure } from './probe'
import { WINDOWS_CODE } from '../common/windows-codes'

export {
  explainWindowsCode,
  formatCode,
  lookupWindowsCode,
  WINDOWS_CODE,
  WINDOWS_ERROR_TABLE,
  type WindowsCodeEntry
} from '../common/windows-codes'

/** The code of one failed attempt at one host — the closest thing a Windows client would log for it. */
export function windowsCodeForProbeFailure(failure: Pick<ProbeFailure, 'code' | 'hresult'>): number | undefined {
  switch (failure.code) {
    case 'refused':
    case 'unreachable':
    case 'connect-timeout':
      return WINDOWS_CODE.rpcServerUnavailable
    case 'name-not-found':
      return WINDOWS_CODE.dnsNameDoesNotExist
    case 'timeout':
    case 'closed':
    case 'rpc-bind-rejected':
    case 'rpc-fault':
      return WINDOWS_CODE.rpcCallFailed
    case 'kms-error':
      return failure.hresult === undefined ? undefined : failure.hresult >>> 0
    case 'bad-response':
    case 'aborted':
    case 'internal':
      return undefined
  }
}

/** How one domain's `_vlmcs._tcp` lookup ended without usable records. */
export type DomainLookupFailure = Extract<DnsErrorCode, 'nxdomain' | 'nodata' | 'declined'> | 'dns-failure'

/**
 * The code for "DNS discovery found no KMS host", from what each searched domain gave. Precedence (documented
 * in docs/discovery.md): a DNS server failure anywhere first (that domain may hold the records we could not
 * see), then "the name exists but has no records", then "the name does not exist".
 */
export function windowsCodeForDiscoveryFailure(outcomes: readonly DomainLookupFailure[]): number {
  if (outcomes.length === 0) return WINDOWS_CODE.invalidName
  if (outcomes.includes('dns-failure')) return WINDOWS_CODE.dnsServerFailure
  if (outcomes.includes('nodata') || outcomes.includes('declined')) return WINDOWS_CODE.dnsNoRecords
  return WINDOWS_CODE.dnsNameDoesNotExist
}

/** DNS error codes that mean "we could not get an answer" rather than "the answer is: nothing here". */
export function isDnsTransportFailure(code: DnsErrorCode): boolean {
  return code !== 'nxdomain' && code !== 'nodata' && code !== 'declined'
}
