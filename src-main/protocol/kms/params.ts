/**
 * Convenience for clients: a base request from a product identity plus the per-client values, and CMIDs.
 */
import { guidFromBytes, NIL_GUID, type Guid } from '../guid'
import type { FileTime } from '../filetime'
import type { RequestIdentity } from '../products'
import { takeRandom, type RandomSource } from '../random'
import type { BaseRequest } from './base'

export interface KmsRequestParams {
  identity: RequestIdentity
  /** protocol major version; defaults to the product's (identity.protocol) */
  protocol?: number
  cmid: Guid
  clientTime: FileTime
  workstationName: string
  /**
   * N_Policy to send; defaults to the product's required client count (send the truthful value, docs/protocol.md §10.3)
   */
  nPolicy?: number
  /** VMInfo, default 0 (physical) */
  vmInfo?: number
  /** LicenseStatus, default 2 (OOB grace), like vlmcs */
  licenseStatus?: number
  /** BindingExpiration in minutes, default 43200 (30 days), like vlmcs */
  bindingExpiration?: number
  cmidPrev?: Guid
}

export function makeBaseRequest(p: KmsRequestParams): BaseRequest {
  return {
    minorVer: 0,
    majorVer: p.protocol ?? p.identity.protocol,
    vmInfo: p.vmInfo ?? 0,
    licenseStatus: p.licenseStatus ?? 2,
    bindingExpiration: p.bindingExpiration ?? 43200,
    appId: p.identity.appId,
    actId: p.identity.actId,
    kmsId: p.identity.kmsId,
    cmid: p.cmid,
    nPolicy: p.nPolicy ?? p.identity.nPolicy,
    clientTime: p.clientTime,
    cmidPrev: p.cmidPrev ?? NIL_GUID,
    workstationName: p.workstationName
  }
}

/**
 * A random version-4 UUID for use as a CMID (version nibble 4, variant 10xx, docs/protocol.md §3). A health-check
 * client makes one once, stores it and reuses it forever (docs/protocol.md §10.3).
 */
export function generateCmid(random: RandomSource): Guid {
  const b = takeRandom(random, 16)
  // Wire layout: Data3 is the u16 at bytes 6..7 (LE), so its high nibble is the top of byte 7.
  b[7] = (b[7]! & 0x0f) | 0x40
  b[8] = (b[8]! & 0x3f) | 0x80
  return guidFromBytes(b)
}
