/**
 * The DCE/RPC PDU codecs field by field (src-main/protocol/rpc/pdu.ts, header.ts, syntax.ts, constants.ts).
 *
 * A technician reads a ProtocolDecodeError's `field` and `offset` to find the bad byte in a capture, so the names
 * must be the ones the spec places at that offset. The oracle is the layout of docs/protocol.md §2.1–§2.7 (and, for
 * bind_nak, which the doc does not lay out, the DCE 1.1 RPC spec C706 §12.6.4.8), written out below by hand: every
 * captured PDU is cut at every offset (frag_length patched to the cut size so decoding gets past the header check)
 * and the error must name the field the spec puts there. The encoder is checked the same way with one value per
 * field that the wire format cannot carry. The optional parts (fault reserved2, bind_nak versions, the request's
 * object UUID, sec_addr padding, trailers) are checked by their decoded values, sizes and byte-exact round trips.
 */
import { describe, expect, it } from 'vitest'
import { fromHex, toHex } from '../../src-main/protocol/bytes'
import { KMS_INTERFACE, NCA_STATUS, NDR32_SYNTAX, NDR64_SYNTAX, PTYPE, ncaStatusName } from '../../src-main/protocol/rpc/constants'
import { checkRpcHeader, decodeRpcHeader, pduLength, type RpcHeader } from '../../src-main/protocol/rpc/header'
import {
  decodePdu,
  encodePdu,
  portSpecBytes,
  rpcCommon,
  type BindAckPdu,
  type BindNakPdu,
  type BindPdu,
  type FaultPdu,
  type RequestPdu,
  type ResponsePdu,
  type RpcPdu
} from '../../src-main/protocol/rpc/pdu'
import { isKmsInterface, NDR32, NDR64, NIL_SYNTAX, sameSyntax, transferSyntaxKind } from '../../src-main/protocol/rpc/syntax'
import { decodeErrorOf, encodeErrorOf } from '../helpers/protocol-samples'
import { listPduFiles, loadPdu } from '../helpers/vectors'

// ------------------------------------------------------------------------------------------------ helpers

function u16At(b: Uint8Array, off: number): number {
  return b[off]! | (b[off + 1]! << 8)
}

/** The first `cut` bytes of `bytes`, with frag_length (u16 at offset 8) set to `cut` when the header is there. */
function truncated(bytes: Uint8Array, cut: number): Uint8Array {
  const out = Uint8Array.from(bytes.subarray(0, cut))
  if (cut >= 10) {
    out[8] = cut & 0xff
    out[9] = cut >> 8
  }
  return out
}

// ------------------------------------------------------------------------------ the spec's layout (oracle)

/**
 * [start, end, field]: the bytes [start, end) belong to `field`; a PDU cut inside them fails naming it. A `null`
 * field marks an optional part: a PDU cut there is whole.
 */
type Span = readonly [start: number, end: number, field: string | null]

/** The header (§2.1) is checked as a whole before any of it is read. */
const HEADER: Span = [0, 16, 'rpc_header']

/**
 * Where the spec puts each field of a PDU's body (docs/protocol.md §2.2–§2.7). Only the count and length fields the
 * layout depends on (n_context_elem, sec_addr length, n_results, n_protocols) are read from the bytes. `open` is
 * where a body without a further fixed field starts (a stub or an optional tail): cuts from there on decode.
 */
function specLayout(bytes: Uint8Array): { spans: Span[]; open: number } {
  const ptype = bytes[2]!
  switch (ptype) {
    case PTYPE.bind:
    case PTYPE.alterContext: {
      // §2.2: 16 max_xmit_frag, 18 max_recv_frag, 20 assoc_group_id, 24 n_context_elem, 25 reserved (3),
      // 28 + 44·i the context elements: p_cont_id, n_transfer_syn = 1, reserved, abstract syntax (16 + 4) — these
      // 24 bytes are checked together, as "p_cont_elem[i]" — then the transfer syntax (16 + 4).
      const n = bytes[24]!
      const spans: Span[] = [
        [16, 18, 'max_xmit_frag'],
        [18, 20, 'max_recv_frag'],
        [20, 24, 'assoc_group_id'],
        [24, 25, 'n_context_elem'],
        [25, 28, 'reserved']
      ]
      for (let i = 0; i < n; i++) {
        const at = 28 + 44 * i
        expect(bytes[at + 2], 'KMS clients offer one transfer syntax per element').toBe(1)
        spans.push([at, at + 24, `p_cont_elem[${i}]`], [at + 24, at + 44, `p_cont_elem[${i}].transfer_syntaxes`])
      }
      return { spans, open: 28 + 44 * n }
    }
    case PTYPE.bindAck:
    case PTYPE.alterContextResp: {
      // §2.3: 24 sec_addr length L, 26 port_spec (L bytes), pad up to a 4-byte boundary A, A n_results,
      // A+1 reserved (3), A+4 the results (24 each).
      const secLen = u16At(bytes, 24)
      const a = Math.ceil((26 + secLen) / 4) * 4
      const n = bytes[a]!
      return {
        spans: [
          [16, 18, 'max_xmit_frag'],
          [18, 20, 'max_recv_frag'],
          [20, 24, 'assoc_group_id'],
          [24, 26, 'sec_addr.length'],
          [26, 26 + secLen, 'sec_addr.port_spec'],
          [26 + secLen, a, 'sec_addr.pad'],
          [a, a + 1, 'n_results'],
          [a + 1, a + 4, 'reserved'],
          [a + 4, a + 4 + 24 * n, 'p_results']
        ],
        open: a + 4 + 24 * n
      }
    }
    case PTYPE.request:
      // §2.4: 16 alloc_hint, 20 p_cont_id, 22 opnum, 24 stub.
      return {
        spans: [
          [16, 20, 'alloc_hint'],
          [20, 22, 'p_cont_id'],
          [22, 24, 'opnum']
        ],
        open: 24
      }
    case PTYPE.response:
      // §2.5: 16 alloc_hint, 20 p_cont_id, 22 cancel_count, 23 reserved, 24 stub.
      return {
        spans: [
          [16, 20, 'alloc_hint'],
          [20, 22, 'p_cont_id'],
          [22, 23, 'cancel_count'],
          [23, 24, 'reserved']
        ],
        open: 24
      }
    case PTYPE.fault:
      // §2.7: 16 alloc_hint, 20 p_cont_id, 22 cancel_count, 23 reserved, 24 status, 28 reserved (optional).
      return {
        spans: [
          [16, 20, 'alloc_hint'],
          [20, 22, 'p_cont_id'],
          [22, 23, 'cancel_count'],
          [23, 24, 'reserved'],
          [24, 28, 'status']
        ],
        open: 28
      }
    case PTYPE.bindNak: {
      // C706: 16 provider_reject_reason; optionally 18 n_protocols and n (major, minor) byte pairs.
      const n = bytes[18]!
      return {
        spans: [
          [16, 18, 'provider_reject_reason'],
          [18, 19, null],
          [19, 19 + 2 * n, 'p_protocols']
        ],
        open: 19 + 2 * n
      }
    }
    default:
      throw new Error(`no layout for PTYPE ${ptype}`)
  }
}

/** The vlmcsd fault of docs/protocol.md §2.7 (32 bytes, status nca_s_unk_if). */
const VLMCSD_FAULT = fromHex('05 00 03 23 10 00 00 00 20 00 00 00 02 00 00 00 20 00 00 00 00 00 00 00 03 00 01 1c 00 00 00 00')!

/** A bind_nak: reason 2, versions supported 5.0 and 5.1 (C706 p_rt_versions_supported_t). */
const BIND_NAK = fromHex('05 00 0d 03 10 00 00 00 17 00 00 00 07 00 00 00 02 00 02 05 00 05 01')!

const CAPTURED = listPduFiles().map((name) => ({ name, bytes: loadPdu(name) }))
const ALL_PDUS = [...CAPTURED, { name: 'vlmcsd fault (§2.7)', bytes: VLMCSD_FAULT }, { name: 'bind_nak', bytes: BIND_NAK }]

// ------------------------------------------------------------------------------------------------ decoding

describe('decodePdu names the field the spec places where the bytes run out', () => {
  it('the oracle covers every PDU kind KMS uses', () => {
    const kinds = new Set(ALL_PDUS.map((p) => p.bytes[2]))
    expect([...kinds].sort((a, b) => a! - b!)).toEqual([0, 2, 3, 11, 12, 13, 14, 15])
  })

  it.each(ALL_PDUS)('$name: cut at every offset', ({ bytes }) => {
    const { spans, open } = specLayout(bytes)
    // The spans tile the body without gaps from the header to `open`.
    expect([HEADER, ...spans].every(([s], i, all) => i === 0 || s === all[i - 1]![1])).toBe(true)
    expect(spans.at(-1)![1]).toBe(open)
    for (let cut = 0; cut < bytes.byteLength; cut++) {
      const span = [HEADER, ...spans].find(([s, e]) => cut >= s && cut < e)
      const pdu = truncated(bytes, cut)
      if (!span || span[2] === null) {
        if (!span) expect(cut).toBeGreaterThanOrEqual(open)
        expect(() => decodePdu(pdu), `cut at ${cut}`).not.toThrow()
        continue
      }
      const [start, end, field] = span
      const e = decodeErrorOf(() => decodePdu(pdu))
      expect(e.field, `cut at ${cut}`).toBe(field)
      expect(e.offset, `cut at ${cut}`).toBeGreaterThanOrEqual(start)
      expect(e.offset, `cut at ${cut}`).toBeLessThan(end)
      expect(e.message).toBe(`${field} at offset ${e.offset}: ${e.detail}`)
    }
  })

  it('a bind element announcing two transfer syntaxes with bytes for one fails on the syntaxes it lacks', () => {
    const b = Uint8Array.from(loadPdu('v6-alter-req'))
    b[28 + 2] = 2 // n_transfer_syn of element 0
    const e = decodeErrorOf(() => decodePdu(b))
    expect([e.field, e.offset]).toEqual(['p_cont_elem[0].transfer_syntaxes', 52])
    expect(e.detail).toBe('needs 40 byte(s) but only 20 remain (buffer is 72 bytes)')
  })

  it('a bind element with no transfer syntax decodes (and re-encodes) as such', () => {
    const src = loadPdu('v6-alter-req')
    // Element 0 cut after its abstract syntax, n_transfer_syn 0.
    const b = truncated(src, 52)
    b[30] = 0
    const p = decodePdu(b) as BindPdu
    expect(p.contexts).toEqual([{ contextId: 0, reserved: 0, abstractSyntax: { uuid: KMS_INTERFACE, version: 1 }, transferSyntaxes: [] }])
    expect(p.trailer.byteLength).toBe(0)
    expect(toHex(encodePdu(p))).toBe(toHex(b))
  })

  it('a bind_ack announcing more results than it carries fails on p_results before reading any', () => {
    const b = Uint8Array.from(loadPdu('v6-ndr32-only-bind-ack'))
    b[32] = 2
    const e = decodeErrorOf(() => decodePdu(b))
    expect([e.field, e.offset]).toEqual(['p_results', 36])
    expect(e.detail).toBe('needs 48 byte(s) but only 24 remain (buffer is 60 bytes)')
  })

  it('a bind_ack with no results decodes to an empty list', () => {
    const b = truncated(loadPdu('v6-ndr32-only-bind-ack'), 36)
    b[32] = 0
    const p = decodePdu(b) as BindAckPdu
    expect(p.results).toEqual([])
    expect(toHex(encodePdu(p))).toBe(toHex(b))
  })

  it('bind_nak: the versions list is there only when bytes follow the reason', () => {
    const full = decodePdu(BIND_NAK) as BindNakPdu
    expect(full.rejectReason).toBe(2)
    expect(full.versions).toEqual([
      { major: 5, minor: 0 },
      { major: 5, minor: 1 }
    ])
    expect(full.trailer.byteLength).toBe(0)

    const bare = decodePdu(truncated(BIND_NAK, 18)) as BindNakPdu
    expect(bare.rejectReason).toBe(2)
    expect(bare.versions).toBeUndefined()
    expect(bare.trailer.byteLength).toBe(0)

    const none = truncated(BIND_NAK, 19)
    none[18] = 0
    const empty = decodePdu(none) as BindNakPdu
    expect(empty.versions).toEqual([])
    expect(empty.trailer.byteLength).toBe(0)

    const withTrailer = Uint8Array.from([...BIND_NAK, 0xaa, 0xbb])
    withTrailer[8] = withTrailer.byteLength
    const t = decodePdu(withTrailer) as BindNakPdu
    expect(t.versions).toHaveLength(2)
    expect(toHex(t.trailer)).toBe('aabb')

    const short = decodeErrorOf(() => decodePdu(truncated(BIND_NAK, 22)))
    expect([short.field, short.offset]).toEqual(['p_protocols', 19])
    expect(short.detail).toBe('needs 4 byte(s) but only 3 remain (buffer is 22 bytes)')
  })

  it('fault: reserved2 is decoded when the 4 bytes are there, otherwise left undefined', () => {
    const full = decodePdu(VLMCSD_FAULT) as FaultPdu
    expect(full).toMatchObject({ allocHint: 32, contextId: 0, cancelCount: 0, reserved: 0, status: NCA_STATUS.unknownInterface })
    expect(full.reserved2).toBe(0)
    expect(full.trailer.byteLength).toBe(0)

    const noReserved2 = decodePdu(truncated(VLMCSD_FAULT, 28)) as FaultPdu
    expect(noReserved2.status).toBe(NCA_STATUS.unknownInterface)
    expect(noReserved2.reserved2).toBeUndefined()
    expect(noReserved2.trailer.byteLength).toBe(0)

    for (const cut of [29, 30, 31]) {
      const partial = decodePdu(truncated(VLMCSD_FAULT, cut)) as FaultPdu
      expect(partial.reserved2).toBeUndefined()
      expect(partial.trailer.byteLength).toBe(cut - 28)
    }

    const longer = Uint8Array.from([...VLMCSD_FAULT, 1, 2, 3, 4, 5])
    longer[8] = longer.byteLength
    longer[28] = 0x78
    longer[31] = 0x12
    const l = decodePdu(longer) as FaultPdu
    expect(l.reserved2).toBe(0x12000078)
    expect(toHex(l.trailer)).toBe('0102030405')
  })

  it('request with OBJECT_UUID: the 16-byte object precedes the stub (§2.4)', () => {
    const src = loadPdu('v6-req')
    // §0's example GUID in wire layout.
    const object = fromHex('34 27 c9 55 82 d6 71 4d 98 3e d6 ec 3f 16 05 9f')!
    const b = new Uint8Array(src.byteLength + 16)
    b.set(src.subarray(0, 24))
    b.set(object, 24)
    b.set(src.subarray(24), 40)
    b[3] = src[3]! | 0x80
    b[8] = b.byteLength & 0xff
    b[9] = b.byteLength >> 8
    const p = decodePdu(b) as RequestPdu
    expect(p.objectUuid).toBe('55c92734-d682-4d71-983e-d6ec3f16059f')
    expect(toHex(p.stub)).toBe(toHex(src.subarray(24)))
    expect(toHex(encodePdu(p))).toBe(toHex(b))

    // Without the flag the same bytes are stub.
    const plain = decodePdu(src) as RequestPdu
    expect(plain.objectUuid).toBeUndefined()
    expect(plain.stub.byteLength).toBe(src.byteLength - 24)

    for (let cut = 24; cut < 40; cut++) {
      const e = decodeErrorOf(() => decodePdu(truncated(b, cut)))
      expect([e.field, e.offset]).toEqual(['object', 24])
    }
  })

  it('a caller-supplied header that claims fewer than 16 bytes fails on rpc_header', () => {
    const bytes = loadPdu('v6-req').subarray(0, 10)
    const h: RpcHeader = { ...decodeRpcHeader(loadPdu('v6-req')), fragLength: 10 }
    const e = decodeErrorOf(() => decodePdu(bytes, h))
    expect([e.field, e.offset]).toEqual(['rpc_header', 0])
    // With a matching caller-supplied header the body is decoded as usual.
    const req = loadPdu('v6-req')
    expect(decodePdu(req, decodeRpcHeader(req))).toEqual(decodePdu(req))
  })

  it('the size mismatch and unknown PTYPE errors say what was wrong', () => {
    const bind = loadPdu('v6-bind-req')
    const e = decodeErrorOf(() => decodePdu(bind.subarray(0, 150)))
    expect([e.field, e.offset, e.detail]).toEqual(['frag_length', 8, 'frag_length 160 does not match the PDU size 150'])
    const unknown = Uint8Array.from(bind)
    unknown[2] = 9
    const u = decodeErrorOf(() => decodePdu(unknown))
    expect([u.field, u.offset, u.detail]).toEqual(['PTYPE', 2, 'PDU type 9 is not one KMS uses'])
  })
})

describe('header checks (§2.1)', () => {
  const good = (): RpcHeader => decodeRpcHeader(loadPdu('v6-req'))

  it.each([
    [{ rpcVers: 4 }, 'rpc_vers', 0, 'RPC version 4 is not 5'],
    [{ rpcVersMinor: 1 }, 'rpc_vers_minor', 1, 'RPC minor version 1 is not 0'],
    [{ drep: 0 }, 'packed_drep', 4, 'data representation 0x00000000 is not little-endian/ASCII/IEEE (0x00000010)'],
    [{ drep: 0x11 }, 'packed_drep', 4, 'data representation 0x00000011 is not little-endian/ASCII/IEEE (0x00000010)'],
    [{ fragLength: 15 }, 'frag_length', 8, 'frag_length 15 is shorter than the 16-byte header'],
    [{ fragLength: 301 }, 'frag_length', 8, 'frag_length 301 exceeds the limit of 300']
  ] as const)('%o is refused as %s at offset %d', (change, field, offset, detail) => {
    const e = decodeErrorOf(() => checkRpcHeader({ ...good(), ...change }, 300))
    expect([e.field, e.offset, e.detail]).toEqual([field, offset, detail])
  })

  it('accepts frag_length from 16 (a bare header) up to the limit', () => {
    expect(() => checkRpcHeader({ ...good(), fragLength: 16 }, 300)).not.toThrow()
    expect(() => checkRpcHeader({ ...good(), fragLength: 300 }, 300)).not.toThrow()
    const bare = truncated(loadPdu('v6-req'), 16)
    expect(pduLength(bare, 300)).toBe(16)
  })
})

// ------------------------------------------------------------------------------------------------ encoding

// Decoded on demand inside the tests (not when the file loads), so each test that uses a decoder counts as covering
// it and mutation testing runs exactly those tests against its mutants.
const bind = (): BindPdu => decodePdu(loadPdu('v6-bind-req')) as BindPdu
const bindAck = (): BindAckPdu => decodePdu(loadPdu('v6-bind-ack')) as BindAckPdu
const nak = (): BindNakPdu => decodePdu(BIND_NAK) as BindNakPdu
const request = (): RequestPdu => decodePdu(loadPdu('v6-req')) as RequestPdu
const response = (): ResponsePdu => decodePdu(loadPdu('v6-resp')) as ResponsePdu
const fault = (): FaultPdu => decodePdu(VLMCSD_FAULT) as FaultPdu

/** A deep copy of `base` with `change` applied. */
function changed<T extends RpcPdu>(base: T, change: (p: T) => void): T {
  const p = structuredClone(base)
  change(p)
  return p
}

const BASES: [string, () => RpcPdu][] = [
  ['bind', bind],
  ['bind_ack', bindAck],
  ['bind_nak', nak],
  ['request', request],
  ['response', response],
  ['fault', fault]
]

describe('encodePdu names the field a value does not fit', () => {
  const header: [string, (p: RpcPdu) => void][] = [
    ['rpc_vers', (p) => (p.rpcVers = 256)],
    ['rpc_vers_minor', (p) => (p.rpcVersMinor = -1)],
    ['pfc_flags', (p) => (p.pfcFlags = 0x100)],
    ['packed_drep', (p) => (p.drep = 0x1_0000_0000)],
    ['auth_length', (p) => (p.authLength = 0x1_0000)],
    ['call_id', (p) => (p.callId = -1)]
  ]
  const cases = BASES.flatMap(([kind, base]) => header.map(([field, change]) => [kind, field, base, change] as const))

  it.each(cases)('%s: %s', (_kind, field, base, change) => {
    expect(encodeErrorOf(() => encodePdu(changed(base(), change))).field).toBe(field)
  })

  it.each([
    ['max_xmit_frag', () => changed(bind(), (p) => (p.maxXmitFrag = 0x1_0000))],
    ['max_recv_frag', () => changed(bind(), (p) => (p.maxRecvFrag = -1))],
    ['assoc_group_id', () => changed(bind(), (p) => (p.assocGroupId = 0x1_0000_0000))],
    ['reserved', () => changed(bind(), (p) => (p.reserved = 0x100_0000))],
    ['p_cont_id', () => changed(bind(), (p) => (p.contexts[1]!.contextId = 0x1_0000))],
    ['reserved', () => changed(bind(), (p) => (p.contexts[0]!.reserved = 256))],
    ['abstract_syntax.version', () => changed(bind(), (p) => (p.contexts[2]!.abstractSyntax.version = 0x1_0000_0000))],
    ['transfer_syntax.version', () => changed(bind(), (p) => (p.contexts[0]!.transferSyntaxes[0]!.version = -1))],
    ['max_xmit_frag', () => changed(bindAck(), (p) => (p.maxXmitFrag = 0x1_0000))],
    ['max_recv_frag', () => changed(bindAck(), (p) => (p.maxRecvFrag = 0x1_0000))],
    ['assoc_group_id', () => changed(bindAck(), (p) => (p.assocGroupId = -1))],
    ['reserved', () => changed(bindAck(), (p) => (p.reserved = -1))],
    ['result', () => changed(bindAck(), (p) => (p.results[0]!.result = 0x1_0000))],
    ['reason', () => changed(bindAck(), (p) => (p.results[2]!.reason = 0x1_0000))],
    ['transfer_syntax.version', () => changed(bindAck(), (p) => (p.results[1]!.transferSyntax.version = 0x1_0000_0000))],
    ['provider_reject_reason', () => changed(nak(), (p) => (p.rejectReason = 0x1_0000))],
    ['major', () => changed(nak(), (p) => (p.versions![1]!.major = 256))],
    ['minor', () => changed(nak(), (p) => (p.versions![0]!.minor = 256))],
    ['alloc_hint', () => changed(request(), (p) => (p.allocHint = 0x1_0000_0000))],
    ['p_cont_id', () => changed(request(), (p) => (p.contextId = 0x1_0000))],
    ['opnum', () => changed(request(), (p) => (p.opnum = -1))],
    ['alloc_hint', () => changed(response(), (p) => (p.allocHint = -1))],
    ['p_cont_id', () => changed(response(), (p) => (p.contextId = 0x1_0000))],
    ['cancel_count', () => changed(response(), (p) => (p.cancelCount = 256))],
    ['reserved', () => changed(response(), (p) => (p.reserved = 256))],
    ['alloc_hint', () => changed(fault(), (p) => (p.allocHint = 0x1_0000_0000))],
    ['p_cont_id', () => changed(fault(), (p) => (p.contextId = -1))],
    ['cancel_count', () => changed(fault(), (p) => (p.cancelCount = 256))],
    ['reserved', () => changed(fault(), (p) => (p.reserved = -1))],
    ['status', () => changed(fault(), (p) => (p.status = 0x1_0000_0000))],
    ['reserved', () => changed(fault(), (p) => (p.reserved2 = 0x1_0000_0000))]
  ] as const)('%s (%#)', (field, pdu) => {
    expect(encodeErrorOf(() => encodePdu(pdu())).field).toBe(field)
  })

  it('the 3-byte reserved fields take 0..0xffffff integers only', () => {
    for (const [base, kind] of [
      [bind(), 'bind'],
      [bindAck(), 'bind_ack']
    ] as const) {
      for (const v of [-1, 0x100_0000, 1.5]) {
        const e = encodeErrorOf(() => encodePdu(changed(base, (p) => (p.reserved = v))))
        expect(e.message, kind).toBe(`cannot encode reserved: ${v} is not a u24`)
      }
      const max = encodePdu(changed(base, (p) => (p.reserved = 0xffffff)))
      const at = kind === 'bind' ? 25 : 33
      expect(toHex(max.subarray(at, at + 3))).toBe('ffffff')
      expect((decodePdu(max) as BindPdu | BindAckPdu).reserved).toBe(0xffffff)
      const mixed = encodePdu(changed(base, (p) => (p.reserved = 0x123456)))
      expect(toHex(mixed.subarray(at, at + 3))).toBe('563412')
    }
  })

  it('counts above 255 do not fit their u8 (255 do)', () => {
    const ctx = bind().contexts[0]!
    const many = (n: number): BindPdu => changed(bind(), (p) => (p.contexts = Array.from({ length: n }, () => structuredClone(ctx))))
    expect(encodeErrorOf(() => encodePdu(many(256))).message).toBe('cannot encode n_context_elem: 256 items do not fit (max 255)')
    const b255 = encodePdu(many(255))
    expect(b255.byteLength).toBe(28 + 44 * 255)
    expect(b255[24]).toBe(255)
    expect((decodePdu(b255) as BindPdu).contexts).toHaveLength(255)

    const syn = (n: number): BindPdu => changed(bind(), (p) => (p.contexts[0]!.transferSyntaxes = Array.from({ length: n }, () => NDR32)))
    expect(encodeErrorOf(() => encodePdu(syn(256))).message).toBe('cannot encode n_transfer_syn: 256 items do not fit (max 255)')
    expect(encodePdu(syn(255))[30]).toBe(255)

    const res = (n: number): BindAckPdu =>
      changed(bindAck(), (p) => (p.results = Array.from({ length: n }, () => structuredClone(bindAck().results[0]!))))
    expect(encodeErrorOf(() => encodePdu(res(256))).field).toBe('n_results')
    expect(encodePdu(res(255))[32]).toBe(255)

    const vers = (n: number): BindNakPdu => changed(nak(), (p) => (p.versions = Array.from({ length: n }, () => ({ major: 5, minor: 0 }))))
    expect(encodeErrorOf(() => encodePdu(vers(256))).field).toBe('n_protocols')
    expect(encodePdu(vers(255))[18]).toBe(255)
  })

  it('frag_length: a PDU of 65535 bytes encodes, one more byte does not', () => {
    const fits = changed(request(), (p) => (p.stub = new Uint8Array(0xffff - 24)))
    const bytes = encodePdu(fits)
    expect(bytes.byteLength).toBe(0xffff)
    expect(u16At(bytes, 8)).toBe(0xffff)
    const over = changed(request(), (p) => (p.stub = new Uint8Array(0xffff - 23)))
    const e = encodeErrorOf(() => encodePdu(over))
    expect(e.message).toBe('cannot encode frag_length: PDU of 65536 bytes exceeds 65535')
  })

  it('sec_addr.pad must have the needed length, or be empty to get zeros', () => {
    const alter = decodePdu(loadPdu('v6-alter-resp')) as BindAckPdu
    expect(alter.secAddrPad.byteLength).toBe(2)
    const e = encodeErrorOf(() => encodePdu(changed(alter, (p) => (p.secAddrPad = new Uint8Array(1)))))
    expect(e.message).toBe('cannot encode sec_addr.pad: 1 pad bytes given, 2 needed')
    const zeroed = encodePdu(changed(alter, (p) => (p.secAddrPad = new Uint8Array(0))))
    expect(toHex(zeroed.subarray(26, 28))).toBe('0000')
    expect(toHex(zeroed.subarray(28))).toBe(toHex(loadPdu('v6-alter-resp').subarray(28)))
  })
})

describe('encodePdu sizes and optional parts', () => {
  it('bind_ack: sec_addr is padded so n_results starts on a 4-byte boundary (§2.3)', () => {
    // Port 1688: L = 5, one pad byte, n_results at 0x20; 60 bytes with one result. Port 11688: L = 6, no pad.
    // An empty sec_addr (alter_context_resp): two pad bytes, n_results at 28. L = 7: no pad, n_results at 36.
    const one = { ...bindAck(), results: bindAck().results.slice(1, 2) }
    for (const [port, total, nResultsAt] of [
      ['1688', 60, 32],
      ['11688', 60, 32],
      ['', 56, 28],
      ['116888', 64, 36],
      ['1', 56, 28]
    ] as const) {
      const secAddr = port === '' ? new Uint8Array(0) : portSpecBytes(port)
      const bytes = encodePdu({ ...one, secAddr, secAddrPad: new Uint8Array(0) })
      expect(bytes.byteLength, port).toBe(total)
      expect(u16At(bytes, 8), port).toBe(total)
      expect(bytes[nResultsAt], port).toBe(1)
      const back = decodePdu(bytes) as BindAckPdu
      expect(back.secAddrPad.byteLength, port).toBe(nResultsAt - 26 - secAddr.byteLength)
      expect(back.results).toEqual(one.results)
    }
  })

  it('trailers are counted in frag_length and written after the body, for every kind that has one', () => {
    const trailer = Uint8Array.from([0xde, 0xad, 0xbe, 0xef, 0x01])
    for (const base of [bind(), bindAck(), nak(), fault(), changed(nak(), (p) => (p.versions = undefined))] as RpcPdu[]) {
      const plain = encodePdu(base)
      const withTrailer = encodePdu({ ...base, trailer } as RpcPdu)
      expect(withTrailer.byteLength).toBe(plain.byteLength + 5)
      expect(u16At(withTrailer, 8)).toBe(plain.byteLength + 5)
      expect(toHex(withTrailer.subarray(0, 8))).toBe(toHex(plain.subarray(0, 8)))
      expect(toHex(withTrailer.subarray(10, plain.byteLength))).toBe(toHex(plain.subarray(10)))
      expect(toHex(withTrailer.subarray(plain.byteLength))).toBe('deadbeef01')
      // (A bind_nak without versions cannot carry a trailer that decodes back: the bytes would be the versions.)
      if (base.ptype !== PTYPE.bindNak || base.versions) {
        expect(toHex((decodePdu(withTrailer) as BindPdu).trailer)).toBe('deadbeef01')
      }
    }
  })

  it('bind_nak: with no versions list the PDU ends after the reason (18 bytes)', () => {
    const bare = encodePdu(changed(nak(), (p) => (p.versions = undefined)))
    expect(toHex(bare)).toBe('05000d0310000000' + '1200' + '0000' + '07000000' + '0200')
    const empty = encodePdu(changed(nak(), (p) => (p.versions = [])))
    expect(toHex(empty)).toBe('05000d0310000000' + '1300' + '0000' + '07000000' + '0200' + '00')
    expect(toHex(encodePdu(nak()))).toBe(toHex(BIND_NAK))
    const three = encodePdu(changed(nak(), (p) => p.versions!.push({ major: 6, minor: 2 })))
    expect(three.byteLength).toBe(25)
    expect(toHex(three.subarray(18))).toBe('03050005010602')
  })

  it('fault: reserved2 is written only when present', () => {
    const without = encodePdu(changed(fault(), (p) => (p.reserved2 = undefined)))
    expect(toHex(without)).toBe(toHex(truncated(VLMCSD_FAULT, 28)))
    expect(toHex(encodePdu(fault()))).toBe(toHex(VLMCSD_FAULT))
    const set = encodePdu(changed(fault(), (p) => (p.reserved2 = 0xa1b2c3d4)))
    expect(toHex(set.subarray(28))).toBe('d4c3b2a1')
  })

  it('request: an object UUID adds 16 bytes before the stub', () => {
    const p = changed(request(), (q) => {
      q.pfcFlags |= 0x80
      q.objectUuid = '55c92734-d682-4d71-983e-d6ec3f16059f'
    })
    const bytes = encodePdu(p)
    expect(bytes.byteLength).toBe(292 + 16)
    expect(u16At(bytes, 8)).toBe(308)
    expect(toHex(bytes.subarray(24, 40))).toBe('3427c95582d6714d983ed6ec3f16059f')
    expect(toHex(bytes.subarray(40))).toBe(toHex(request().stub))
    const back = decodePdu(bytes) as RequestPdu
    expect(back.objectUuid).toBe(p.objectUuid)
    expect(back.pfcFlags).toBe(0x83)
    expect(toHex(back.stub)).toBe(toHex(request().stub))
  })

  it('rpcCommon gives the header values of a PDU we originate', () => {
    expect(rpcCommon(7)).toEqual({ rpcVers: 5, rpcVersMinor: 0, pfcFlags: 0x03, drep: 0x10, authLength: 0, callId: 7 })
    expect(rpcCommon(7, 0x13).pfcFlags).toBe(0x13)
  })

  it.each(BASES)('%s: encode(decode(encode(x))) is stable and frag_length matches', (_kind, base) => {
    const bytes = encodePdu(base())
    expect(u16At(bytes, 8)).toBe(bytes.byteLength)
    expect(toHex(encodePdu(decodePdu(bytes)))).toBe(toHex(bytes))
  })
})

describe('portSpecBytes', () => {
  it('is the ASCII port and a NUL', () => {
    expect(toHex(portSpecBytes('1688'))).toBe('3136383800')
    expect(toHex(portSpecBytes(''))).toBe('00')
  })

  it.each(['16\x0088', '\x01688', '1688\x7f', '168\u00e9'])('refuses non-printable %j', (port) => {
    const e = encodeErrorOf(() => portSpecBytes(port))
    expect(e.message).toBe('cannot encode sec_addr.port_spec: must be printable ASCII')
  })
})

// ------------------------------------------------------------------------------------------------ syntaxes

describe('syntax recognition (§2.2)', () => {
  it.each([
    [NDR32_SYNTAX, 2, 'ndr32'],
    [NDR32_SYNTAX.toUpperCase(), 2, 'ndr32'],
    [NDR32_SYNTAX, 1, 'other'],
    [NDR64_SYNTAX, 1, 'ndr64'],
    [NDR64_SYNTAX, 2, 'other'],
    [KMS_INTERFACE, 2, 'other'],
    [KMS_INTERFACE, 1, 'other'],
    ['6cb71c2c-9812-4540-0100-000000000000', 7, 'btfn'],
    [NIL_SYNTAX.uuid, 0, 'other']
  ] as const)('%s v%d is %s', (uuid, version, kind) => {
    expect(transferSyntaxKind({ uuid, version })).toBe(kind)
  })

  it('isKmsInterface needs the KMS UUID and major version 1 (any minor)', () => {
    expect(isKmsInterface({ uuid: KMS_INTERFACE, version: 1 })).toBe(true)
    expect(isKmsInterface({ uuid: KMS_INTERFACE.toUpperCase(), version: 0x0003_0001 })).toBe(true)
    expect(isKmsInterface({ uuid: KMS_INTERFACE, version: 2 })).toBe(false)
    expect(isKmsInterface({ uuid: NDR32_SYNTAX, version: 1 })).toBe(false)
  })

  it('sameSyntax compares the UUID (any case) and the version', () => {
    expect(sameSyntax(NDR32, { uuid: NDR32_SYNTAX.toUpperCase(), version: 2 })).toBe(true)
    expect(sameSyntax(NDR32, { uuid: NDR32_SYNTAX, version: 1 })).toBe(false)
    expect(sameSyntax(NDR32, { uuid: NDR64_SYNTAX, version: 2 })).toBe(false)
    expect(sameSyntax(NDR32, NDR64)).toBe(false)
  })
})

describe('ncaStatusName (§2.7, §8.2)', () => {
  it.each([
    [NCA_STATUS.opRangeError, 'nca_s_op_rng_error (operation number out of range)'],
    [NCA_STATUS.unknownInterface, 'nca_s_unk_if (unknown interface or presentation context)'],
    [NCA_STATUS.protocolError, 'nca_s_proto_error (RPC protocol error)'],
    [0x1c010004, undefined],
    [0, undefined]
  ])('%#', (status, name) => {
    expect(ncaStatusName(status)).toBe(name)
  })

  it('the codes are those of the spec', () => {
    expect(NCA_STATUS).toEqual({ opRangeError: 0x1c010002, unknownInterface: 0x1c010003, protocolError: 0x1c01000b })
  })
})
