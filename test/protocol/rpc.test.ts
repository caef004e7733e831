import { describe, expect, it } from 'vitest'
import { fromHex, toHex } from '../../src-main/protocol/bytes'
import { ProtocolDecodeError } from '../../src-main/protocol/errors'
import { BTFN_FEATURES_DEFAULT, KMS_INTERFACE, NDR32_SYNTAX, NDR64_SYNTAX, PTYPE } from '../../src-main/protocol/rpc/constants'
import { checkRpcHeader, decodeRpcHeader, pduLength, PduFramer } from '../../src-main/protocol/rpc/header'
import { decodeRequestStub, decodeResponseStub, encodeRequestStub, encodeResponseStub } from '../../src-main/protocol/rpc/ndr'
import { decodePdu, encodePdu, portSpecText, type RpcPdu } from '../../src-main/protocol/rpc/pdu'
import { btfnFeatures, btfnSyntax, transferSyntaxKind } from '../../src-main/protocol/rpc/syntax'
import { listPduFiles, loadPdu } from '../helpers/vectors'

/** The PDU type whose `ptype` admits T (bind and alter_context share one interface, so Extract does not work). */
type PduOf<T> = RpcPdu extends infer P ? (P extends { ptype: infer Q } ? (T extends Q ? P : never) : never) : never

function decodeAs<T extends RpcPdu['ptype']>(bytes: Uint8Array, ptype: T): PduOf<T> {
  const p = decodePdu(bytes)
  expect(p.ptype).toBe(ptype)
  return p as PduOf<T>
}

describe('every captured PDU', () => {
  const files = listPduFiles()

  it('there are captured PDUs to test', () => {
    expect(files.length).toBeGreaterThanOrEqual(45)
  })

  it.each(files)('%s: valid header and encode(decode(x)) == x byte for byte', (name) => {
    const bytes = loadPdu(name)
    const h = decodeRpcHeader(bytes)
    expect(() => checkRpcHeader(h, 312)).not.toThrow()
    expect(h.fragLength).toBe(bytes.byteLength)
    expect(h.pfcFlags & 0x03).toBe(0x03)
    expect(h.authLength).toBe(0)
    expect(pduLength(bytes, 312)).toBe(bytes.byteLength)
    expect(toHex(encodePdu(decodePdu(bytes)))).toBe(toHex(bytes))
  })

  it.each(files.filter((f) => /-req(-2)?$/.test(f) && !f.includes('alter') && !f.includes('bind')))(
    '%s: request stub round trip',
    (name) => {
      const req = decodeAs(loadPdu(name), PTYPE.request)
      const syntax = req.contextId === 1 ? 'ndr64' : 'ndr32'
      const stub = decodeRequestStub(req.stub, syntax)
      expect(toHex(encodeRequestStub(stub.kmsRequest, syntax, stub.trailer))).toBe(toHex(req.stub))
      expect(req.allocHint).toBe(req.stub.byteLength)
    }
  )

  it.each(files.filter((f) => /-resp(-2)?$/.test(f) && !f.includes('alter')))('%s: response stub round trip', (name) => {
    const resp = decodeAs(loadPdu(name), PTYPE.response)
    const syntax = resp.contextId === 1 ? 'ndr64' : 'ndr32'
    const stub = decodeResponseStub(resp.stub, syntax)
    expect(toHex(encodeResponseStub(stub, syntax))).toBe(toHex(resp.stub))
  })
})

describe('decoded fields of the worked examples (docs/protocol.md §2)', () => {
  it('v6-bind-req: three context items NDR32 / NDR64 / BTFN', () => {
    const b = decodeAs(loadPdu('v6-bind-req'), PTYPE.bind)
    expect(b.pfcFlags).toBe(0x13)
    expect(b.callId).toBe(2)
    expect(b.maxXmitFrag).toBe(5840)
    expect(b.maxRecvFrag).toBe(5840)
    expect(b.assocGroupId).toBe(0)
    expect(b.contexts.map((c) => c.contextId)).toEqual([0, 1, 2])
    for (const c of b.contexts) expect(c.abstractSyntax).toEqual({ uuid: KMS_INTERFACE, version: 1 })
    expect(b.contexts.map((c) => transferSyntaxKind(c.transferSyntaxes[0]!))).toEqual(['ndr32', 'ndr64', 'btfn'])
    expect(b.contexts[2]!.transferSyntaxes[0]!.uuid).toBe('6cb71c2c-9812-4540-0300-000000000000')
    expect(btfnFeatures(b.contexts[2]!.transferSyntaxes[0]!.uuid)).toBe(3n)
    expect(btfnSyntax(BTFN_FEATURES_DEFAULT).uuid).toBe('6cb71c2c-9812-4540-0300-000000000000')
  })

  it('v6-bind-ack: sec_addr "11688", NDR32 rejected, NDR64 accepted, BTFN acked 0x3', () => {
    const a = decodeAs(loadPdu('v6-bind-ack'), PTYPE.bindAck)
    expect(a.assocGroupId).toBe(0x23c70e8c)
    expect(portSpecText(a.secAddr)).toBe('11688')
    expect(a.secAddr.byteLength).toBe(6)
    expect(a.secAddrPad.byteLength).toBe(0)
    expect(a.results.map((r) => [r.result, r.reason])).toEqual([
      [2, 2],
      [0, 0],
      [3, 3]
    ])
    expect(a.results[1]!.transferSyntax).toEqual({ uuid: NDR64_SYNTAX, version: 1 })
  })

  it('v6-alter-resp: empty sec_addr and the junk pad bytes are kept', () => {
    const a = decodeAs(loadPdu('v6-alter-resp'), PTYPE.alterContextResp)
    expect(a.secAddr.byteLength).toBe(0)
    expect(toHex(a.secAddrPad)).toBe('3131')
    expect(a.results).toEqual([{ result: 0, reason: 0, transferSyntax: { uuid: NDR32_SYNTAX, version: 2 } }])
    expect(a.pfcFlags).toBe(0x03)
  })

  it('cross-pykms-v6-bind-ack: NDR32 accepted, NDR64 rejected, constant assoc group', () => {
    const a = decodeAs(loadPdu('cross-pykms-v6-bind-ack'), PTYPE.bindAck)
    expect(a.assocGroupId).toBe(0x1063bf3f)
    expect(portSpecText(a.secAddr)).toBe('11689')
    expect(a.results.map((r) => r.result)).toEqual([0, 2, 3])
  })

  it('v6-two-requests-req-2 / resp-2: NDR64 stubs on context 1', () => {
    const req = decodeAs(loadPdu('v6-two-requests-req-2'), PTYPE.request)
    expect(req.callId).toBe(3)
    expect(req.contextId).toBe(1)
    expect(req.allocHint).toBe(276)
    expect(decodeRequestStub(req.stub, 'ndr64').kmsRequest.byteLength).toBe(260)
    const resp = decodeAs(loadPdu('v6-two-requests-resp-2'), PTYPE.response)
    expect(resp.allocHint).toBe(288)
    const stub = decodeResponseStub(resp.stub, 'ndr64')
    expect(stub.kind).toBe('payload')
    if (stub.kind === 'payload') {
      expect(stub.referentId).toBe(0x20000n)
      expect(stub.kmsResponse.byteLength).toBe(260)
      expect(stub.hresult).toBe(0)
    }
    // The NDR64 request stub is not valid NDR32 (the conformance would differ) and vice versa.
    expect(() => decodeRequestStub(req.stub, 'ndr32')).toThrow(ProtocolDecodeError)
  })

  it('bad-version-7-resp: the 36-byte HRESULT error response', () => {
    const bytes = loadPdu('bad-version-7-resp')
    expect(bytes.byteLength).toBe(36)
    const resp = decodeAs(bytes, PTYPE.response)
    expect(decodeResponseStub(resp.stub, 'ndr32')).toEqual({
      kind: 'error',
      responseSize: 0,
      hresult: 0x8007000d,
      trailer: new Uint8Array(0)
    })
  })

  it('the vlmcsd fault example of docs/protocol.md §2.7 decodes and re-encodes', () => {
    const bytes = fromHex('05 00 03 23 10 00 00 00 20 00 00 00 02 00 00 00 20 00 00 00 00 00 00 00 03 00 01 1c 00 00 00 00')!
    const f = decodeAs(bytes, PTYPE.fault)
    expect(f.status).toBe(0x1c010003)
    expect(f.allocHint).toBe(32)
    expect(toHex(encodePdu(f))).toBe(toHex(bytes))
  })

  it('NDR64 error stub is 20 bytes (44-byte PDU)', () => {
    const stub = encodeResponseStub({ kind: 'error', responseSize: 0, hresult: 0x8007000d, trailer: new Uint8Array(0) }, 'ndr64')
    expect(toHex(stub)).toBe('0000000000000000' + '0000000000000000' + '0d000780')
  })
})

describe('framing and header validation', () => {
  it('pduLength needs 16 bytes and validates before trusting frag_length', () => {
    const bind = loadPdu('v6-bind-req')
    expect(pduLength(bind.subarray(0, 15), 300)).toBeUndefined()
    expect(pduLength(bind.subarray(0, 16), 300)).toBe(160)
    expect(() => pduLength(bind, 100)).toThrow(/frag_length at offset 8: frag_length 160 exceeds the limit of 100/)
    const bad = Uint8Array.from(bind)
    bad[0] = 4
    expect(() => pduLength(bad, 300)).toThrow(ProtocolDecodeError)
    bad[0] = 5
    bad[1] = 1
    expect(() => pduLength(bad, 300)).toThrow(/rpc_vers_minor/)
    bad[1] = 0
    bad[4] = 0
    expect(() => pduLength(bad, 300)).toThrow(/packed_drep/)
    bad[4] = 0x10
    bad[8] = 15
    bad[9] = 0
    expect(() => pduLength(bad, 300)).toThrow(/shorter than the 16-byte header/)
  })

  it('PduFramer splits a stream fed one byte at a time and several PDUs per chunk', () => {
    const pdus = ['v6-bind-req', 'v6-alter-req', 'v6-req'].map(loadPdu)
    const stream = new Uint8Array(pdus.reduce((n, p) => n + p.byteLength, 0))
    let off = 0
    for (const p of pdus) {
      stream.set(p, off)
      off += p.byteLength
    }
    const f1 = new PduFramer(300)
    const got1: Uint8Array[] = []
    for (let i = 0; i < stream.byteLength; i++) got1.push(...f1.push(stream.subarray(i, i + 1)))
    expect(got1.map(toHex)).toEqual(pdus.map(toHex))
    expect(f1.pendingBytes).toBe(0)
    const f2 = new PduFramer(300)
    const got2 = [...f2.push(stream.subarray(0, 170)), ...f2.push(stream.subarray(170))]
    expect(got2.map(toHex)).toEqual(pdus.map(toHex))
  })

  it('PduFramer fails on an untrustworthy header and stays failed', () => {
    const f = new PduFramer(300)
    const big = Uint8Array.from(loadPdu('v6-req'))
    big[8] = 0xff
    big[9] = 0xff
    expect(() => f.push(big.subarray(0, 20))).toThrow(ProtocolDecodeError)
    expect(() => f.push(new Uint8Array(1))).toThrow(ProtocolDecodeError)
  })

  it('decodePdu rejects a size mismatch, an unknown PTYPE and short bodies with field and offset', () => {
    const bind = loadPdu('v6-bind-req')
    expect(() => decodePdu(bind.subarray(0, 159))).toThrow(/frag_length at offset 8/)
    const unknown = Uint8Array.from(bind)
    unknown[2] = 9
    expect(() => decodePdu(unknown)).toThrow(/PTYPE at offset 2/)
    // bind claiming 3 context items but only 2 present (frag_length fixed up to the shorter size)
    const short = Uint8Array.from(bind.subarray(0, 116))
    short[8] = 116
    try {
      decodePdu(short)
      expect.unreachable()
    } catch (err) {
      expect(err).toBeInstanceOf(ProtocolDecodeError)
      const e = err as ProtocolDecodeError
      expect(e.field).toBe('p_cont_elem[2]')
      expect(e.offset).toBe(116)
    }
  })
})
