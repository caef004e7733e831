/**
 * Edge cases of the two session state machines (src-main/protocol/session/client.ts and host.ts): the wording,
 * field and offset of every failure the client session reports, the state it is left in, and the host session's
 * close/fault/refusal reasons, options and bind-reply cache.
 *
 * Why: these messages are what a user sees in a diagnostic report ("RPC bind failed: …", "RPC fault 0x1C010003: …"),
 * the host's reasons are what the lab host logs, and the cache must never change an answer (only save work).
 * Offsets are taken from docs/protocol.md §2.3 (n_results after sec_addr and its pad) and §2.4/§2.6 (where the
 * request stub starts), not from the code.
 */
import { describe, expect, it } from 'vitest'
import { ProtocolEncodeError } from '../../src-main/protocol/errors'
import type { BaseRequest } from '../../src-main/protocol/kms/base'
import { HRESULT } from '../../src-main/protocol/kms/hresult'
import { buildKmsRequest } from '../../src-main/protocol/kms/request'
import type { HostAnswer } from '../../src-main/protocol/kms/response'
import { PTYPE } from '../../src-main/protocol/rpc/constants'
import { encodeRequestStub } from '../../src-main/protocol/rpc/ndr'
import { decodePdu, encodePdu, rpcCommon, type BindAckPdu, type BindPdu } from '../../src-main/protocol/rpc/pdu'
import { kmsContext, NDR32, NDR64, NIL_SYNTAX } from '../../src-main/protocol/rpc/syntax'
import { KmsClientSession, type ClientStep } from '../../src-main/protocol/session/client'
import { BindReplyCache, KmsHostSession, type HostStep, type KmsHostSessionOptions } from '../../src-main/protocol/session/host'
import { SAMPLE_EPID, sampleBaseRequest } from '../helpers/protocol-samples'
import { loadPdu, seededRandom } from '../helpers/vectors'

const BASE6: BaseRequest = sampleBaseRequest({ cmid: '11111111-2222-3333-4444-555555555555', workstationName: 'monitor.example.test' })
const BASE4: BaseRequest = { ...BASE6, majorVer: 4 }
const ANSWER: HostAnswer = {
  epid: SAMPLE_EPID,
  hwid: new Uint8Array(8),
  count: 50,
  activationInterval: 120,
  renewalInterval: 10080
}

function newHost(options: Partial<KmsHostSessionOptions> = {}): KmsHostSession {
  return new KmsHostSession({ portSpec: '1688', assocGroupId: 0x23c70e8c, ...options })
}

function replyOf(step: HostStep): Uint8Array {
  if (step.kind !== 'reply') throw new Error(`expected a reply, got ${step.kind}`)
  return step.reply
}

// ------------------------------------------------------------------------------------------------ client session

const rejected = { result: 2, reason: 2, transferSyntax: NIL_SYNTAX }
const accepted32 = { result: 0, reason: 0, transferSyntax: NDR32 }
const accepted64 = { result: 0, reason: 0, transferSyntax: NDR64 }
const btfnAck = { result: 3, reason: 3, transferSyntax: NIL_SYNTAX }

/** A bind_ack / alter_context_resp with the given results and sec_addr port_spec (docs/protocol.md §2.3). */
function ack(
  results: BindAckPdu['results'],
  { ptype = PTYPE.bindAck, callId = 2, port = '1688' }: { ptype?: BindAckPdu['ptype']; callId?: number; port?: string } = {}
): Uint8Array {
  return encodePdu({
    ...rpcCommon(callId, 0x13),
    ptype,
    maxXmitFrag: 5840,
    maxRecvFrag: 5840,
    assocGroupId: 1,
    secAddr: port === '' ? new Uint8Array(0) : Uint8Array.from([...port].map((c) => c.charCodeAt(0)).concat(0)),
    secAddrPad: new Uint8Array(0),
    reserved: 0,
    results,
    trailer: new Uint8Array(0)
  })
}

function fault(status: number, callId = 2): Uint8Array {
  return encodePdu({
    ...rpcCommon(callId, 0x23),
    ptype: PTYPE.fault,
    allocHint: 0,
    contextId: 0,
    cancelCount: 0,
    reserved: 0,
    status,
    reserved2: 0,
    trailer: new Uint8Array(0)
  })
}

const bindNak = encodePdu({
  ...rpcCommon(2),
  ptype: PTYPE.bindNak,
  rejectReason: 4,
  versions: [{ major: 5, minor: 0 }],
  trailer: new Uint8Array(0)
})

function binding(): KmsClientSession {
  const c = new KmsClientSession()
  c.bind()
  return c
}

/** A client whose bind_ack accepted only NDR64, so it now waits for the alter_context_resp. */
function altering(): KmsClientSession {
  const c = binding()
  expect(c.receive(ack([rejected, accepted64, btfnAck])).kind).toBe('send')
  expect(c.state).toBe('altering')
  return c
}

function failure(step: ClientStep) {
  if (step.kind !== 'failed') throw new Error(`expected a failure, got ${step.kind}`)
  return step.error
}

describe('client session: what each failure says', () => {
  it('bind() twice throws, naming the state', () => {
    const c = binding()
    expect(() => c.bind()).toThrow('bind() in state binding')
  })

  it('a PDU before bind() fails the session: PTYPE at offset 2, "in state idle"; a later one "in state failed"', () => {
    const c = new KmsClientSession()
    expect(failure(c.receive(ack([accepted32])))).toEqual({
      kind: 'protocol-violation',
      field: 'PTYPE',
      offset: 2,
      message: 'unexpected PDU from the host while in state idle'
    })
    expect(c.state).toBe('failed')
    expect(failure(c.receive(ack([accepted32]))).message).toBe('unexpected PDU from the host while in state failed')
  })

  it('a PDU while no call is pending says so', () => {
    const c = binding()
    c.receive(ack([accepted32, rejected, btfnAck]))
    expect(failure(c.receive(loadPdu('v6-resp')))).toEqual({
      kind: 'protocol-violation',
      field: 'PTYPE',
      offset: 2,
      message: 'unexpected PDU from the host while no call is pending'
    })
  })

  it('bind_nak → "RPC bind failed: host sent bind_nak (reason 4)"', () => {
    expect(failure(binding().receive(bindNak))).toEqual({
      kind: 'bind-rejected',
      reason: 'bind_nak',
      message: 'RPC bind failed: host sent bind_nak (reason 4)',
      results: undefined
    })
  })

  it.each([
    [0x1c01000b, 'RPC fault 0x1C01000B: nca_s_proto_error (RPC protocol error)'],
    [0x1c010003, 'RPC fault 0x1C010003: nca_s_unk_if (unknown interface or presentation context)'],
    [0x00000005, 'RPC fault 0x00000005']
  ])('a fault %i to the bind → "%s"', (status, message) => {
    const c = binding()
    expect(failure(c.receive(fault(status)))).toEqual({
      kind: 'rpc-fault',
      status,
      statusText: message.slice(10, 20),
      message
    })
    expect(c.state).toBe('failed')
  })

  it('an alter_context_resp to the bind names the expected and actual PDU types', () => {
    expect(failure(binding().receive(ack([accepted32, accepted64, btfnAck], { ptype: PTYPE.alterContextResp })))).toEqual({
      kind: 'protocol-violation',
      field: 'PTYPE',
      offset: 2,
      message: 'PTYPE at offset 2: expected PDU type 12, got 15'
    })
  })

  it('a bind_ack with another call_id names both ids', () => {
    expect(failure(binding().receive(ack([accepted32, accepted64, btfnAck], { callId: 9 })))).toEqual({
      kind: 'protocol-violation',
      field: 'call_id',
      offset: 12,
      message: "call_id at offset 12: 9 differs from the bind's 2"
    })
  })

  // docs/protocol.md §2.3: n_results sits at 26 + L, padded to a 4-byte boundary ("port 1688 → L = 5, one pad
  // byte, n_results at 0x20"; "port 11688 → L = 6, no pad"; L = 2 → two pad bytes).
  it.each([
    ['1688', 0x20],
    ['11688', 0x20],
    ['1', 28],
    ['123456', 36]
  ])('a bind_ack with one result for three contexts (port %s): n_results at offset %i', (port, offset) => {
    expect(failure(binding().receive(ack([accepted32], { port })))).toEqual({
      kind: 'protocol-violation',
      field: 'n_results',
      offset,
      message: 'bind_ack has 1 result(s) for 3 offered context(s)'
    })
  })

  it('a bind_ack accepting a context with a syntax not offered for it names the context and syntax', () => {
    expect(failure(binding().receive(ack([accepted64, accepted64, btfnAck])))).toEqual({
      kind: 'protocol-violation',
      field: 'p_results[0].transfer_syntax',
      offset: 0,
      message: 'bind_ack accepted context 0 with transfer syntax 71710533-beba-4937-8319-b5dbef9ccc36 v1, which was not offered for it'
    })
  })

  it('every context rejected → "host does not speak the KMS interface", with the results', () => {
    const results = [rejected, rejected, btfnAck]
    expect(failure(binding().receive(ack(results)))).toEqual({
      kind: 'bind-rejected',
      reason: 'all-contexts-rejected',
      message: 'RPC bind failed: host does not speak the KMS interface (every context rejected)',
      results
    })
  })

  it.each([
    ['acknowledged with 1', { result: 3, reason: 1, transferSyntax: NIL_SYNTAX }, 1],
    ['rejected (2, 2)', rejected, undefined]
  ])('BTFN %s → btfnFeatures %s', (_name, btfn, features) => {
    const step = binding().receive(ack([accepted32, rejected, btfn]))
    expect(step.kind === 'bound' && step.info.btfnFeatures).toBe(features)
  })

  it('alter_context answered by bind_nak or a fault fails the session with that error', () => {
    expect(failure(altering().receive(bindNak))).toMatchObject({ kind: 'bind-rejected', reason: 'bind_nak' })
    expect(failure(altering().receive(fault(0x1c01000b)))).toMatchObject({ kind: 'rpc-fault', status: 0x1c01000b })
    expect(failure(altering().receive(ack([accepted32])))).toMatchObject({
      field: 'PTYPE',
      message: 'PTYPE at offset 2: expected PDU type 15, got 12'
    })
  })

  // docs/protocol.md §2.3: an alter_context_resp has L = 0 and two pad bytes, so n_results is at 28; should a host
  // send a port there anyway, n_results moves behind it as in a bind_ack (L = 5 → one pad byte → 0x20).
  it.each([
    ['', 28],
    ['1688', 0x20]
  ])('an alter_context_resp (port "%s") with two results for one context: n_results at offset %i', (port, offset) => {
    const c = altering()
    expect(failure(c.receive(ack([accepted32, accepted32], { ptype: PTYPE.alterContextResp, port })))).toEqual({
      kind: 'protocol-violation',
      field: 'n_results',
      offset,
      message: 'alter_context_resp has 2 results for 1 context'
    })
    expect(c.state).toBe('failed')
  })

  it.each([
    ['accepted, but with NDR64 as its syntax', accepted64],
    ['rejected, but naming NDR32', { result: 2, reason: 2, transferSyntax: NDR32 }]
  ])('an alter_context_resp %s does not make NDR32 usable: requests stay on NDR64 ctx 1', (_name, result) => {
    const c = altering()
    expect(c.receive(ack([result], { ptype: PTYPE.alterContextResp, port: '' }))).toMatchObject({
      kind: 'bound',
      info: { contextId: 1, syntax: 'ndr64', altered: true }
    })
    expect(decodePdu(c.request(BASE6, seededRandom(1)))).toMatchObject({ ptype: PTYPE.request, contextId: 1 })
  })
})

describe('client session: the state after a call', () => {
  function ready(): { client: KmsClientSession; host: KmsHostSession } {
    const client = new KmsClientSession({ offerNdr64: false, offerBtfn: false })
    const host = newHost()
    expect(client.receive(replyOf(host.receive(client.bind()))).kind).toBe('bound')
    return { client, host }
  }

  it('a verified response leaves it ready for the next request', () => {
    const { client, host } = ready()
    const h = host.receive(client.request(BASE6, seededRandom(2)))
    if (h.kind !== 'call') throw new Error('expected a call')
    const step = client.receive(host.answer(h.call, ANSWER, seededRandom(3)))
    expect(step.kind === 'result' && step.outcome.kind).toBe('response')
    expect(client.state).toBe('ready')
  })

  it('an HRESULT refusal leaves it ready too', () => {
    const { client, host } = ready()
    const resp = replyOf(host.receive(client.request({ ...BASE6, majorVer: 7 }, seededRandom(2))))
    const step = client.receive(resp)
    expect(step.kind === 'result' && step.outcome.kind).toBe('kms-error')
    expect(client.state).toBe('ready')
  })

  it('each outcome names the context and syntax its request went on (first NDR32 ctx 0, then NDR64 ctx 1)', () => {
    const client = new KmsClientSession()
    const host = newHost()
    let out = client.bind()
    for (;;) {
      const step = client.receive(replyOf(host.receive(out)))
      if (step.kind !== 'send') break
      out = step.pdu
    }
    const calls = [2, 3].map((seed) => {
      const h = host.receive(client.request(BASE6, seededRandom(seed)))
      if (h.kind !== 'call') throw new Error('expected a call')
      const step = client.receive(host.answer(h.call, ANSWER, seededRandom(seed + 10)))
      if (step.kind !== 'result' || step.outcome.kind !== 'response') throw new Error('expected a verified response')
      return [step.outcome.call.callId, step.outcome.call.contextId, step.outcome.call.syntax]
    })
    expect(calls).toEqual([
      [2, 0, 'ndr32'],
      [3, 1, 'ndr64']
    ])
  })

  it('bytes that are no PDU end the session (state failed)', () => {
    const { client } = ready()
    client.request(BASE6, seededRandom(2))
    const step = client.receive(new Uint8Array(3))
    expect(step.kind === 'result' && step.outcome.kind).toBe('protocol-violation')
    expect(client.state).toBe('failed')
    expect(() => client.request(BASE6, seededRandom(2))).toThrow('request() in state failed')
  })
})

// -------------------------------------------------------------------------------------------------- host session

function requestPdu(
  kms: Uint8Array,
  { contextId = 0, opnum = 0, callId = 5, objectUuid }: { contextId?: number; opnum?: number; callId?: number; objectUuid?: string } = {}
): Uint8Array {
  const stub = encodeRequestStub(kms, 'ndr32')
  return encodePdu({
    ...rpcCommon(callId, objectUuid === undefined ? 0x03 : 0x83),
    ptype: PTYPE.request,
    allocHint: stub.byteLength,
    contextId,
    opnum,
    objectUuid,
    stub
  })
}

function bindPdu(callId = 2, contexts: BindPdu['contexts'] = [kmsContext(0, NDR32)]): Uint8Array {
  return encodePdu({
    ...rpcCommon(callId, 0x13),
    ptype: PTYPE.bind,
    maxXmitFrag: 5840,
    maxRecvFrag: 5840,
    assocGroupId: 0,
    reserved: 0,
    contexts,
    trailer: new Uint8Array(0)
  })
}

/** A host that accepted NDR32 on ctx 0 (the captured NDR32-only bind). */
function boundHost(options: Partial<KmsHostSessionOptions> = {}): KmsHostSession {
  const host = newHost(options)
  expect(host.receive(loadPdu('v6-ndr32-only-bind-req')).kind).toBe('reply')
  return host
}

describe('host session: reasons it gives', () => {
  const kms6 = buildKmsRequest(BASE6, seededRandom(11)).bytes

  it('a request on a context it never accepted: fault with the context id in the reason', () => {
    expect(boundHost().receive(requestPdu(kms6, { contextId: 9 }))).toMatchObject({
      kind: 'reply',
      fault: { status: 0x1c010003, reason: 'request on presentation context 9, which was not accepted' }
    })
  })

  it('opnum 3: fault with the opnum in the reason', () => {
    expect(boundHost().receive(requestPdu(kms6, { opnum: 3 }))).toMatchObject({
      kind: 'reply',
      fault: { status: 0x1c010002, reason: 'opnum 3: the KMS interface has only operation 0' }
    })
  })

  // docs/protocol.md §2.4/§2.6: the stub starts at 24, or at 40 after an object UUID; its NDR32 max_count is at
  // stub offset 4 — so a bad conformance is reported at PDU offset 28 or 44.
  it.each([
    ['without an object UUID', undefined, 28],
    ['after an object UUID', '01234567-89ab-cdef-0123-456789abcdef', 44]
  ])('an NDR stub with a wrong max_count %s is refused at its PDU offset (%s)', (_name, objectUuid, offset) => {
    const pdu = requestPdu(kms6, { objectUuid })
    pdu[offset] = 0 // max_count 260 (04 01 00 00) → 256
    // 308 bytes with the object UUID: above the default 300-byte limit
    expect(boundHost({ maxPduLength: 400 }).receive(pdu)).toMatchObject({
      kind: 'reply',
      refused: {
        problem: 'ndr',
        reason: `max_count at offset ${offset}: conformance 256 differs from requestSize 260`,
        hresult: HRESULT.invalidData,
        callId: 5,
        contextId: 0
      }
    })
  })

  it('rejectInvalidV4Mac: false hands a V4 request with a wrong MAC on as a call', () => {
    const v4 = buildKmsRequest(BASE4, seededRandom(1)).bytes
    v4[251]! ^= 1
    const h = boundHost({ rejectInvalidV4Mac: false }).receive(requestPdu(v4))
    expect(h.kind === 'call' && [h.call.request.protocol, h.call.request.v4MacValid]).toEqual([4, false])
    expect(boundHost().receive(requestPdu(v4))).toMatchObject({ kind: 'reply', refused: { problem: 'v4-mac' } })
  })

  it('a PDU longer than maxPduLength closes the connection, naming the limit', () => {
    const pdu = requestPdu(kms6)
    expect(pdu.byteLength).toBe(292)
    expect(boundHost({ maxPduLength: 200 }).receive(pdu)).toEqual({
      kind: 'close',
      reason: 'frag_length at offset 8: frag_length 292 exceeds the limit of 200'
    })
    expect(boundHost({ maxPduLength: 400 }).receive(requestPdu(kms6)).kind).toBe('call')
  })

  it('a PDU with a byte beyond its frag_length closes the connection', () => {
    const bind = loadPdu('v6-bind-req')
    const longer = new Uint8Array(bind.byteLength + 1)
    longer.set(bind)
    expect(newHost().receive(longer)).toEqual({ kind: 'close', reason: 'frag_length 160 does not match the PDU size 161' })
  })

  it.each([
    [16, 'shutdown'],
    [2, 'response'],
    [13, 'bind_nak']
  ])('PTYPE %i (%s) closes the connection, naming the type — with or without a bind cache', (ptype) => {
    const pdu = Uint8Array.from(loadPdu('v6-bind-req'))
    pdu[2] = ptype
    const reason = `PDU type ${ptype} is not one a KMS client sends`
    expect(newHost().receive(pdu)).toEqual({ kind: 'close', reason })
    expect(newHost({ bindCache: new BindReplyCache() }).receive(pdu)).toEqual({ kind: 'close', reason })
  })

  it('answerError refuses HRESULT 0 (that would be a success without a payload)', () => {
    const h = boundHost().receive(requestPdu(kms6))
    if (h.kind !== 'call') throw new Error('expected a call')
    let err: unknown
    try {
      boundHost().answerError(h.call, 0)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ProtocolEncodeError)
    expect([(err as ProtocolEncodeError).field, (err as ProtocolEncodeError).message]).toEqual([
      'HRESULT',
      'cannot encode HRESULT: an error response needs a non-zero HRESULT'
    ])
  })
})

/** Counts what a host asks of its cache. */
class CountingCache extends BindReplyCache {
  lookups = 0
  hits = 0
  stores = 0

  override get(key: string) {
    this.lookups++
    const v = super.get(key)
    if (v) this.hits++
    return v
  }

  override set(key: string, value: Parameters<BindReplyCache['set']>[1]): void {
    this.stores++
    super.set(key, value)
  }
}

describe('host session: the bind-reply cache saves work and never changes an answer', () => {
  it('a repeated bind is answered from the cache with this session’s assoc_group_id', () => {
    const cache = new CountingCache()
    const bind = loadPdu('v6-bind-req')
    const first = newHost({ bindCache: cache }).receive(bind)
    const secondHost = newHost({ bindCache: cache, assocGroupId: 0x1063bf3f })
    const second = secondHost.receive(bind)
    expect([cache.lookups, cache.hits, cache.stores, cache.size]).toEqual([2, 1, 1, 1])
    // the replay equals a fresh answer of an uncached host with the same assoc_group_id
    expect(replyOf(second)).toEqual(replyOf(newHost({ assocGroupId: 0x1063bf3f }).receive(bind)))
    expect(replyOf(second)).not.toEqual(replyOf(first))
    expect([...secondHost.acceptedContexts]).toEqual([[1, 'ndr64']])
  })

  it('requests do not consult the cache', () => {
    const cache = new CountingCache()
    const host = newHost({ bindCache: cache })
    host.receive(loadPdu('v6-ndr32-only-bind-req'))
    const lookups = cache.lookups
    expect(host.receive(requestPdu(buildKmsRequest(BASE6, seededRandom(4)).bytes)).kind).toBe('call')
    expect(cache.lookups).toBe(lookups)
  })

  it('is bounded: storing beyond maxEntries clears it first', () => {
    const cache = new BindReplyCache(2)
    const host = newHost({ bindCache: cache })
    host.receive(bindPdu(2))
    host.receive(bindPdu(3))
    expect(cache.size).toBe(2)
    host.receive(bindPdu(4))
    expect(cache.size).toBe(1)
  })

  it('replies are the caller’s own: changing one changes no later answer', () => {
    const cache = new BindReplyCache()
    const bind = loadPdu('v6-bind-req')
    const expected = replyOf(newHost({ assocGroupId: 7 }).receive(bind))
    const fresh = replyOf(newHost({ bindCache: cache, assocGroupId: 7 }).receive(bind))
    fresh.fill(0xee)
    const replayA = replyOf(newHost({ bindCache: cache, assocGroupId: 7 }).receive(bind))
    expect(replayA).toEqual(expected)
    const replayB = replyOf(newHost({ bindCache: cache, assocGroupId: 8 }).receive(bind))
    // the second replay (another assoc_group_id) did not rewrite the first
    expect(replayA).toEqual(expected)
    expect(new DataView(replayB.buffer, replayB.byteOffset).getUint32(20, true)).toBe(8)
  })
})
