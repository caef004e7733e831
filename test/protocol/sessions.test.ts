/**
 * KmsClientSession and KmsHostSession driven against each other in memory, plus the host's and client's
 * handling of unusual PDUs.
 */
import { explainWindowsCode } from '../../src-main/common/windows-codes'
import { describe, expect, it } from 'vitest'
import { formatHwid, VLMCSD_DEFAULT_HWID } from '../../src-main/protocol/hwid'
import type { BaseRequest } from '../../src-main/protocol/kms/base'
import { HRESULT } from '../../src-main/protocol/kms/hresult'
import { buildKmsRequest } from '../../src-main/protocol/kms/request'
import type { HostAnswer } from '../../src-main/protocol/kms/response'
import { makeBaseRequest } from '../../src-main/protocol/kms/params'
import { productCatalog } from '../../src-main/protocol/products'
import { CONTEXT_RESULT, NCA_STATUS, PTYPE } from '../../src-main/protocol/rpc/constants'
import { encodeRequestStub } from '../../src-main/protocol/rpc/ndr'
import { decodePdu, encodePdu, rpcCommon, type BindAckPdu, type BindPdu, type RpcPdu } from '../../src-main/protocol/rpc/pdu'
import { btfnSyntax, kmsContext, NDR32, NDR64, NIL_SYNTAX } from '../../src-main/protocol/rpc/syntax'
import { KmsClientSession, type ClientStep, type KmsClientSessionOptions } from '../../src-main/protocol/session/client'
import { KmsHostSession, type HostStep, type KmsHostSessionOptions } from '../../src-main/protocol/session/host'
import { loadPdu, seededRandom } from '../helpers/vectors'

const EPID = '03612-00206-567-887631-03-2074-14393.0000-0092024'
const ANSWER: HostAnswer = { epid: EPID, hwid: VLMCSD_DEFAULT_HWID, count: 50, activationInterval: 120, renewalInterval: 10080 }

function baseFor(productName: string, protocol?: number, cmid = '11111111-2222-3333-4444-555555555555'): BaseRequest {
  const found = productCatalog.findProduct(productName)
  if (found.kind !== 'found') throw new Error(`no product ${productName}`)
  return makeBaseRequest({
    identity: productCatalog.requestIdentity(found.sku),
    protocol,
    cmid,
    clientTime: 134400685670000000n,
    workstationName: 'monitor.example.test'
  })
}

function newHost(options: Partial<KmsHostSessionOptions> = {}): KmsHostSession {
  return new KmsHostSession({ portSpec: '1688', assocGroupId: 0x23c70e8c, ...options })
}

function reply(step: HostStep): Uint8Array {
  if (step.kind !== 'reply') throw new Error(`expected a reply, got ${step.kind}${step.kind === 'close' ? `: ${step.reason}` : ''}`)
  return step.reply
}

/** Binds the client to the host; returns the final client step and the number of PDUs the client sent. */
function connect(client: KmsClientSession, host: KmsHostSession): { step: ClientStep; sent: number } {
  let out = client.bind()
  let sent = 1
  for (;;) {
    const step = client.receive(reply(host.receive(out)))
    if (step.kind !== 'send') return { step, sent }
    out = step.pdu
    sent++
  }
}

function call(
  client: KmsClientSession,
  host: KmsHostSession,
  base: BaseRequest,
  random = seededRandom(7),
  answer = ANSWER
): { step: ClientStep; host: HostStep; request: Uint8Array } {
  const request = client.request(base, random)
  const h = host.receive(request)
  const bytes = h.kind === 'call' ? host.answer(h.call, answer, random) : reply(h)
  return { step: client.receive(bytes), host: h, request }
}

function outcomeOf(step: ClientStep) {
  if (step.kind !== 'result') throw new Error(`expected a result, got ${step.kind}`)
  return step.outcome
}

describe('client session ↔ host session in memory', () => {
  it.each([
    ['Windows 7 Professional', 4],
    ['Windows 8 Professional', 5],
    ['Windows 10 Professional', 6],
    ['Office Professional Plus 2010', 4],
    ['Office Professional Plus 2016', 6]
  ] as const)('%s (protocol %i): three-item bind, alter_context for NDR32, verified response', (name, protocol) => {
    const client = new KmsClientSession()
    const host = newHost()
    const { step, sent } = connect(client, host)
    expect(sent).toBe(2)
    expect(step).toMatchObject({
      kind: 'bound',
      info: {
        contextId: 0,
        syntax: 'ndr32',
        ndr64ContextId: 1,
        btfnFeatures: 3,
        altered: true,
        secondaryAddress: '1688',
        assocGroupId: 0x23c70e8c
      }
    })
    const base = baseFor(name)
    expect(base.majorVer).toBe(protocol)
    const { step: result, host: h } = call(client, host, base)
    expect(h.kind === 'call' && h.call).toMatchObject({ callId: 2, contextId: 0, syntax: 'ndr32', request: { protocol, base } })
    const outcome = outcomeOf(result)
    expect(outcome.kind).toBe('response')
    if (outcome.kind !== 'response') return
    expect(outcome.response.base).toEqual({
      minorVer: 0,
      majorVer: protocol,
      epid: EPID,
      cmid: base.cmid,
      clientTime: base.clientTime,
      count: 50,
      activationInterval: 120,
      renewalInterval: 10080
    })
    expect(outcome.response.hwid === undefined ? undefined : formatHwid(outcome.response.hwid)).toBe(
      protocol === 6 ? '3A1C049600B60076' : undefined
    )
    expect(outcome.countSufficient).toBe(true)
    expect(outcome.checks.filter((c) => c.status !== 'pass')).toEqual([])
    expect(client.state).toBe('ready')
  })

  it('NDR32-only bind: no alter_context, request on ctx 0', () => {
    const client = new KmsClientSession({ offerNdr64: false, offerBtfn: false })
    const host = newHost()
    const { step, sent } = connect(client, host)
    expect(sent).toBe(1)
    expect(step).toMatchObject({ kind: 'bound', info: { contextId: 0, syntax: 'ndr32', ndr64ContextId: undefined, altered: false } })
    expect([...host.acceptedContexts]).toEqual([[0, 'ndr32']])
    expect(outcomeOf(call(client, host, baseFor('Windows 10 Professional')).step).kind).toBe('response')
  })

  it('two requests on one connection: the second on the NDR64 context with call_id 3', () => {
    const client = new KmsClientSession()
    const host = newHost()
    connect(client, host)
    const first = call(client, host, baseFor('Windows Server 2019 Standard', undefined, 'd50746f6-959e-4396-a600-7674ea49f7b0'))
    const second = call(
      client,
      host,
      baseFor('Windows Server 2019 Standard', undefined, '01e5e3b4-81d8-4939-9628-4674fd5b2b41'),
      seededRandom(9),
      { ...ANSWER, count: 10 }
    )
    expect(first.host.kind === 'call' && [first.host.call.callId, first.host.call.contextId, first.host.call.syntax]).toEqual([
      2,
      0,
      'ndr32'
    ])
    expect(second.host.kind === 'call' && [second.host.call.callId, second.host.call.contextId, second.host.call.syntax]).toEqual([
      3,
      1,
      'ndr64'
    ])
    expect(second.request.byteLength).toBe(300)
    const o = outcomeOf(second.step)
    expect(o.kind === 'response' && [o.response.base.count, o.countSufficient, o.response.base.cmid]).toEqual([
      10,
      true,
      '01e5e3b4-81d8-4939-9628-4674fd5b2b41'
    ])
  })

  it('a host that accepts NDR32 and rejects NDR64 (py-kms-like, ndr64: false): no alter_context, every request on NDR32', () => {
    const client = new KmsClientSession()
    const host = newHost({ ndr64: false })
    const { step, sent } = connect(client, host)
    expect(sent).toBe(1)
    expect(step).toMatchObject({ kind: 'bound', info: { contextId: 0, ndr64ContextId: undefined } })
    call(client, host, baseFor('Windows 10 Professional'))
    const second = call(client, host, baseFor('Windows 10 Professional'))
    expect(second.host.kind === 'call' && second.host.call.syntax).toBe('ndr32')
    expect(outcomeOf(second.step).kind).toBe('response')
  })

  it('count below N_Policy is a valid response with countSufficient false', () => {
    const client = new KmsClientSession()
    const host = newHost()
    connect(client, host)
    const o = outcomeOf(call(client, host, baseFor('Windows 10 Professional'), seededRandom(3), { ...ANSWER, count: 24 }).step)
    expect(o.kind === 'response' && o.countSufficient).toBe(false)
  })

  it.each([
    [7, 0, 'unsupported-version'],
    [3, 0, 'unsupported-version'],
    [6, 1, 'minor-version']
  ] as const)('KMS version %i.%i → HRESULT 0x8007000D error response (%s)', (major, minor, problem) => {
    const client = new KmsClientSession()
    const host = newHost()
    connect(client, host)
    const base = { ...baseFor('Windows 10 Professional'), majorVer: major, minorVer: minor }
    let request: Uint8Array
    if (major >= 4) {
      request = client.request(base, seededRandom(1))
    } else {
      // buildKmsRequest refuses protocols below 4; send a hand-made 3.0 payload
      const kms = buildKmsRequest({ ...base, majorVer: 6 }, seededRandom(1)).bytes
      kms[2] = 3
      request = encodePdu({
        ...rpcCommon(2),
        ptype: PTYPE.request,
        allocHint: 268,
        contextId: 0,
        opnum: 0,
        objectUuid: undefined,
        stub: encodeRequestStub(kms, 'ndr32')
      })
    }
    const h = host.receive(request)
    expect(h).toMatchObject({ kind: 'reply', refused: { problem, hresult: HRESULT.invalidData } })
    const resp = reply(h)
    expect(resp.byteLength).toBe(36)
    if (major >= 4)
      expect(outcomeOf(client.receive(resp))).toMatchObject({ kind: 'kms-error', hresult: 0x8007000d, name: 'ERROR_INVALID_DATA' })
  })

  it('HRESULT error on the NDR64 context is the 44-byte response', () => {
    const client = new KmsClientSession()
    const host = newHost()
    connect(client, host)
    call(client, host, baseFor('Windows 10 Professional'))
    const request = client.request({ ...baseFor('Windows 10 Professional'), majorVer: 7 }, seededRandom(2))
    const resp = reply(host.receive(request))
    expect(resp.byteLength).toBe(44)
    expect(outcomeOf(client.receive(resp))).toMatchObject({ kind: 'kms-error', hresult: 0x8007000d })
  })

  it('the embedding host can refuse an accepted call with its own HRESULT', () => {
    const client = new KmsClientSession()
    const host = newHost()
    connect(client, host)
    const h = host.receive(client.request(baseFor('Office Professional Plus 2019'), seededRandom(5)))
    if (h.kind !== 'call') throw new Error('expected a call')
    expect(outcomeOf(client.receive(host.answerError(h.call, HRESULT.kmsIdMismatch)))).toMatchObject({
      kind: 'kms-error',
      hresultText: '0xC004F042',
      name: 'SL_E_VL_KEY_MANAGEMENT_SERVICE_ID_MISMATCH',
      // the meaning from the one table of Windows codes
      message: explainWindowsCode(0xc004f042).meaning
    })
  })

  it('a request on a context the host never accepted gets fault 0x1C010003, which the client reports', () => {
    const client = new KmsClientSession()
    connect(client, newHost())
    const unbound = newHost()
    const request = client.request(baseFor('Windows 10 Professional'), seededRandom(4))
    const h = unbound.receive(request)
    expect(h).toMatchObject({ kind: 'reply', fault: { status: NCA_STATUS.unknownInterface } })
    expect(outcomeOf(client.receive(reply(h)))).toMatchObject({ kind: 'rpc-fault', status: 0x1c010003, statusText: '0x1C010003' })
  })
})

function requestPdu(contextId: number, opnum: number, kms: Uint8Array, callId = 0x1235, syntax: 'ndr32' | 'ndr64' = 'ndr32'): Uint8Array {
  const stub = encodeRequestStub(kms, syntax)
  return encodePdu({
    ...rpcCommon(callId),
    ptype: PTYPE.request,
    allocHint: stub.byteLength,
    contextId,
    opnum,
    objectUuid: undefined,
    stub
  })
}

function decodeReply(step: HostStep): RpcPdu {
  return decodePdu(reply(step))
}

describe('host session: contexts, faults, refusals and closing', () => {
  const kms6 = buildKmsRequest(baseFor('Windows 10 Professional'), seededRandom(11)).bytes

  it('a request on ctx 0 rejected in an NDR64-preferring bind gets a fault copying call_id and p_cont_id', () => {
    const host = newHost()
    host.receive(loadPdu('v6-bind-req'))
    const f = decodeReply(host.receive(requestPdu(0, 0, kms6)))
    expect(f).toMatchObject({
      ptype: PTYPE.fault,
      pfcFlags: 0x23,
      callId: 0x1235,
      contextId: 0,
      status: 0x1c010003,
      allocHint: 0,
      cancelCount: 0
    })
    expect(encodePdu(f).byteLength).toBe(32)
    // ctx 9 never existed either
    expect(decodeReply(host.receive(requestPdu(9, 0, kms6)))).toMatchObject({ ptype: PTYPE.fault, contextId: 9, status: 0x1c010003 })
  })

  it('a request before any bind gets fault 0x1C010003', () => {
    expect(decodeReply(newHost().receive(requestPdu(0, 0, kms6)))).toMatchObject({ ptype: PTYPE.fault, status: 0x1c010003 })
  })

  it('opnum ≠ 0 → fault 0x1C010002', () => {
    const host = newHost()
    host.receive(loadPdu('v6-ndr32-only-bind-req'))
    expect(decodeReply(host.receive(requestPdu(0, 3, kms6)))).toMatchObject({
      ptype: PTYPE.fault,
      status: NCA_STATUS.opRangeError,
      callId: 0x1235
    })
  })

  it('a call on the NDR64 context answers with NDR64 stubs, flags 0x03 and the request call_id', () => {
    const host = newHost()
    host.receive(loadPdu('v6-bind-req'))
    const h = host.receive(requestPdu(1, 0, kms6, 77, 'ndr64'))
    if (h.kind !== 'call') throw new Error('expected a call')
    expect(h.call).toMatchObject({ callId: 77, contextId: 1, syntax: 'ndr64' })
    const resp = decodePdu(host.answer(h.call, ANSWER, seededRandom(1)))
    expect(resp).toMatchObject({ ptype: PTYPE.response, pfcFlags: 0x03, callId: 77, contextId: 1, allocHint: 288 })
  })

  it('refuses malformed KMS payloads with 0x8007000D and names the problem', () => {
    const host = newHost()
    host.receive(loadPdu('v6-ndr32-only-bind-req'))
    const problemOf = (kms: Uint8Array): string | undefined => {
      const h = host.receive(requestPdu(0, 0, kms))
      return h.kind === 'reply' ? h.refused?.problem : h.kind
    }
    expect(problemOf(kms6.subarray(0, 252))).toBe('too-short')
    expect(problemOf(kms6.subarray(0, 3))).toBe('too-short')
    // a corrupted last ciphertext block breaks the PKCS#7 pad
    const badPad = Uint8Array.from(kms6)
    badPad[259]! ^= 0x55
    expect(problemOf(badPad)).toBe('padding')
    const v4 = buildKmsRequest(baseFor('Windows 7 Professional'), seededRandom(1)).bytes
    const badMac = Uint8Array.from(v4)
    badMac[251]! ^= 1
    expect(problemOf(badMac)).toBe('v4-mac')
    // excess bytes are accepted and ignored (within the 300-byte PDU limit)
    const longer = new Uint8Array(264)
    longer.set(kms6)
    const h = host.receive(requestPdu(0, 0, longer))
    expect(h.kind === 'call' && h.call.request.excessBytes).toBe(4)
    // NDR conformance that disagrees with the size
    const stub = encodeRequestStub(kms6, 'ndr32')
    stub[4] = 0
    const raw = encodePdu({
      ...rpcCommon(5),
      ptype: PTYPE.request,
      allocHint: stub.byteLength,
      contextId: 0,
      opnum: 0,
      objectUuid: undefined,
      stub
    })
    expect(host.receive(raw)).toMatchObject({ kind: 'reply', refused: { problem: 'ndr' } })
  })

  it('inner version ≠ outer version is refused', () => {
    const host = newHost()
    host.receive(loadPdu('v6-ndr32-only-bind-req'))
    // A 7.0 base request encrypted with the V6 cipher (as vlmcs does for 7.0) under a 6.0 outer version.
    const base = { ...baseFor('Windows 10 Professional'), majorVer: 7 }
    const kms = buildKmsRequest(base, seededRandom(3)).bytes // V6 cipher for 7.0, inner 7.0
    kms[2] = 6 // outer now 6.0, inner still 7.0
    expect(host.receive(requestPdu(0, 0, kms))).toMatchObject({ kind: 'reply', refused: { problem: 'inner-version' } })
  })

  it('rejectInvalidV4Mac: false passes the call on with v4MacValid false', () => {
    const host = newHost({ rejectInvalidV4Mac: false })
    host.receive(loadPdu('v6-ndr32-only-bind-req'))
    const v4 = buildKmsRequest(baseFor('Windows 7 Professional'), seededRandom(1)).bytes
    v4[240]! ^= 1
    const h = host.receive(requestPdu(0, 0, v4))
    expect(h.kind === 'call' && h.call.request.v4MacValid).toBe(false)
  })

  it.each([
    ['auth_length ≠ 0', (b: Uint8Array) => (b[10] = 8)],
    ['RPC version 5.1', (b: Uint8Array) => (b[1] = 1)],
    ['RPC version 4', (b: Uint8Array) => (b[0] = 4)],
    ['big-endian drep', (b: Uint8Array) => (b[4] = 0)],
    ['FIRST_FRAG without LAST_FRAG', (b: Uint8Array) => (b[3] = 0x01)],
    ['LAST_FRAG without FIRST_FRAG', (b: Uint8Array) => (b[3] = 0x02)],
    ['PTYPE 16 (shutdown)', (b: Uint8Array) => (b[2] = 16)],
    ['PTYPE 13 (bind_nak)', (b: Uint8Array) => (b[2] = 13)],
    ['PTYPE 2 (response)', (b: Uint8Array) => (b[2] = 2)],
    ['frag_length > 300', (b: Uint8Array) => ((b[8] = 0x2d), (b[9] = 0x01))],
    ['frag_length ≠ PDU size', (b: Uint8Array) => (b[8] = 0x9f)],
    ['frag_length < 16', (b: Uint8Array) => ((b[8] = 4), (b[9] = 0))]
  ])('closes on %s', (_name, mutate) => {
    const b = Uint8Array.from(loadPdu('v6-bind-req'))
    mutate(b)
    const step = newHost().receive(b)
    expect(step.kind).toBe('close')
    expect(step.kind === 'close' && step.reason.length).toBeGreaterThan(0)
  })

  it('closes on a bind too short for its n_context_elem and on garbage', () => {
    const b = Uint8Array.from(loadPdu('v6-bind-req').subarray(0, 100))
    b[8] = 100
    expect(newHost().receive(b).kind).toBe('close')
    expect(newHost().receive(new Uint8Array(5)).kind).toBe('close')
  })

  function bindWith(contexts: BindPdu['contexts'], ptype: BindPdu['ptype'] = PTYPE.bind): Uint8Array {
    return encodePdu({
      ...rpcCommon(2, 0x13),
      ptype,
      maxXmitFrag: 5840,
      maxRecvFrag: 5840,
      assocGroupId: 0,
      reserved: 0,
      contexts,
      trailer: new Uint8Array(0)
    })
  }

  function resultsOf(step: HostStep): [number, number, string][] {
    const p = decodeReply(step) as BindAckPdu
    return p.results.map((r) => [r.result, r.reason, r.transferSyntax.uuid])
  }

  it('wrong interface → (2, 1); unknown transfer syntax → (2, 2); BTFN reason = requested bits & 3', () => {
    const other = { uuid: '12345678-1234-1234-1234-123456789abc', version: 1 }
    const nil = '00000000-0000-0000-0000-000000000000'
    const host = newHost()
    const step = host.receive(
      bindWith([
        { contextId: 0, reserved: 0, abstractSyntax: other, transferSyntaxes: [NDR32] },
        { contextId: 1, reserved: 0, abstractSyntax: NIL_SYNTAX, transferSyntaxes: [NDR64] },
        kmsContext(2, { uuid: '11111111-2222-3333-4444-555555555555', version: 1 }),
        kmsContext(3, btfnSyntax(0xffn)),
        kmsContext(4, btfnSyntax(0x1n)),
        { contextId: 5, reserved: 0, abstractSyntax: other, transferSyntaxes: [btfnSyntax(2n)] }
      ])
    )
    expect(resultsOf(step)).toEqual([
      [2, 1, nil],
      [2, 1, nil],
      [2, 2, nil],
      [3, 3, nil],
      [3, 1, nil],
      [3, 2, nil]
    ])
    expect(host.acceptedContexts.size).toBe(0)
  })

  it('btfn: false rejects BTFN (2, 2); ndr64: false rejects NDR64 and accepts NDR32 in the same bind', () => {
    const step = newHost({ btfn: false, ndr64: false }).receive(loadPdu('v6-bind-req'))
    expect(resultsOf(step).map(([r, why]) => [r, why])).toEqual([
      [0, 0],
      [2, 2],
      [2, 2]
    ])
  })

  it('an item offering NDR32 and NDR64 together is accepted as NDR64; a second transfer syntax is considered', () => {
    const host = newHost()
    const step = host.receive(
      bindWith([
        {
          contextId: 7,
          reserved: 0,
          abstractSyntax: { uuid: '51c82175-844e-4750-b0d8-ec255555bc06', version: 1 },
          transferSyntaxes: [NDR32, NDR64]
        }
      ])
    )
    expect(resultsOf(step)).toEqual([[CONTEXT_RESULT.acceptance, 0, NDR64.uuid]])
    expect([...host.acceptedContexts]).toEqual([[7, 'ndr64']])
  })
})

describe('client session: bind outcomes and protocol violations', () => {
  function ack(results: BindAckPdu['results'], ptype: BindAckPdu['ptype'] = PTYPE.bindAck, callId = 2): Uint8Array {
    return encodePdu({
      ...rpcCommon(callId, 0x13),
      ptype,
      maxXmitFrag: 5840,
      maxRecvFrag: 5840,
      assocGroupId: 1,
      secAddr: new Uint8Array([0x31, 0]),
      secAddrPad: new Uint8Array(0),
      reserved: 0,
      results,
      trailer: new Uint8Array(0)
    })
  }
  const rejected = { result: 2, reason: 2, transferSyntax: NIL_SYNTAX }
  const accepted32 = { result: 0, reason: 0, transferSyntax: NDR32 }
  const accepted64 = { result: 0, reason: 0, transferSyntax: NDR64 }
  const btfnAck = { result: 3, reason: 3, transferSyntax: NIL_SYNTAX }

  function started(options: KmsClientSessionOptions = {}): KmsClientSession {
    const c = new KmsClientSession(options)
    c.bind()
    return c
  }

  it('every context rejected → bind-rejected', () => {
    expect(started().receive(ack([rejected, rejected, btfnAck]))).toMatchObject({
      kind: 'failed',
      error: { kind: 'bind-rejected', reason: 'all-contexts-rejected' }
    })
  })

  it('bind_nak → bind-rejected; fault → rpc-fault', () => {
    const nak = encodePdu({
      ...rpcCommon(2),
      ptype: PTYPE.bindNak,
      rejectReason: 4,
      versions: [{ major: 5, minor: 0 }],
      trailer: new Uint8Array(0)
    })
    expect(started().receive(nak)).toMatchObject({ kind: 'failed', error: { kind: 'bind-rejected', reason: 'bind_nak' } })
    const fault = encodePdu({
      ...rpcCommon(2, 0x23),
      ptype: PTYPE.fault,
      allocHint: 0,
      contextId: 0,
      cancelCount: 0,
      reserved: 0,
      status: 0x1c01000b,
      reserved2: 0,
      trailer: new Uint8Array(0)
    })
    expect(started().receive(fault)).toMatchObject({ kind: 'failed', error: { kind: 'rpc-fault', status: 0x1c01000b } })
  })

  it('wrong number of results, wrong call_id, unoffered syntax and non-PDUs are protocol violations', () => {
    expect(started().receive(ack([accepted32]))).toMatchObject({
      kind: 'failed',
      error: { kind: 'protocol-violation', field: 'n_results' }
    })
    expect(started().receive(ack([accepted32, accepted64, btfnAck], PTYPE.bindAck, 9))).toMatchObject({
      error: { kind: 'protocol-violation', field: 'call_id' }
    })
    expect(started().receive(ack([accepted64, accepted64, btfnAck]))).toMatchObject({
      error: { kind: 'protocol-violation', field: 'p_results[0].transfer_syntax' }
    })
    expect(started().receive(ack([accepted32, accepted64, btfnAck], PTYPE.alterContextResp))).toMatchObject({
      error: { kind: 'protocol-violation', field: 'PTYPE' }
    })
    expect(started().receive(new Uint8Array(3))).toMatchObject({ error: { kind: 'protocol-violation', field: 'rpc_header', offset: 0 } })
  })

  it('alter_context rejected after NDR64 was accepted → requests go on NDR64', () => {
    const c = started()
    expect(c.receive(ack([rejected, accepted64, btfnAck])).kind).toBe('send')
    expect(c.receive(ack([rejected], PTYPE.alterContextResp))).toMatchObject({
      kind: 'bound',
      info: { contextId: 1, syntax: 'ndr64', altered: true }
    })
    const req = decodePdu(c.request(baseFor('Windows 10 Professional'), seededRandom(1)))
    expect(req).toMatchObject({ ptype: PTYPE.request, contextId: 1, callId: 2 })
  })

  it('py-kms bind_ack (NDR32 accepted): straight to the request on ctx 0', () => {
    const c = started()
    expect(c.receive(loadPdu('cross-pykms-v6-bind-ack'))).toMatchObject({
      kind: 'bound',
      info: { contextId: 0, ndr64ContextId: undefined, altered: false, secondaryAddress: '11689' }
    })
  })

  it('a PDU while no call is pending fails the session; request() outside ready throws', () => {
    const c = new KmsClientSession()
    expect(() => c.request(baseFor('Windows 10 Professional'), seededRandom(1))).toThrow(/state idle/)
    c.bind()
    c.receive(ack([accepted32, rejected, btfnAck]))
    expect(c.state).toBe('ready')
    expect(c.receive(loadPdu('v6-resp'))).toMatchObject({ kind: 'failed', error: { kind: 'protocol-violation' } })
    expect(c.state).toBe('failed')
  })
})
