/**
 * Codecs for the connection-oriented DCE/RPC PDUs KMS uses (docs/protocol.md §2.1–§2.7): bind, bind_ack, bind_nak,
 * alter_context, alter_context_resp, request, response, fault.
 *
 * Decoding is structural and lossless: every field, including reserved bytes, alignment padding and anything
 * after the defined body (`trailer`), is kept, so `encodePdu(decodePdu(x))` reproduces `x` byte for byte — also
 * for the junk vlmcsd leaves in pad bytes. Semantic checks (RPC version, drep, flags, auth_length) are the
 * caller's job (see ./header `checkRpcHeader` and the sessions). Decoders only throw ProtocolDecodeError.
 */
import { ByteReader, ByteWriter } from '../bytes'
import { ProtocolDecodeError, ProtocolEncodeError } from '../errors'
import { guidFromBytes, writeGuid, type Guid } from '../guid'
import { decodeRpcHeader, type RpcHeader } from './header'
import { DREP_LE_ASCII_IEEE, PFC, PFC_FIRST_LAST, PTYPE, RPC_HEADER_LENGTH } from './constants'

/** Header fields every PDU carries (frag_length is derived from the encoded size, PTYPE from the kind). */
export interface RpcCommon {
  rpcVers: number
  rpcVersMinor: number
  pfcFlags: number
  drep: number
  authLength: number
  callId: number
}

/** p_syntax_id_t: an interface or transfer syntax UUID plus its u32 version. */
export interface SyntaxId {
  uuid: Guid
  /** For an interface: major in the low 16 bits, minor in the high 16 bits (1.0 → 1). */
  version: number
}

/** p_cont_elem_t (docs/protocol.md §2.2): one presentation context offered in a bind / alter_context. */
export interface ContextElement {
  /** p_cont_id */
  contextId: number
  /** reserved byte after n_transfer_syn */
  reserved: number
  abstractSyntax: SyntaxId
  transferSyntaxes: SyntaxId[]
}

/** bind (11) and alter_context (14), docs/protocol.md §2.2. */
export interface BindPdu extends RpcCommon {
  ptype: typeof PTYPE.bind | typeof PTYPE.alterContext
  maxXmitFrag: number
  maxRecvFrag: number
  assocGroupId: number
  /** the 3 reserved bytes after n_context_elem, as a little-endian u24 */
  reserved: number
  contexts: ContextElement[]
  /** bytes after the last context element (none in KMS traffic; an auth verifier in general RPC) */
  trailer: Uint8Array
}

/** p_result_t (docs/protocol.md §2.3). */
export interface ContextResult {
  result: number
  reason: number
  transferSyntax: SyntaxId
}

/** bind_ack (12) and alter_context_resp (15), docs/protocol.md §2.3. */
export interface BindAckPdu extends RpcCommon {
  ptype: typeof PTYPE.bindAck | typeof PTYPE.alterContextResp
  maxXmitFrag: number
  maxRecvFrag: number
  assocGroupId: number
  /** sec_addr.port_spec exactly as sent, including its NUL (length = sec_addr.length) */
  secAddr: Uint8Array
  /** the alignment bytes after sec_addr (content undefined; vlmcsd leaves junk there) */
  secAddrPad: Uint8Array
  /** the 3 reserved bytes after n_results, as a little-endian u24 */
  reserved: number
  results: ContextResult[]
  trailer: Uint8Array
}

/** bind_nak (13). */
export interface BindNakPdu extends RpcCommon {
  ptype: typeof PTYPE.bindNak
  /** provider_reject_reason */
  rejectReason: number
  /** p_rt_versions_supported, when present */
  versions: { major: number; minor: number }[] | undefined
  trailer: Uint8Array
}

/** request (0), docs/protocol.md §2.4. */
export interface RequestPdu extends RpcCommon {
  ptype: typeof PTYPE.request
  allocHint: number
  contextId: number
  opnum: number
  /** present when pfc_flags has OBJECT_UUID (0x80) */
  objectUuid: Guid | undefined
  /** NDR stub data (everything after the request header) */
  stub: Uint8Array
}

/** response (2), docs/protocol.md §2.5. */
export interface ResponsePdu extends RpcCommon {
  ptype: typeof PTYPE.response
  allocHint: number
  contextId: number
  cancelCount: number
  reserved: number
  stub: Uint8Array
}

/** fault (3), docs/protocol.md §2.7. */
export interface FaultPdu extends RpcCommon {
  ptype: typeof PTYPE.fault
  allocHint: number
  contextId: number
  cancelCount: number
  reserved: number
  /** NCA status code */
  status: number
  /** the reserved u32 after the status; undefined when the PDU ends after the status */
  reserved2: number | undefined
  trailer: Uint8Array
}

export type RpcPdu = BindPdu | BindAckPdu | BindNakPdu | RequestPdu | ResponsePdu | FaultPdu

/** Common header values for PDUs we originate. */
export function rpcCommon(callId: number, pfcFlags: number = PFC_FIRST_LAST): RpcCommon {
  return { rpcVers: 5, rpcVersMinor: 0, pfcFlags, drep: DREP_LE_ASCII_IEEE, authLength: 0, callId }
}

// ---------------------------------------------------------------------------------------------------- decoding

function readSyntax(r: ByteReader, field: string): SyntaxId {
  const raw = r.bytes(16, `${field}.uuid`)
  return { uuid: guidFromBytes(raw), version: r.u32(`${field}.version`) }
}

function readU24(r: ByteReader, field: string): number {
  const lo = r.u8(field)
  return lo | (r.u16(field) << 8)
}

// The decoders below spell the common fields out instead of writing `{ ...common, … }`: on Node 20 an object
// literal with a spread followed by several properties takes a slow path (~10 µs instead of ~25 ns).
function commonOf(h: ReturnType<typeof decodeRpcHeader>): RpcCommon {
  return {
    rpcVers: h.rpcVers,
    rpcVersMinor: h.rpcVersMinor,
    pfcFlags: h.pfcFlags,
    drep: h.drep,
    authLength: h.authLength,
    callId: h.callId
  }
}

/**
 * Decodes exactly one PDU. `bytes.length` must equal its frag_length (use `pduLength`/`PduFramer` to split a
 * stream). Throws ProtocolDecodeError for anything that does not fit, including an unknown PTYPE.
 */
export function decodePdu(bytes: Uint8Array, header?: RpcHeader): RpcPdu {
  // `header` lets a caller that already decoded (and checked) the header skip decoding it again.
  const h = header ?? decodeRpcHeader(bytes)
  if (h.fragLength !== bytes.byteLength) {
    throw new ProtocolDecodeError('frag_length', 8, `frag_length ${h.fragLength} does not match the PDU size ${bytes.byteLength}`)
  }
  const r = new ByteReader(bytes)
  r.skip(RPC_HEADER_LENGTH, 'rpc_header')
  const common = commonOf(h)
  switch (h.ptype) {
    case PTYPE.bind:
    case PTYPE.alterContext:
      return decodeBindBody(r, common, h.ptype)
    case PTYPE.bindAck:
    case PTYPE.alterContextResp:
      return decodeBindAckBody(r, common, h.ptype)
    case PTYPE.bindNak:
      return decodeBindNakBody(r, common)
    case PTYPE.request:
      return decodeRequestBody(r, common)
    case PTYPE.response:
      return decodeResponseBody(r, common)
    case PTYPE.fault:
      return decodeFaultBody(r, common)
    default:
      throw new ProtocolDecodeError('PTYPE', 2, `PDU type ${h.ptype} is not one KMS uses`)
  }
}

function decodeBindBody(r: ByteReader, common: RpcCommon, ptype: BindPdu['ptype']): BindPdu {
  const maxXmitFrag = r.u16('max_xmit_frag')
  const maxRecvFrag = r.u16('max_recv_frag')
  const assocGroupId = r.u32('assoc_group_id')
  const n = r.u8('n_context_elem')
  const reserved = readU24(r, 'reserved')
  const contexts: ContextElement[] = []
  for (let i = 0; i < n; i++) {
    const f = `p_cont_elem[${i}]`
    // Each element is at least 44 bytes with one transfer syntax; check before reading any of it.
    r.need(4 + 20, f)
    const contextId = r.u16(`${f}.p_cont_id`)
    const nSyn = r.u8(`${f}.n_transfer_syn`)
    const elemReserved = r.u8(`${f}.reserved`)
    const abstractSyntax = readSyntax(r, `${f}.abstract_syntax`)
    r.need(20 * nSyn, `${f}.transfer_syntaxes`)
    const transferSyntaxes: SyntaxId[] = []
    for (let j = 0; j < nSyn; j++) transferSyntaxes.push(readSyntax(r, `${f}.transfer_syntaxes[${j}]`))
    contexts.push({ contextId, reserved: elemReserved, abstractSyntax, transferSyntaxes })
  }
  return {
    rpcVers: common.rpcVers,
    rpcVersMinor: common.rpcVersMinor,
    pfcFlags: common.pfcFlags,
    drep: common.drep,
    authLength: common.authLength,
    callId: common.callId,
    ptype,
    maxXmitFrag,
    maxRecvFrag,
    assocGroupId,
    reserved,
    contexts,
    trailer: r.rest()
  }
}

/** Alignment after sec_addr: pad so that n_results starts on a multiple of 4 from the start of the PDU. */
function secAddrPadLength(secAddrLength: number): number {
  return (4 - ((26 + secAddrLength) % 4)) % 4
}

function decodeBindAckBody(r: ByteReader, common: RpcCommon, ptype: BindAckPdu['ptype']): BindAckPdu {
  const maxXmitFrag = r.u16('max_xmit_frag')
  const maxRecvFrag = r.u16('max_recv_frag')
  const assocGroupId = r.u32('assoc_group_id')
  const secLen = r.u16('sec_addr.length')
  const secAddr = r.bytes(secLen, 'sec_addr.port_spec')
  const secAddrPad = r.bytes(secAddrPadLength(secLen), 'sec_addr.pad')
  const n = r.u8('n_results')
  const reserved = readU24(r, 'reserved')
  r.need(24 * n, 'p_results')
  const results: ContextResult[] = []
  for (let i = 0; i < n; i++) {
    const f = `p_results[${i}]`
    results.push({ result: r.u16(`${f}.result`), reason: r.u16(`${f}.reason`), transferSyntax: readSyntax(r, `${f}.transfer_syntax`) })
  }
  return {
    rpcVers: common.rpcVers,
    rpcVersMinor: common.rpcVersMinor,
    pfcFlags: common.pfcFlags,
    drep: common.drep,
    authLength: common.authLength,
    callId: common.callId,
    ptype,
    maxXmitFrag,
    maxRecvFrag,
    assocGroupId,
    secAddr,
    secAddrPad,
    reserved,
    results,
    trailer: r.rest()
  }
}

function decodeBindNakBody(r: ByteReader, common: RpcCommon): BindNakPdu {
  const rejectReason = r.u16('provider_reject_reason')
  let versions: BindNakPdu['versions']
  if (r.remaining > 0) {
    const n = r.u8('n_protocols')
    r.need(2 * n, 'p_protocols')
    versions = []
    for (let i = 0; i < n; i++) versions.push({ major: r.u8(`p_protocols[${i}].major`), minor: r.u8(`p_protocols[${i}].minor`) })
  }
  return {
    rpcVers: common.rpcVers,
    rpcVersMinor: common.rpcVersMinor,
    pfcFlags: common.pfcFlags,
    drep: common.drep,
    authLength: common.authLength,
    callId: common.callId,
    ptype: PTYPE.bindNak,
    rejectReason,
    versions,
    trailer: r.rest()
  }
}

function decodeRequestBody(r: ByteReader, common: RpcCommon): RequestPdu {
  const allocHint = r.u32('alloc_hint')
  const contextId = r.u16('p_cont_id')
  const opnum = r.u16('opnum')
  let objectUuid: Guid | undefined
  if (common.pfcFlags & PFC.objectUuid) objectUuid = guidFromBytes(r.bytes(16, 'object'))
  return {
    rpcVers: common.rpcVers,
    rpcVersMinor: common.rpcVersMinor,
    pfcFlags: common.pfcFlags,
    drep: common.drep,
    authLength: common.authLength,
    callId: common.callId,
    ptype: PTYPE.request,
    allocHint,
    contextId,
    opnum,
    objectUuid,
    stub: r.rest()
  }
}

function decodeResponseBody(r: ByteReader, common: RpcCommon): ResponsePdu {
  const allocHint = r.u32('alloc_hint')
  const contextId = r.u16('p_cont_id')
  const cancelCount = r.u8('cancel_count')
  const reserved = r.u8('reserved')
  return {
    rpcVers: common.rpcVers,
    rpcVersMinor: common.rpcVersMinor,
    pfcFlags: common.pfcFlags,
    drep: common.drep,
    authLength: common.authLength,
    callId: common.callId,
    ptype: PTYPE.response,
    allocHint,
    contextId,
    cancelCount,
    reserved,
    stub: r.rest()
  }
}

function decodeFaultBody(r: ByteReader, common: RpcCommon): FaultPdu {
  const allocHint = r.u32('alloc_hint')
  const contextId = r.u16('p_cont_id')
  const cancelCount = r.u8('cancel_count')
  const reserved = r.u8('reserved')
  const status = r.u32('status')
  const reserved2 = r.remaining >= 4 ? r.u32('reserved') : undefined
  return {
    rpcVers: common.rpcVers,
    rpcVersMinor: common.rpcVersMinor,
    pfcFlags: common.pfcFlags,
    drep: common.drep,
    authLength: common.authLength,
    callId: common.callId,
    ptype: PTYPE.fault,
    allocHint,
    contextId,
    cancelCount,
    reserved,
    status,
    reserved2,
    trailer: r.rest()
  }
}

// ---------------------------------------------------------------------------------------------------- encoding

function bodyLength(pdu: RpcPdu): number {
  switch (pdu.ptype) {
    case PTYPE.bind:
    case PTYPE.alterContext: {
      let n = 12
      for (const c of pdu.contexts) n += 24 + 20 * c.transferSyntaxes.length
      return n + pdu.trailer.byteLength
    }
    case PTYPE.bindAck:
    case PTYPE.alterContextResp:
      return 14 + pdu.secAddr.byteLength + secAddrPadLength(pdu.secAddr.byteLength) + 24 * pdu.results.length + pdu.trailer.byteLength
    case PTYPE.bindNak:
      return 2 + (pdu.versions ? 1 + 2 * pdu.versions.length : 0) + pdu.trailer.byteLength
    case PTYPE.request:
      return 8 + (pdu.objectUuid !== undefined ? 16 : 0) + pdu.stub.byteLength
    case PTYPE.response:
      return 8 + pdu.stub.byteLength
    case PTYPE.fault:
      return 12 + (pdu.reserved2 !== undefined ? 4 : 0) + pdu.trailer.byteLength
  }
}

function writeSyntax(w: ByteWriter, s: SyntaxId, field: string): void {
  const g = new Uint8Array(16)
  writeGuid(s.uuid, g, 0)
  w.bytes(g).u32(s.version, `${field}.version`)
}

function writeU24(w: ByteWriter, v: number, field: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffff) throw new ProtocolEncodeError(field, `${v} is not a u24`)
  w.u8(v & 0xff, field).u16(v >>> 8, field)
}

function count(n: number, max: number, field: string): number {
  if (n > max) throw new ProtocolEncodeError(field, `${n} items do not fit (max ${max})`)
  return n
}

/** Encodes a PDU; frag_length is computed. Throws ProtocolEncodeError for values the format cannot carry. */
export function encodePdu(pdu: RpcPdu): Uint8Array {
  const total = RPC_HEADER_LENGTH + bodyLength(pdu)
  if (total > 0xffff) throw new ProtocolEncodeError('frag_length', `PDU of ${total} bytes exceeds 65535`)
  const w = new ByteWriter(total)
  w.u8(pdu.rpcVers, 'rpc_vers')
    .u8(pdu.rpcVersMinor, 'rpc_vers_minor')
    .u8(pdu.ptype, 'PTYPE')
    .u8(pdu.pfcFlags, 'pfc_flags')
    .u32(pdu.drep, 'packed_drep')
    .u16(total, 'frag_length')
    .u16(pdu.authLength, 'auth_length')
    .u32(pdu.callId, 'call_id')
  switch (pdu.ptype) {
    case PTYPE.bind:
    case PTYPE.alterContext:
      w.u16(pdu.maxXmitFrag, 'max_xmit_frag').u16(pdu.maxRecvFrag, 'max_recv_frag').u32(pdu.assocGroupId, 'assoc_group_id')
      w.u8(count(pdu.contexts.length, 255, 'n_context_elem'), 'n_context_elem')
      writeU24(w, pdu.reserved, 'reserved')
      for (const c of pdu.contexts) {
        w.u16(c.contextId, 'p_cont_id')
          .u8(count(c.transferSyntaxes.length, 255, 'n_transfer_syn'), 'n_transfer_syn')
          .u8(c.reserved, 'reserved')
        writeSyntax(w, c.abstractSyntax, 'abstract_syntax')
        for (const t of c.transferSyntaxes) writeSyntax(w, t, 'transfer_syntax')
      }
      w.bytes(pdu.trailer)
      break
    case PTYPE.bindAck:
    case PTYPE.alterContextResp: {
      w.u16(pdu.maxXmitFrag, 'max_xmit_frag').u16(pdu.maxRecvFrag, 'max_recv_frag').u32(pdu.assocGroupId, 'assoc_group_id')
      w.u16(pdu.secAddr.byteLength, 'sec_addr.length').bytes(pdu.secAddr)
      const pad = secAddrPadLength(pdu.secAddr.byteLength)
      if (pdu.secAddrPad.byteLength === pad) w.bytes(pdu.secAddrPad)
      else if (pdu.secAddrPad.byteLength === 0) w.zeros(pad)
      else throw new ProtocolEncodeError('sec_addr.pad', `${pdu.secAddrPad.byteLength} pad bytes given, ${pad} needed`)
      w.u8(count(pdu.results.length, 255, 'n_results'), 'n_results')
      writeU24(w, pdu.reserved, 'reserved')
      for (const res of pdu.results) {
        w.u16(res.result, 'result').u16(res.reason, 'reason')
        writeSyntax(w, res.transferSyntax, 'transfer_syntax')
      }
      w.bytes(pdu.trailer)
      break
    }
    case PTYPE.bindNak:
      w.u16(pdu.rejectReason, 'provider_reject_reason')
      if (pdu.versions) {
        w.u8(count(pdu.versions.length, 255, 'n_protocols'), 'n_protocols')
        for (const v of pdu.versions) w.u8(v.major, 'major').u8(v.minor, 'minor')
      }
      w.bytes(pdu.trailer)
      break
    case PTYPE.request:
      w.u32(pdu.allocHint, 'alloc_hint').u16(pdu.contextId, 'p_cont_id').u16(pdu.opnum, 'opnum')
      if (pdu.objectUuid !== undefined) {
        const g = new Uint8Array(16)
        writeGuid(pdu.objectUuid, g, 0)
        w.bytes(g)
      }
      w.bytes(pdu.stub)
      break
    case PTYPE.response:
      w.u32(pdu.allocHint, 'alloc_hint').u16(pdu.contextId, 'p_cont_id').u8(pdu.cancelCount, 'cancel_count').u8(pdu.reserved, 'reserved')
      w.bytes(pdu.stub)
      break
    case PTYPE.fault:
      w.u32(pdu.allocHint, 'alloc_hint').u16(pdu.contextId, 'p_cont_id').u8(pdu.cancelCount, 'cancel_count').u8(pdu.reserved, 'reserved')
      w.u32(pdu.status, 'status')
      if (pdu.reserved2 !== undefined) w.u32(pdu.reserved2, 'reserved')
      w.bytes(pdu.trailer)
      break
  }
  return w.done()
}

// ---------------------------------------------------------------------------------------------------- builders

/** ASCII port string + NUL, the sec_addr.port_spec of a bind_ack. */
export function portSpecBytes(port: string): Uint8Array {
  if (!/^[\x20-\x7e]*$/.test(port)) throw new ProtocolEncodeError('sec_addr.port_spec', 'must be printable ASCII')
  const out = new Uint8Array(port.length + 1)
  for (let i = 0; i < port.length; i++) out[i] = port.charCodeAt(i)
  return out
}

/** The text of a sec_addr (bytes up to the first NUL, as Latin-1). */
export function portSpecText(secAddr: Uint8Array): string {
  let s = ''
  for (const b of secAddr) {
    if (b === 0) break
    s += String.fromCharCode(b)
  }
  return s
}
