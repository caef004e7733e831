/**
 * The NDR32 / NDR64 stubs of `RequestActivation` (src-main/protocol/rpc/ndr.ts) field by field.
 *
 * The oracle is the stub layout of docs/protocol.md §2.6, written out below by hand: captured stubs are cut at every
 * offset and the ProtocolDecodeError must name the field the spec puts there, at its offset counted from the PDU
 * start (the `base` a session passes: 24, where the stub begins). Then the consistency checks (size = max_count,
 * sizes that must fit 32 bits), the alignment pad before the HRESULT for every residue of the payload length, and
 * the encoder's refusals with the field each one names.
 */
import { describe, expect, it } from 'vitest'
import { fromHex, toHex } from '../../src-main/protocol/bytes'
import {
  decodeRequestStub,
  decodeResponseStub,
  encodeRequestStub,
  encodeResponseStub,
  errorStub,
  FIRST_REFERENT_ID,
  payloadStub,
  type NdrSyntax,
  type ResponseStub
} from '../../src-main/protocol/rpc/ndr'
import { decodePdu, type RequestPdu, type ResponsePdu } from '../../src-main/protocol/rpc/pdu'
import { decodeErrorOf, encodeErrorOf } from '../helpers/protocol-samples'
import { loadPdu } from '../helpers/vectors'

/** The stub of a captured request or response PDU. */
function stubOf(name: string): Uint8Array {
  return (decodePdu(loadPdu(name)) as RequestPdu | ResponsePdu).stub
}

/** Where the stub starts in a request / response PDU (§2.4, §2.5). */
const BASE = 24

/** [start, end, field] within the stub (§2.6); a stub cut inside [start, end) fails naming `field`. */
type Span = readonly [start: number, end: number, field: string]

/** §2.6 request stub: N, (NDR64: zero alignment, read with N as a u64), max_count = N, then the N-byte request. */
function requestLayout(syntax: NdrSyntax, n: number): Span[] {
  const w = syntax === 'ndr32' ? 4 : 8
  return [
    [0, w, 'requestSize'],
    [w, 2 * w, 'max_count'],
    [2 * w, 2 * w + n, 'request']
  ]
}

/**
 * §2.6 response stub with a payload: M, referent id, max_count, the M-byte response, zero pad to a 4-byte boundary
 * from the stub start, HRESULT. Error stub: M, referent id 0, HRESULT.
 */
function responseLayout(syntax: NdrSyntax, m: number | 'error'): Span[] {
  const w = syntax === 'ndr32' ? 4 : 8
  if (m === 'error') {
    return [
      [0, w, 'responseSize'],
      [w, 2 * w, 'referent_id'],
      [2 * w, 2 * w + 4, 'HRESULT']
    ]
  }
  const end = 3 * w + m
  const hresultAt = Math.ceil(end / 4) * 4
  return [
    [0, w, 'responseSize'],
    [w, 2 * w, 'referent_id'],
    [2 * w, 3 * w, 'max_count'],
    [3 * w, end, 'response'],
    [end, hresultAt, 'pad'],
    [hresultAt, hresultAt + 4, 'HRESULT']
  ]
}

function checkCuts(stub: Uint8Array, spans: Span[], decode: (s: Uint8Array) => unknown): void {
  // The spans tile the stub from 0 without gaps.
  expect(spans.every(([s], i) => (i === 0 ? s === 0 : s === spans[i - 1]![1]))).toBe(true)
  for (let cut = 0; cut < spans.at(-1)![1]; cut++) {
    const [start, end, field] = spans.find(([s, e]) => cut >= s && cut < e)!
    const e = decodeErrorOf(() => decode(stub.subarray(0, cut)))
    expect(e.field, `cut at ${cut}`).toBe(field)
    expect(e.offset, `cut at ${cut}`).toBeGreaterThanOrEqual(BASE + start)
    expect(e.offset, `cut at ${cut}`).toBeLessThan(BASE + end)
  }
  expect(() => decode(stub.subarray(0, spans.at(-1)![1]))).not.toThrow()
}

// A payload of M bytes with M ≡ 1, 2, 3, 0 (mod 4), to get every pad length.
const PAYLOADS = [157, 158, 159, 160].map((m) => Uint8Array.from({ length: m }, (_, i) => (i * 7 + 1) & 0xff))

describe('request stub: decoding names the field the spec places where the bytes run out', () => {
  it.each([
    ['v6-req', 'ndr32'],
    ['v4-req', 'ndr32'],
    ['v6-two-requests-req-2', 'ndr64']
  ] as const)('%s (%s): cut at every offset', (name, syntax) => {
    const stub = stubOf(name)
    const n = syntax === 'ndr32' ? stub.byteLength - 8 : stub.byteLength - 16
    checkCuts(stub, requestLayout(syntax, n), (s) => decodeRequestStub(s, syntax, BASE))
  })

  it('NDR32: max_count must equal requestSize', () => {
    const stub = Uint8Array.from(stubOf('v6-req'))
    stub[4] = 0x05 // max_count 261, requestSize 260
    const e = decodeErrorOf(() => decodeRequestStub(stub, 'ndr32', BASE))
    expect([e.field, e.offset, e.detail]).toEqual(['max_count', BASE + 4, 'conformance 261 differs from requestSize 260'])
  })

  it('NDR64: max_count must equal requestSize read as a u64 (so the alignment bytes must be zero)', () => {
    const stub = Uint8Array.from(stubOf('v6-two-requests-req-2'))
    stub[4] = 1 // alignment byte after N
    const e = decodeErrorOf(() => decodeRequestStub(stub, 'ndr64', BASE))
    expect([e.field, e.offset, e.detail]).toEqual(['max_count', BASE + 8, 'conformance 260 differs from requestSize 4294967556'])
  })

  it('NDR64: a size that does not fit 32 bits is refused on requestSize; 0xffffffff is only too long', () => {
    const big = fromHex('00000000 01000000 00000000 01000000')!
    const e = decodeErrorOf(() => decodeRequestStub(big, 'ndr64', BASE))
    expect([e.field, e.offset, e.detail]).toEqual(['requestSize', BASE, 'requestSize 4294967296 does not fit 32 bits'])
    const max = fromHex('ffffffff 00000000 ffffffff 00000000 aabb')!
    const m = decodeErrorOf(() => decodeRequestStub(max, 'ndr64', BASE))
    expect([m.field, m.offset]).toEqual(['request', BASE + 16])
  })

  it('bytes after the request are the trailer, and encoding puts them back', () => {
    const kms = Uint8Array.from([1, 2, 3])
    for (const [syntax, head] of [
      ['ndr32', '03000000' + '03000000'],
      ['ndr64', '0300000000000000' + '0300000000000000']
    ] as const) {
      const bytes = encodeRequestStub(kms, syntax, Uint8Array.from([9, 8]))
      expect(toHex(bytes)).toBe(head + '010203' + '0908')
      const back = decodeRequestStub(bytes, syntax)
      expect(toHex(back.kmsRequest)).toBe('010203')
      expect(toHex(back.trailer)).toBe('0908')
      expect(toHex(encodeRequestStub(kms, syntax))).toBe(head + '010203')
    }
  })
})

describe('response stub: decoding names the field the spec places where the bytes run out', () => {
  it.each([
    ['v6-resp', 'ndr32'],
    ['v4-resp', 'ndr32'],
    ['v6-two-requests-resp-2', 'ndr64']
  ] as const)('%s (%s): cut at every offset', (name, syntax) => {
    const stub = stubOf(name)
    const m = stub.byteLength - (syntax === 'ndr32' ? 16 : 28)
    checkCuts(stub, responseLayout(syntax, m), (s) => decodeResponseStub(s, syntax, BASE))
  })

  it.each(['ndr32', 'ndr64'] as const)('%s: payloads of every length modulo 4, cut at every offset', (syntax) => {
    for (const kms of PAYLOADS) {
      const stub = encodeResponseStub(payloadStub(kms), syntax)
      checkCuts(stub, responseLayout(syntax, kms.byteLength), (s) => decodeResponseStub(s, syntax, BASE))
    }
  })

  it.each(['ndr32', 'ndr64'] as const)('%s: error stub, cut at every offset', (syntax) => {
    const stub = encodeResponseStub(errorStub(0x8007000d), syntax)
    checkCuts(stub, responseLayout(syntax, 'error'), (s) => decodeResponseStub(s, syntax, BASE))
  })

  it.each(['ndr32', 'ndr64'] as const)('%s: max_count must equal responseSize', (syntax) => {
    const stub = encodeResponseStub(payloadStub(PAYLOADS[3]!), syntax)
    const at = syntax === 'ndr32' ? 8 : 16
    stub[at] = 0xa1 // max_count 161, responseSize 160
    const e = decodeErrorOf(() => decodeResponseStub(stub, syntax, BASE))
    expect([e.field, e.offset, e.detail]).toEqual(['max_count', BASE + at, 'conformance 161 differs from responseSize 160'])
  })

  it('NDR64: responseSize must fit 32 bits (0xffffffff does)', () => {
    const big = fromHex('00000000 01000000' + '0000000000000000' + '0d000780')!
    const e = decodeErrorOf(() => decodeResponseStub(big, 'ndr64', BASE))
    expect([e.field, e.offset, e.detail]).toEqual([
      'responseSize',
      BASE,
      'responseSize 4294967296 does not fit 32 bits (non-zero alignment bytes?)'
    ])
    const max = fromHex('ffffffff 00000000' + '0000000000000000' + '0d000780')!
    expect(decodeResponseStub(max, 'ndr64', BASE)).toEqual({
      kind: 'error',
      responseSize: 0xffffffff,
      hresult: 0x8007000d,
      trailer: new Uint8Array(0)
    })
  })
})

describe('response stub: pad before the HRESULT (§2.6)', () => {
  it.each(['ndr32', 'ndr64'] as const)('%s: 3, 2, 1, 0 pad bytes for M ≡ 1, 2, 3, 0 (mod 4)', (syntax) => {
    const head = syntax === 'ndr32' ? 12 : 24
    PAYLOADS.forEach((kms, i) => {
      const stub = encodeResponseStub({ ...payloadStub(kms), hresult: 0x12345678 }, syntax)
      const pad = [3, 2, 1, 0][i]!
      expect(stub.byteLength).toBe(head + kms.byteLength + pad + 4)
      expect(toHex(stub.subarray(head + kms.byteLength, head + kms.byteLength + pad))).toBe('00'.repeat(pad))
      expect(toHex(stub.subarray(-4))).toBe('78563412')
      const back = decodeResponseStub(stub, syntax)
      expect(back.kind).toBe('payload')
      if (back.kind !== 'payload') return
      expect(back.pad.byteLength).toBe(pad)
      expect(toHex(back.kmsResponse)).toBe(toHex(kms))
      expect(back.hresult).toBe(0x12345678)
      expect(toHex(encodeResponseStub(back, syntax))).toBe(toHex(stub))
    })
  })

  it('junk pad bytes are kept; a pad of the wrong length is refused', () => {
    const kms = PAYLOADS[1]! // 2 pad bytes
    const junk = encodeResponseStub({ ...payloadStub(kms), pad: Uint8Array.from([0x31, 0x31]) }, 'ndr32')
    expect(toHex(junk.subarray(12 + 158, 12 + 160))).toBe('3131')
    const e = encodeErrorOf(() => encodeResponseStub({ ...payloadStub(kms), pad: new Uint8Array(1) }, 'ndr32'))
    expect(e.message).toBe('cannot encode pad: 1 pad bytes given, 2 needed')
    const e3 = encodeErrorOf(() => encodeResponseStub({ ...payloadStub(PAYLOADS[3]!), pad: new Uint8Array(3) }, 'ndr64'))
    expect(e3.message).toBe('cannot encode pad: 3 pad bytes given, 0 needed')
  })
})

describe('response stub encoding', () => {
  it('payloadStub: referent 0x20000, no pad given, HRESULT 0, no trailer', () => {
    const kms = Uint8Array.from([1, 2, 3, 4])
    const s = payloadStub(kms)
    expect(s).toEqual({
      kind: 'payload',
      kmsResponse: kms,
      referentId: 0x20000n,
      pad: new Uint8Array(0),
      hresult: 0,
      trailer: new Uint8Array(0)
    })
    expect(FIRST_REFERENT_ID).toBe(0x20000n)
    expect(toHex(encodeResponseStub(s, 'ndr32'))).toBe('04000000' + '00000200' + '04000000' + '01020304' + '00000000')
  })

  it.each(['ndr32', 'ndr64'] as const)('%s: the error stub with a trailer', (syntax) => {
    const bytes = encodeResponseStub({ ...errorStub(0x8007000d), trailer: Uint8Array.from([0xee, 0xff]) }, syntax)
    const zero = syntax === 'ndr32' ? '00000000' : '0000000000000000'
    expect(toHex(bytes)).toBe(zero + zero + '0d000780' + 'eeff')
    expect(decodeResponseStub(bytes, syntax)).toMatchObject({ kind: 'error', responseSize: 0, hresult: 0x8007000d })
  })

  const payload = payloadStub(PAYLOADS[3]!)
  const cases: [string, NdrSyntax, ResponseStub, string][] = [
    ['responseSize', 'ndr32', { ...errorStub(0), responseSize: 0x1_0000_0000 }, 'responseSize'],
    ['responseSize', 'ndr64', { ...errorStub(0), responseSize: -1 }, 'responseSize'],
    ['HRESULT', 'ndr32', errorStub(0x1_0000_0000), 'HRESULT'],
    ['HRESULT', 'ndr64', errorStub(-1), 'HRESULT'],
    ['payload HRESULT', 'ndr32', { ...payload, hresult: 0x1_0000_0000 }, 'HRESULT'],
    ['payload HRESULT', 'ndr64', { ...payload, hresult: -1 }, 'HRESULT'],
    ['negative referent', 'ndr32', { ...payload, referentId: -1n }, 'referent_id'],
    ['negative referent', 'ndr64', { ...payload, referentId: -1n }, 'referent_id'],
    ['referent over 64 bits', 'ndr64', { ...payload, referentId: 0x1_0000_0000_0000_0000n }, 'referent_id']
  ]
  it.each(cases)('%s (%s) is refused naming %s', (_what, syntax, value, field) => {
    expect(encodeErrorOf(() => encodeResponseStub(value, syntax)).field).toBe(field)
  })

  it.each(['ndr32', 'ndr64'] as const)('%s: a payload needs a non-zero referent id', (syntax) => {
    const e = encodeErrorOf(() => encodeResponseStub({ ...payload, referentId: 0n }, syntax))
    expect(e.message).toBe('cannot encode referent_id: a payload needs a non-zero referent id')
  })

  it('NDR32: the referent id must fit 32 bits (0xffffffff does)', () => {
    const e = encodeErrorOf(() => encodeResponseStub({ ...payload, referentId: 0x1_0000_0000n }, 'ndr32'))
    expect(e.message).toBe('cannot encode referent_id: does not fit NDR32')
    const max = encodeResponseStub({ ...payload, referentId: 0xffffffffn }, 'ndr32')
    expect(toHex(max.subarray(4, 8))).toBe('ffffffff')
    const back = decodeResponseStub(max, 'ndr32')
    expect(back.kind === 'payload' && back.referentId).toBe(0xffffffffn)
    const wide = encodeResponseStub({ ...payload, referentId: 0x1_0000_0000n }, 'ndr64')
    expect(toHex(wide.subarray(8, 16))).toBe('0000000001000000')
  })
})
