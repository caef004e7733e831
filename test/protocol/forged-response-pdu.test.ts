/**
 * Forged response PDUs for verifyResponsePdu: a genuine KMS response (built by our host code) in an RPC
 * response PDU with exactly one header or NDR field wrong, so the named RPC-level check is the only one
 * that fails; and the outcomes that are not verification failures (fault, error stub, count vs N_Policy).
 */
import { describe, expect, it } from 'vitest'
import { VLMCSD_DEFAULT_HWID } from '../../src-main/protocol/hwid'
import { buildKmsRequest, parseKmsRequest } from '../../src-main/protocol/kms/request'
import { buildKmsResponse } from '../../src-main/protocol/kms/response'
import { PFC, PTYPE } from '../../src-main/protocol/rpc/constants'
import {
  encodeResponseStub,
  errorStub,
  FIRST_REFERENT_ID,
  payloadStub,
  type NdrSyntax,
  type ResponseStub
} from '../../src-main/protocol/rpc/ndr'
import { encodePdu, rpcCommon, type ResponsePdu } from '../../src-main/protocol/rpc/pdu'
import { verifyResponsePdu, type KmsCallOutcome, type PendingCall } from '../../src-main/protocol/session/call-outcome'
import { SAMPLE_EPID, sampleBaseRequest } from '../helpers/protocol-samples'
import { seededRandom } from '../helpers/vectors'

const EPID = SAMPLE_EPID

function pendingCall(syntax: NdrSyntax, nPolicy = 25): PendingCall {
  const base = sampleBaseRequest({ nPolicy })
  return { callId: 7, contextId: 1, syntax, request: buildKmsRequest(base, seededRandom(17)) }
}

function kmsResponse(call: PendingCall, count = 50): Uint8Array {
  const parsed = parseKmsRequest(call.request.bytes)
  if (!parsed.ok) throw new Error(parsed.reason)
  return buildKmsResponse(
    parsed.request,
    { epid: EPID, hwid: VLMCSD_DEFAULT_HWID, count, activationInterval: 120, renewalInterval: 10080 },
    seededRandom(18)
  )
}

function responsePdu(call: PendingCall, fields: Partial<ResponsePdu> = {}, stub?: ResponseStub): Uint8Array {
  const stubBytes = encodeResponseStub(stub ?? payloadStub(kmsResponse(call)), call.syntax)
  return encodePdu({
    ...rpcCommon(call.callId),
    ptype: PTYPE.response,
    allocHint: stubBytes.byteLength,
    contextId: call.contextId,
    cancelCount: 0,
    reserved: 0,
    stub: stubBytes,
    ...fields
  })
}

function failures(o: KmsCallOutcome): string[] {
  return o.kind === 'response' || o.kind === 'verification-failed' ? o.checks.filter((c) => c.status === 'fail').map((c) => c.name) : []
}

function expectOnly(o: KmsCallOutcome, failed: string, reason: string): void {
  expect(o).toMatchObject({ kind: 'verification-failed', failed, reason })
  expect(failures(o)).toEqual([failed])
}

describe.each(['ndr32', 'ndr64'] as const)('forged %s response PDUs: one field wrong', (syntax) => {
  const call = pendingCall(syntax)

  it('the genuine PDU is a verified response; alloc_hint 0 ("no hint") is accepted too', () => {
    const o = verifyResponsePdu(responsePdu(call), call)
    expect(o).toMatchObject({ kind: 'response', countSufficient: true, call })
    expect(o.kind === 'response' && o.checks.slice(0, 6).map((c) => [c.name, c.status])).toEqual([
      ['pdu', 'pass'],
      ['call-id', 'pass'],
      ['context-id', 'pass'],
      ['alloc-hint', 'pass'],
      ['ndr', 'pass'],
      ['hresult', 'pass']
    ])
    expect(verifyResponsePdu(responsePdu(call, { allocHint: 0 }), call).kind).toBe('response')
  })

  it('header oddities: pdu, naming each', () => {
    const cases: Array<[Partial<ResponsePdu>, string]> = [
      [{ pfcFlags: PFC.firstFrag | PFC.lastFrag | PFC.didNotExecute }, 'unexpected response header: pfc_flags 0x23 (expected 0x03)'],
      [{ pfcFlags: PFC.lastFrag | PFC.firstFrag | PFC.maybe }, 'unexpected response header: pfc_flags 0x43 (expected 0x03)'],
      [{ pfcFlags: PFC.lastFrag }, 'unexpected response header: pfc_flags 0x02 (expected 0x03)'],
      [{ authLength: 8 }, 'unexpected response header: auth_length 8'],
      [{ cancelCount: 1 }, 'unexpected response header: cancel_count 1'],
      [{ reserved: 0x5a }, 'unexpected response header: reserved byte 0x5a'],
      [{ cancelCount: 2, reserved: 1 }, 'unexpected response header: cancel_count 2, reserved byte 0x1']
    ]
    for (const [fields, reason] of cases) expectOnly(verifyResponsePdu(responsePdu(call, fields), call), 'pdu', reason)
  })

  it('call_id, p_cont_id, alloc_hint wrong: call-id, context-id, alloc-hint', () => {
    expectOnly(verifyResponsePdu(responsePdu(call, { callId: 8 }), call), 'call-id', "call_id 8 differs from the request's 7")
    expectOnly(verifyResponsePdu(responsePdu(call, { contextId: 0 }), call), 'context-id', "p_cont_id 0 differs from the request's 1")
    const stubLength = encodeResponseStub(payloadStub(kmsResponse(call)), syntax).byteLength
    for (const allocHint of [stubLength - 1, stubLength + 1, 1]) {
      expectOnly(
        verifyResponsePdu(responsePdu(call, { allocHint }), call),
        'alloc-hint',
        `alloc_hint ${allocHint} differs from the stub length ${stubLength}`
      )
    }
  })

  it('NDR oddities: ndr, naming each', () => {
    const good = payloadStub(kmsResponse(call))
    const cases: Array<[ResponseStub, string]> = [
      [{ ...good, referentId: FIRST_REFERENT_ID + 4n }, 'unexpected NDR data: referent id 0x20004 (expected 0x20000)'],
      [{ ...good, trailer: Uint8Array.of(0, 0) }, 'unexpected NDR data: 2 byte(s) after the return value'],
      [
        { ...good, referentId: FIRST_REFERENT_ID + 4n, trailer: Uint8Array.of(0) },
        'unexpected NDR data: referent id 0x20004 (expected 0x20000), 1 byte(s) after the return value'
      ]
    ]
    for (const [stub, reason] of cases) expectOnly(verifyResponsePdu(responsePdu(call, {}, stub), call), 'ndr', reason)
  })

  it('a non-zero return value after a payload: hresult', () => {
    expectOnly(
      verifyResponsePdu(responsePdu(call, {}, { ...payloadStub(kmsResponse(call)), hresult: 0x8007000d }), call),
      'hresult',
      'return value 0x8007000D after a response payload'
    )
  })

  it('an error stub is the host refusing (kms-error) — unless the header already failed a check', () => {
    expect(verifyResponsePdu(responsePdu(call, {}, errorStub(0xc004f042)), call)).toMatchObject({
      kind: 'kms-error',
      hresult: 0xc004f042,
      hresultText: '0xC004F042'
    })
    expectOnly(
      verifyResponsePdu(responsePdu(call, { callId: 9 }, errorStub(0xc004f042)), call),
      'call-id',
      "call_id 9 differs from the request's 7"
    )
  })

  it('a KMS-level failure inside a good PDU is reported with the RPC checks before it', () => {
    const other = pendingCall(syntax)
    other.request = { ...other.request, base: { ...other.request.base, cmid: '00000000-0000-0000-0000-000000000001' } }
    const o = verifyResponsePdu(responsePdu(call), other)
    expect(o).toMatchObject({ kind: 'verification-failed', failed: 'cmid-echo', unverified: { base: { epid: EPID } } })
    expect(o.kind === 'verification-failed' && o.checks.slice(0, 6).every((c) => c.status === 'pass')).toBe(true)
  })
})

describe('NDR alignment and conformance', () => {
  it('a non-zero alignment pad before the return value: ndr (a V4 response with an even-length ePID needs 2 pad bytes)', () => {
    const call = pendingCall('ndr32')
    const v4: PendingCall = { ...call, request: buildKmsRequest({ ...call.request.base, majorVer: 4 }, seededRandom(19)) }
    const parsed = parseKmsRequest(v4.request.bytes)
    if (!parsed.ok) throw new Error(parsed.reason)
    const kms = buildKmsResponse(
      parsed.request,
      { epid: '06401-00206-271-392135-03-1033-9600.0000-3622014', count: 30, activationInterval: 120, renewalInterval: 10080 },
      seededRandom(20)
    )
    expect(verifyResponsePdu(responsePdu(v4, {}, { ...payloadStub(kms), pad: Uint8Array.of(0, 0) }), v4).kind).toBe('response')
    expectOnly(
      verifyResponsePdu(responsePdu(v4, {}, { ...payloadStub(kms), pad: Uint8Array.of(0, 1) }), v4),
      'ndr',
      'unexpected NDR data: non-zero alignment pad'
    )
  })

  it('max_count other than responseSize: a protocol violation at the max_count offset', () => {
    const call = pendingCall('ndr32')
    const pdu = Uint8Array.from(responsePdu(call))
    new DataView(pdu.buffer).setUint32(16 + 8 + 8, 1, true)
    expect(verifyResponsePdu(pdu, call)).toMatchObject({ kind: 'protocol-violation', field: 'max_count', offset: 32 })
  })
})

describe('verifyResponsePdu outcomes besides verification', () => {
  it('count against N_Policy: equal is sufficient, one less is not', () => {
    for (const [count, sufficient] of [
      [25, true],
      [24, false],
      [26, true]
    ] as const) {
      const call = pendingCall('ndr32', 25)
      const pdu = responsePdu(call, {}, payloadStub(kmsResponse(call, count)))
      expect(verifyResponsePdu(pdu, call)).toMatchObject({ kind: 'response', countSufficient: sufficient, response: { base: { count } } })
    }
  })

  it('a fault PDU is an rpc-fault naming the NCA status; another PDU type is a protocol violation', () => {
    const call = pendingCall('ndr32')
    const fault = encodePdu({
      ...rpcCommon(7),
      ptype: PTYPE.fault,
      allocHint: 32,
      contextId: 1,
      cancelCount: 0,
      reserved: 0,
      status: 0x1c010003,
      reserved2: 0,
      trailer: new Uint8Array(0)
    })
    expect(verifyResponsePdu(fault, call)).toMatchObject({
      kind: 'rpc-fault',
      status: 0x1c010003,
      statusText: '0x1C010003',
      message: expect.stringMatching(/^RPC fault 0x1C010003: nca_/)
    })
    const unknownStatus = Uint8Array.from(fault)
    new DataView(unknownStatus.buffer).setUint32(24, 0x12345678, true)
    expect(verifyResponsePdu(unknownStatus, call)).toMatchObject({ kind: 'rpc-fault', message: 'RPC fault 0x12345678' })
    const request = Uint8Array.from(responsePdu(call))
    request[2] = PTYPE.request
    expect(verifyResponsePdu(request, call)).toMatchObject({
      kind: 'protocol-violation',
      field: 'PTYPE',
      offset: 2,
      message: expect.stringContaining('expected a response (2) or fault (3), got PDU type 0'),
      call
    })
    const bindAck = Uint8Array.from(responsePdu(call))
    bindAck[2] = PTYPE.bindAck
    expect(verifyResponsePdu(bindAck, call)).toMatchObject({ kind: 'protocol-violation' })
  })

  it('bytes that are no PDU, or a PDU longer than a client accepts: protocol-violation, never a throw', () => {
    const call = pendingCall('ndr32')
    expect(verifyResponsePdu(new Uint8Array(3), call)).toMatchObject({ kind: 'protocol-violation', call })
    const good = responsePdu(call)
    expect(verifyResponsePdu(good.subarray(0, good.byteLength - 1), call)).toMatchObject({ kind: 'protocol-violation' })
    const huge = Uint8Array.from(good)
    new DataView(huge.buffer).setUint16(8, 4097, true)
    expect(verifyResponsePdu(huge, call)).toMatchObject({ kind: 'protocol-violation', field: expect.any(String) })
  })
})
