/**
 * The KMS base request (236 bytes, docs/protocol.md §3) and base response (44 + PIDSize bytes, docs/protocol.md §4),
 * the same for every protocol version. Field names follow the spec (vlmcsd's kms.h names in brackets where they
 * differ).
 */
import { ByteReader, ByteWriter, readU16LE, readU32LE, readU64LE, utf16leDecode, utf16leDecodeRange } from '../bytes'
import { ProtocolEncodeError } from '../errors'
import { guidFromBytes, writeGuid, type Guid } from '../guid'
import type { FileTime } from '../filetime'

export const BASE_REQUEST_LENGTH = 236
/** WorkstationName: WCHAR[64], so at most 63 characters plus the NUL. */
export const WORKSTATION_NAME_MAX = 63
/** PIDSize must be ≤ 128 bytes (64 WCHARs including the NUL), so an ePID has at most 63 characters. */
const PID_SIZE_MAX = 128
export const EPID_MAX_LENGTH = PID_SIZE_MAX / 2 - 1

export interface BaseRequest {
  /** MinorVer (0) */
  minorVer: number
  /** MajorVer (4, 5 or 6) */
  majorVer: number
  /** VMInfo: 0 physical, 1 virtual machine */
  vmInfo: number
  /** LicenseStatus: 0 unlicensed, 1 licensed, 2 OOB grace, 3 OOT grace, 4 non-genuine grace, 5 notification, 6 extended grace */
  licenseStatus: number
  /** BindingExpiration: minutes left in the current licence state (0 = no expiry) */
  bindingExpiration: number
  /** AppID: the application (Windows, Office 2010, Office 2013+) */
  appId: Guid
  /** ActID: the SKU (activation) ID */
  actId: Guid
  /** KMSID: the KMS counted ID (product group) [vlmcsd: KMSID] */
  kmsId: Guid
  /** CMID: client machine ID */
  cmid: Guid
  /** N_Policy: minimum count the client needs [vlmcsd: N_Policy] */
  nPolicy: number
  /** ClientTime: FILETIME (UTC) */
  clientTime: FileTime
  /** CMID_prev: previous CMID or the nil GUID */
  cmidPrev: Guid
  /** WorkstationName: UTF-16LE, up to the first NUL (bytes after the NUL are not kept) */
  workstationName: string
}

export function encodeBaseRequest(v: BaseRequest): Uint8Array {
  if (v.workstationName.length > WORKSTATION_NAME_MAX) {
    throw new ProtocolEncodeError('WorkstationName', `${v.workstationName.length} characters exceed ${WORKSTATION_NAME_MAX}`)
  }
  if (v.workstationName.includes('\0')) throw new ProtocolEncodeError('WorkstationName', 'contains a NUL character')
  const w = new ByteWriter(BASE_REQUEST_LENGTH)
  w.u16(v.minorVer, 'MinorVer').u16(v.majorVer, 'MajorVer').u32(v.vmInfo, 'VMInfo').u32(v.licenseStatus, 'LicenseStatus')
  w.u32(v.bindingExpiration, 'BindingExpiration')
  writeGuid(v.appId, w.buffer, w.reserve(16, 'AppID'))
  writeGuid(v.actId, w.buffer, w.reserve(16, 'ActID'))
  writeGuid(v.kmsId, w.buffer, w.reserve(16, 'KMSID'))
  writeGuid(v.cmid, w.buffer, w.reserve(16, 'CMID'))
  w.u32(v.nPolicy, 'N_Policy').u64(v.clientTime, 'ClientTime')
  writeGuid(v.cmidPrev, w.buffer, w.reserve(16, 'CMID_prev'))
  w.utf16le(v.workstationName, 'WorkstationName').zeros(128 - 2 * v.workstationName.length)
  return w.done()
}

/** Decodes the first 236 bytes of `bytes` (more may follow). `base` shifts error offsets. */
export function decodeBaseRequest(bytes: Uint8Array, base = 0): BaseRequest {
  if (bytes.byteLength < BASE_REQUEST_LENGTH) new ByteReader(bytes, base).need(BASE_REQUEST_LENGTH, 'BaseRequest')
  return readBaseRequest(bytes, 0)
}

/**
 * The base request at bytes[off..off+236]; the caller has checked that those bytes exist. Every field lies at a
 * fixed offset, so there are no per-field checks or views (a ByteReader here was a tenth of a host's request
 * decoding in profiles).
 */
export function readBaseRequest(bytes: Uint8Array, off: number): BaseRequest {
  // WorkstationName: WCHAR[64] at 108, up to the first NUL.
  const nameStart = off + 108
  const nameLimit = off + BASE_REQUEST_LENGTH
  let end = nameStart
  while (end < nameLimit && (bytes[end] !== 0 || bytes[end + 1] !== 0)) end += 2
  return {
    minorVer: readU16LE(bytes, off),
    majorVer: readU16LE(bytes, off + 2),
    vmInfo: readU32LE(bytes, off + 4),
    licenseStatus: readU32LE(bytes, off + 8),
    bindingExpiration: readU32LE(bytes, off + 12),
    appId: guidFromBytes(bytes, off + 16),
    actId: guidFromBytes(bytes, off + 32),
    kmsId: guidFromBytes(bytes, off + 48),
    cmid: guidFromBytes(bytes, off + 64),
    nPolicy: readU32LE(bytes, off + 80),
    clientTime: readU64LE(bytes, off + 84),
    cmidPrev: guidFromBytes(bytes, off + 92),
    workstationName: utf16leDecodeRange(bytes, nameStart, end)
  }
}

export interface BaseResponse {
  /** MinorVer, echoed from the request */
  minorVer: number
  /** MajorVer, echoed from the request */
  majorVer: number
  /** KmsPID: the host's extended PID (ePID), without the terminating NUL */
  epid: string
  /** CMID, echoed */
  cmid: Guid
  /** ClientTime, echoed */
  clientTime: FileTime
  /** Count: the host's current count of active clients [vlmcsd: Count] */
  count: number
  /** VLActivationInterval: minutes between activation retries */
  activationInterval: number
  /** VLRenewalInterval: minutes between renewals */
  renewalInterval: number
}

export function encodeBaseResponse(v: BaseResponse): Uint8Array {
  if (v.epid.length > EPID_MAX_LENGTH)
    throw new ProtocolEncodeError('KmsPID', `ePID of ${v.epid.length} characters exceeds ${EPID_MAX_LENGTH}`)
  if (v.epid.includes('\0')) throw new ProtocolEncodeError('KmsPID', 'contains a NUL character')
  const pidSize = 2 * (v.epid.length + 1)
  const w = new ByteWriter(44 + pidSize)
  // ePID and CMID are written in place (no intermediate buffers: this runs once per host response).
  w.u16(v.minorVer, 'MinorVer').u16(v.majorVer, 'MajorVer').u32(pidSize, 'PIDSize').utf16le(v.epid, 'KmsPID').zeros(2)
  writeGuid(v.cmid, w.buffer, w.reserve(16, 'CMID'))
  w.u64(v.clientTime, 'ClientTime').u32(v.count, 'Count')
  w.u32(v.activationInterval, 'VLActivationInterval').u32(v.renewalInterval, 'VLRenewalInterval')
  return w.done()
}

/**
 * Decodes a base response at the start of `bytes` and returns it with its length (44 + PIDSize). Error fields:
 * `PIDSize` (size out of range or odd), `KmsPID` (missing terminating NUL or an embedded NUL), `BaseResponse`
 * (not enough bytes).
 */
export function decodeBaseResponse(bytes: Uint8Array, base = 0): { value: BaseResponse; length: number } {
  const r = new ByteReader(bytes, base)
  r.need(8, 'BaseResponse')
  const minorVer = r.u16('MinorVer')
  const majorVer = r.u16('MajorVer')
  const pidSize = r.u32('PIDSize')
  if (pidSize > PID_SIZE_MAX) throw r.error('PIDSize', `PIDSize ${pidSize} exceeds ${PID_SIZE_MAX}`, 4)
  if (pidSize < 2 || pidSize % 2 !== 0) throw r.error('PIDSize', `PIDSize ${pidSize} is not a positive even number of bytes`, 4)
  r.need(pidSize + 36, 'BaseResponse')
  const pid = r.bytes(pidSize, 'KmsPID')
  const last = pidSize - 2
  if (pid[last] !== 0 || pid[last + 1] !== 0) throw r.error('KmsPID', 'the last WCHAR of the ePID is not NUL', 8 + last)
  for (let i = 0; i < last; i += 2) {
    if (pid[i] === 0 && pid[i + 1] === 0) throw r.error('KmsPID', `NUL character inside the ePID at character ${i / 2}`, 8 + i)
  }
  const epid = utf16leDecode(pid.subarray(0, last))
  const cmid = guidFromBytes(r.bytes(16, 'CMID'))
  const clientTime = r.u64('ClientTime')
  const count = r.u32('Count')
  const activationInterval = r.u32('VLActivationInterval')
  const renewalInterval = r.u32('VLRenewalInterval')
  return { value: { minorVer, majorVer, epid, cmid, clientTime, count, activationInterval, renewalInterval }, length: r.offset }
}
