/**
 * NDR32 / NDR64 stubs of the KMS call `RequestActivation` (opnum 0), docs/protocol.md §2.6.
 *
 * Request:  [in] long requestSize; [in, size_is(requestSize)] byte *request (reference pointer).
 * Response: [out] long *responseSize; [out, size_is(,*responseSize)] byte **response (unique pointer);
 *           return value HRESULT.
 *
 * The decoders check every size against the bytes that are actually there before slicing, and require the
 * size field to equal the conformance (max_count), so a decoded value re-encodes to the same bytes.
 */
import { ByteReader, ByteWriter } from '../bytes'
import { ProtocolEncodeError } from '../errors'

export type NdrSyntax = 'ndr32' | 'ndr64'

/** The referent id vlmcsd, py-kms and Microsoft RPC use for the first (only) pointer: 0x00020000. */
export const FIRST_REFERENT_ID = 0x20000n

export interface RequestStub {
  /** The KMS request bytes (requestSize = max_count = their length). */
  kmsRequest: Uint8Array
  /** Bytes after the conformant array (none from real clients). */
  trailer: Uint8Array
}

export function decodeRequestStub(stub: Uint8Array, syntax: NdrSyntax, base = 0): RequestStub {
  const r = new ByteReader(stub, base)
  let size: number
  if (syntax === 'ndr32') {
    size = r.u32('requestSize')
    const maxCount = r.u32('max_count')
    if (maxCount !== size) throw r.error('max_count', `conformance ${maxCount} differs from requestSize ${size}`, 4)
  } else {
    // NDR64: requestSize is a 32-bit long followed by 4 alignment bytes; read together they must equal the u64
    // max_count, which requires the alignment bytes to be zero.
    const size64 = r.u64('requestSize')
    const maxCount = r.u64('max_count')
    if (maxCount !== size64) throw r.error('max_count', `conformance ${maxCount} differs from requestSize ${size64}`, 8)
    if (size64 > 0xffffffffn) throw r.error('requestSize', `requestSize ${size64} does not fit 32 bits`, 0)
    size = Number(size64)
  }
  const kmsRequest = r.bytes(size, 'request')
  return { kmsRequest, trailer: r.rest() }
}

export function encodeRequestStub(kmsRequest: Uint8Array, syntax: NdrSyntax, trailer: Uint8Array = new Uint8Array(0)): Uint8Array {
  const head = syntax === 'ndr32' ? 8 : 16
  const w = new ByteWriter(head + kmsRequest.byteLength + trailer.byteLength)
  if (syntax === 'ndr32') w.u32(kmsRequest.byteLength, 'requestSize').u32(kmsRequest.byteLength, 'max_count')
  else w.u64(BigInt(kmsRequest.byteLength), 'requestSize').u64(BigInt(kmsRequest.byteLength), 'max_count')
  return w.bytes(kmsRequest).bytes(trailer).done()
}

/** A response stub carrying a KMS response (referent ≠ 0). */
export interface PayloadResponseStub {
  kind: 'payload'
  /** *responseSize = max_count = kmsResponse.length */
  kmsResponse: Uint8Array
  referentId: bigint
  /** Alignment bytes before the HRESULT (should be zero). */
  pad: Uint8Array
  /** Return value; 0 on success. */
  hresult: number
  trailer: Uint8Array
}

/** The error stub (docs/protocol.md §2.6, §8.1): NULL referent, no payload, an HRESULT. */
export interface ErrorResponseStub {
  kind: 'error'
  /** *responseSize as sent (0 from every known host) */
  responseSize: number
  hresult: number
  trailer: Uint8Array
}

export type ResponseStub = PayloadResponseStub | ErrorResponseStub

/** Pad so the HRESULT starts on a 4-byte boundary counted from the start of the stub. */
function responsePadLength(syntax: NdrSyntax, kmsLength: number): number {
  const head = syntax === 'ndr32' ? 12 : 24
  return (4 - ((head + kmsLength) % 4)) % 4
}

export function decodeResponseStub(stub: Uint8Array, syntax: NdrSyntax, base = 0): ResponseStub {
  const r = new ByteReader(stub, base)
  let size: number
  let referentId: bigint
  if (syntax === 'ndr32') {
    size = r.u32('responseSize')
    referentId = BigInt(r.u32('referent_id'))
  } else {
    const size64 = r.u64('responseSize')
    if (size64 > 0xffffffffn) throw r.error('responseSize', `responseSize ${size64} does not fit 32 bits (non-zero alignment bytes?)`, 0)
    size = Number(size64)
    referentId = r.u64('referent_id')
  }
  if (referentId === 0n) {
    const hresult = r.u32('HRESULT')
    return { kind: 'error', responseSize: size, hresult, trailer: r.rest() }
  }
  const at = r.offset
  const maxCount = syntax === 'ndr32' ? BigInt(r.u32('max_count')) : r.u64('max_count')
  if (maxCount !== BigInt(size)) throw r.error('max_count', `conformance ${maxCount} differs from responseSize ${size}`, at)
  const kmsResponse = r.bytes(size, 'response')
  const pad = r.bytes(responsePadLength(syntax, size), 'pad')
  const hresult = r.u32('HRESULT')
  return { kind: 'payload', kmsResponse, referentId, pad, hresult, trailer: r.rest() }
}

export function encodeResponseStub(value: ResponseStub, syntax: NdrSyntax): Uint8Array {
  const wide = syntax === 'ndr64'
  if (value.kind === 'error') {
    const w = new ByteWriter((wide ? 20 : 12) + value.trailer.byteLength)
    if (wide) w.u64(BigInt(value.responseSize), 'responseSize').u64(0n, 'referent_id')
    else w.u32(value.responseSize, 'responseSize').u32(0, 'referent_id')
    return w.u32(value.hresult, 'HRESULT').bytes(value.trailer).done()
  }
  const m = value.kmsResponse.byteLength
  const padLen = responsePadLength(syntax, m)
  if (value.pad.byteLength !== padLen && value.pad.byteLength !== 0) {
    throw new ProtocolEncodeError('pad', `${value.pad.byteLength} pad bytes given, ${padLen} needed`)
  }
  if (value.referentId === 0n) throw new ProtocolEncodeError('referent_id', 'a payload needs a non-zero referent id')
  const w = new ByteWriter((wide ? 24 : 12) + m + padLen + 4 + value.trailer.byteLength)
  if (wide) w.u64(BigInt(m), 'responseSize').u64(value.referentId, 'referent_id').u64(BigInt(m), 'max_count')
  else {
    if (value.referentId > 0xffffffffn) throw new ProtocolEncodeError('referent_id', 'does not fit NDR32')
    w.u32(m, 'responseSize').u32(Number(value.referentId), 'referent_id').u32(m, 'max_count')
  }
  w.bytes(value.kmsResponse)
  if (value.pad.byteLength === padLen) w.bytes(value.pad)
  else w.zeros(padLen)
  return w.u32(value.hresult, 'HRESULT').bytes(value.trailer).done()
}

/** A success stub: the KMS response, referent 0x20000, zero pad, HRESULT 0. */
export function payloadStub(kmsResponse: Uint8Array): PayloadResponseStub {
  return { kind: 'payload', kmsResponse, referentId: FIRST_REFERENT_ID, pad: new Uint8Array(0), hresult: 0, trailer: new Uint8Array(0) }
}

/** The HRESULT error stub (36-byte NDR32 / 44-byte NDR64 response PDU). */
export function errorStub(hresult: number): ErrorResponseStub {
  return { kind: 'error', responseSize: 0, hresult, trailer: new Uint8Array(0) }
}
