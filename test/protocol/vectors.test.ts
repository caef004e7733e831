/**
 * The protocol engine against the captured vlmcs ↔ vlmcsd exchanges: decoded fields equal what the client
 * printed, our client reproduces the captured request bytes, our host reproduces the captured bind_acks and
 * (given the randomness recovered from the capture) the captured responses, and every single-byte corruption of
 * a captured response is caught with a named reason.
 */
import { describe, expect, it } from 'vitest'
import { bytesEqual, toHex, xorBytes } from '../../src-main/protocol/bytes'
import { cipherForMajor, ZERO_BLOCK } from '../../src-main/protocol/crypto/kms-crypto'
import { formatFileTimeUtc } from '../../src-main/protocol/filetime'
import { formatHwid, parseHwid } from '../../src-main/protocol/hwid'
import { parseKmsRequest, type BuiltKmsRequest } from '../../src-main/protocol/kms/request'
import { PTYPE } from '../../src-main/protocol/rpc/constants'
import { decodeRequestStub, type NdrSyntax } from '../../src-main/protocol/rpc/ndr'
import { decodePdu, type RequestPdu, type ResponsePdu } from '../../src-main/protocol/rpc/pdu'
import { verifyResponsePdu, type KmsCallOutcome, type PendingCall } from '../../src-main/protocol/session/call-outcome'
import { KmsClientSession, type ClientStep } from '../../src-main/protocol/session/client'
import { BindReplyCache, KmsHostSession, type HostStep, type KmsCall } from '../../src-main/protocol/session/host'
import {
  baseRequestFromPrinted,
  CAPTURED_EXCHANGES,
  loadPdu,
  loadVlmcsOutput,
  scriptedRandom,
  type CapturedExchange,
  type PrintedResponse
} from '../helpers/vectors'

const WITH_OUTPUT = CAPTURED_EXCHANGES.filter((x) => x.output !== undefined && x.name !== 'bad-version-7')
const KMS_OK = CAPTURED_EXCHANGES.filter((x) => x.name !== 'bad-version-7')

function requestPdu(name: string): RequestPdu {
  const p = decodePdu(loadPdu(name))
  if (p.ptype !== PTYPE.request) throw new Error(`${name} is not a request`)
  return p
}

function syntaxOf(contextId: number, x: CapturedExchange): NdrSyntax {
  // In every capture with an alter_context NDR32 is ctx 0 and NDR64 ctx 1; the NDR32-only bind has ctx 0 only.
  return contextId === 1 && x.alterReq !== undefined ? 'ndr64' : 'ndr32'
}

function capturedKmsRequest(name: string, x: CapturedExchange): Uint8Array {
  const req = requestPdu(name)
  return decodeRequestStub(req.stub, syntaxOf(req.contextId, x)).kmsRequest
}

/** The BuiltKmsRequest a client would hold for a captured request (decrypted by our host parser). */
function pendingFor(name: string, x: CapturedExchange): PendingCall {
  const req = requestPdu(name)
  const syntax = syntaxOf(req.contextId, x)
  const kms = decodeRequestStub(req.stub, syntax).kmsRequest
  const parsed = parseKmsRequest(kms)
  if (!parsed.ok) throw new Error(`${name}: ${parsed.reason}`)
  const built: BuiltKmsRequest = { bytes: kms, base: parsed.request.base, iv: parsed.request.iv, decryptedIv: parsed.request.decryptedIv }
  return { callId: req.callId, contextId: req.contextId, syntax, request: built }
}

function expectPrintedResponse(outcome: KmsCallOutcome, printed: PrintedResponse): void {
  expect(outcome.kind).toBe('response')
  if (outcome.kind !== 'response') return
  const r = outcome.response
  expect(r.kmsLength).toBe(printed.size)
  expect(`${r.majorVer}.${r.minorVer}`).toBe(printed.protocolVersion)
  expect(r.base.epid).toBe(printed.epid)
  expect(r.hwid === undefined ? undefined : formatHwid(r.hwid)).toBe(printed.hwid)
  expect(r.base.cmid).toBe(printed.cmid)
  expect(formatFileTimeUtc(r.base.clientTime)).toBe(printed.timestamp)
  expect(r.base.count).toBe(printed.count)
  expect(r.base.renewalInterval).toBe(printed.renewalInterval)
  expect(r.base.activationInterval).toBe(printed.activationInterval)
  expect(outcome.checks.every((c) => c.status === 'pass')).toBe(true)
}

describe('decoded fields equal what vlmcs printed', () => {
  it.each(WITH_OUTPUT)('$name: requests and responses', (x) => {
    const printed = loadVlmcsOutput(x.output!)
    expect(printed.requests.length).toBe(x.calls.length)
    expect(printed.responses.length).toBe(x.calls.length)
    x.calls.forEach((c, i) => {
      const p = printed.requests[i]!
      const parsed = parseKmsRequest(capturedKmsRequest(c.req, x))
      expect(parsed.ok).toBe(true)
      if (!parsed.ok) return
      const b = parsed.request.base
      expect(b).toEqual(baseRequestFromPrinted(p))
      expect(formatFileTimeUtc(b.clientTime)).toBe(p.timestamp)
      expect(`${b.majorVer}.${b.minorVer}`).toBe(p.protocolVersion)
      expect(b.workstationName).toBe(p.workstationName)
      expect(parsed.request.excessBytes).toBe(0)
      if (b.majorVer === 4) expect(parsed.request.v4MacValid).toBe(true)
      expectPrintedResponse(verifyResponsePdu(loadPdu(c.resp), pendingFor(c.req, x)), printed.responses[i]!)
    })
  })

  it('bad-version-7: the request is refused with 0x8007000D, as printed', () => {
    const x = CAPTURED_EXCHANGES.find((e) => e.name === 'bad-version-7')!
    const printed = loadVlmcsOutput(x.output!)
    expect(printed.requests[0]!.protocolVersion).toBe('7.0')
    expect(printed.errors).toEqual(['Error 0x8007000D while sending request 1 of 1'])
    const parsed = parseKmsRequest(capturedKmsRequest('bad-version-7-req', x))
    expect(parsed).toMatchObject({ ok: false, problem: 'unsupported-version', hresult: 0x8007000d })
  })
})

describe('our client reproduces the captured bytes (bind, alter_context, requests) from the printed values and captured IVs', () => {
  it.each(CAPTURED_EXCHANGES.filter((x) => x.output !== undefined))('$name', (x) => {
    const printed = loadVlmcsOutput(x.output!)
    const session = new KmsClientSession(x.alterReq === undefined ? { offerNdr64: false, offerBtfn: false } : {})
    expect(toHex(session.bind())).toBe(toHex(loadPdu(x.bindReq)))
    let step: ClientStep = session.receive(loadPdu(x.bindAck))
    if (x.alterReq) {
      expect(step.kind).toBe('send')
      if (step.kind === 'send') expect(toHex(step.pdu)).toBe(toHex(loadPdu(x.alterReq)))
      step = session.receive(loadPdu(x.alterResp!))
    }
    expect(step.kind).toBe('bound')
    x.calls.forEach((c, i) => {
      const captured = capturedKmsRequest(c.req, x)
      const base = baseRequestFromPrinted(printed.requests[i]!)
      // V4 uses no randomness; V5/V6 take the IV, which is in the capture (bytes 4..19 of the KMS request).
      const random = base.majorVer === 4 ? scriptedRandom() : scriptedRandom(captured.slice(4, 20))
      expect(toHex(session.request(base, random))).toBe(toHex(loadPdu(c.req)))
      const result = session.receive(loadPdu(c.resp))
      expect(result.kind).toBe('result')
      if (result.kind !== 'result') return
      if (x.name === 'bad-version-7') {
        expect(result.outcome).toMatchObject({ kind: 'kms-error', hresult: 0x8007000d, hresultText: '0x8007000D' })
      } else {
        expectPrintedResponse(result.outcome, printed.responses[i]!)
      }
    })
  })

  it('v6-p-flag: bind and alter_context without CONC_MPX (flags 0x03)', () => {
    const session = new KmsClientSession({ multiplex: false })
    expect(toHex(session.bind())).toBe(toHex(loadPdu('v6-p-flag-bind-req')))
    const step = session.receive(loadPdu('v6-p-flag-bind-ack'))
    expect(step.kind === 'send' && toHex(step.pdu)).toBe(toHex(loadPdu('v6-p-flag-alter-req')))
  })
})

function assocGroupOf(name: string): number {
  const p = decodePdu(loadPdu(name))
  if (p.ptype !== PTYPE.bindAck && p.ptype !== PTYPE.alterContextResp) throw new Error('not a bind_ack')
  return p.assocGroupId
}

function hostReply(step: HostStep): Uint8Array {
  if (step.kind !== 'reply') throw new Error(`expected a reply, got ${step.kind}`)
  return step.reply
}

function hostCall(step: HostStep): KmsCall {
  if (step.kind !== 'call') throw new Error(`expected a call, got ${JSON.stringify(step)}`)
  return step.call
}

describe('our host against the captured conversations', () => {
  it.each(CAPTURED_EXCHANGES)("$name: bind_ack byte for byte, alter_context_resp except vlmcsd's junk pad", (x) => {
    const host = new KmsHostSession({ portSpec: '11688', assocGroupId: assocGroupOf(x.bindAck) })
    expect(toHex(hostReply(host.receive(loadPdu(x.bindReq))))).toBe(toHex(loadPdu(x.bindAck)))
    if (x.alterReq) {
      const ours = hostReply(host.receive(loadPdu(x.alterReq)))
      const theirs = Uint8Array.from(loadPdu(x.alterResp!))
      expect(toHex(ours.subarray(26, 28))).toBe('0000')
      theirs.fill(0, 26, 28)
      expect(toHex(ours)).toBe(toHex(theirs))
    }
  })

  it.each(CAPTURED_EXCHANGES)(
    '$name: with a bind cache shared by sessions, a replayed bind_ack matches the captured one and its contexts work',
    (x) => {
      const cache = new BindReplyCache()
      const group = assocGroupOf(x.bindAck)
      // the first session fills the cache under another assoc_group_id; the second is answered from it
      const first = new KmsHostSession({ portSpec: '11688', assocGroupId: group ^ 0x5a5a5a5a, bindCache: cache })
      hostReply(first.receive(loadPdu(x.bindReq)))
      if (x.alterReq) hostReply(first.receive(loadPdu(x.alterReq)))
      expect(cache.size).toBe(x.alterReq ? 2 : 1)
      const second = new KmsHostSession({ portSpec: '11688', assocGroupId: group, bindCache: cache })
      expect(toHex(hostReply(second.receive(loadPdu(x.bindReq))))).toBe(toHex(loadPdu(x.bindAck)))
      if (x.alterReq) hostReply(second.receive(loadPdu(x.alterReq)))
      expect(second.acceptedContexts).toEqual(first.acceptedContexts)
      // the request on the replayed contexts is handled as on the decoded ones (a call, or the same refusal)
      const ours = second.receive(loadPdu(x.calls[0]!.req))
      const reference = first.receive(loadPdu(x.calls[0]!.req))
      expect(ours.kind).toBe(reference.kind)
      if (ours.kind === 'call' && reference.kind === 'call') expect(ours.call.syntax).toBe(reference.call.syntax)
      if (ours.kind === 'reply' && reference.kind === 'reply') expect(toHex(ours.reply)).toBe(toHex(reference.reply))
      // another port text is another answer (sec_addr differs), not a hit
      const otherPort = new KmsHostSession({ portSpec: '1688', assocGroupId: group, bindCache: cache })
      expect(toHex(hostReply(otherPort.receive(loadPdu(x.bindReq))))).not.toBe(toHex(loadPdu(x.bindAck)))
    }
  )

  it('a bind cache stays bounded: it starts over when full', () => {
    const cache = new BindReplyCache(2)
    for (let port = 1; port <= 5; port++)
      new KmsHostSession({ portSpec: String(port), assocGroupId: 1, bindCache: cache }).receive(new KmsClientSession().bind())
    expect(cache.size).toBeLessThanOrEqual(2)
  })

  it.each(KMS_OK)('$name: reproduces the captured responses given the randomness recovered from them', (x) => {
    const host = new KmsHostSession({ portSpec: '11688', assocGroupId: assocGroupOf(x.bindAck) })
    host.receive(loadPdu(x.bindReq))
    if (x.alterReq) host.receive(loadPdu(x.alterReq))
    for (const c of x.calls) {
      const call = hostCall(host.receive(loadPdu(c.req)))
      const pending = pendingFor(c.req, x)
      const outcome = verifyResponsePdu(loadPdu(c.resp), pending)
      if (outcome.kind !== 'response') throw new Error(`${c.resp} did not verify`)
      const r = outcome.response
      const chunks: Uint8Array[] = []
      if (call.request.protocol !== 4) {
        const resp = decodePdu(loadPdu(c.resp)) as ResponsePdu
        const headLen = call.syntax === 'ndr32' ? 12 : 24
        const kms = resp.stub.subarray(headLen, headLen + r.kmsLength)
        const pt = cipherForMajor(call.request.protocol).cbcDecrypt(ZERO_BLOCK, kms.subarray(4))
        const rxiAt = 16 + 44 + 2 * (r.base.epid.length + 1)
        const random = xorBytes(pt.subarray(rxiAt, rxiAt + 16), call.request.decryptedIv!)
        if (call.request.protocol === 6) chunks.push(pt.slice(0, 16))
        chunks.push(random)
      }
      const answer = {
        epid: r.base.epid,
        hwid: r.hwid,
        count: r.base.count,
        activationInterval: r.base.activationInterval,
        renewalInterval: r.base.renewalInterval
      }
      expect(toHex(host.answer(call, answer, scriptedRandom(...chunks)))).toBe(toHex(loadPdu(c.resp)))
    }
  })

  it.each(KMS_OK)('$name: our answer with fresh randomness verifies with our client', (x) => {
    const host = new KmsHostSession({ portSpec: '1688', assocGroupId: 0x1234 })
    host.receive(loadPdu(x.bindReq))
    if (x.alterReq) host.receive(loadPdu(x.alterReq))
    let seed = 1
    for (const c of x.calls) {
      const call = hostCall(host.receive(loadPdu(c.req)))
      const reply = host.answer(
        call,
        {
          epid: '06401-00206-271-392135-03-1033-9600.0000-3622014',
          hwid: parseHwid('0011223344556677'),
          count: 7,
          activationInterval: 60,
          renewalInterval: 1440
        },
        (n) => Uint8Array.from({ length: n }, () => (seed = (seed * 73 + 41) & 0xff))
      )
      const outcome = verifyResponsePdu(reply, pendingFor(c.req, x))
      expect(outcome.kind).toBe('response')
      if (outcome.kind === 'response') {
        expect(outcome.response.base).toMatchObject({
          epid: '06401-00206-271-392135-03-1033-9600.0000-3622014',
          count: 7,
          activationInterval: 60,
          renewalInterval: 1440
        })
        expect(outcome.countSufficient).toBe(7 >= call.request.base.nPolicy)
        if (call.request.protocol === 6) expect(formatHwid(outcome.response.hwid!)).toBe('0011223344556677')
      }
    }
  })

  it('bad-version-7: answered with the captured 36-byte HRESULT response', () => {
    const x = CAPTURED_EXCHANGES.find((e) => e.name === 'bad-version-7')!
    const host = new KmsHostSession({ portSpec: '11688', assocGroupId: assocGroupOf(x.bindAck) })
    host.receive(loadPdu(x.bindReq))
    host.receive(loadPdu(x.alterReq!))
    const step = host.receive(loadPdu('bad-version-7-req'))
    expect(step.kind === 'reply' && step.refused?.problem).toBe('unsupported-version')
    expect(toHex(hostReply(step))).toBe(toHex(loadPdu('bad-version-7-resp')))
  })
})

describe('any single flipped byte of a captured response is caught with a named reason', () => {
  const cases = [
    { x: 'v4', req: 'v4-req', resp: 'v4-resp' },
    { x: 'v5', req: 'v5-req', resp: 'v5-resp' },
    { x: 'v6', req: 'v6-req', resp: 'v6-resp' },
    { x: 'v6-two-requests', req: 'v6-two-requests-req-2', resp: 'v6-two-requests-resp-2' }
  ]
  it.each(cases)('$resp (masks 0x01, 0x80, 0xff at every offset)', ({ x, req, resp }) => {
    const exchange = CAPTURED_EXCHANGES.find((e) => e.name === x)!
    const pending = pendingFor(req, exchange)
    const original = loadPdu(resp)
    expect(verifyResponsePdu(original, pending).kind).toBe('response')
    const reasons = new Map<string, number>()
    for (let i = 0; i < original.byteLength; i++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const bad = Uint8Array.from(original)
        bad[i]! ^= mask
        const outcome = verifyResponsePdu(bad, pending)
        expect(outcome.kind, `offset ${i} mask ${mask}`).not.toBe('response')
        let label: string
        switch (outcome.kind) {
          case 'verification-failed':
            expect(outcome.reason.length).toBeGreaterThan(0)
            expect(outcome.checks.some((c) => c.name === outcome.failed && c.status === 'fail')).toBe(true)
            label = outcome.failed
            break
          case 'protocol-violation':
            expect(outcome.field.length).toBeGreaterThan(0)
            expect(outcome.message).toContain(`at offset ${outcome.offset}`)
            label = `violation:${outcome.field}`
            break
          case 'rpc-fault':
            label = 'rpc-fault'
            break
          case 'kms-error':
            label = 'kms-error'
            break
          default:
            label = 'unexpected'
        }
        reasons.set(label, (reasons.get(label) ?? 0) + 1)
      }
    }
    expect(reasons.has('unexpected')).toBe(false)
    // The cryptographic checks must be what catches corruption of the KMS payload.
    const crypto = resp.startsWith('v4') ? ['v4-mac'] : resp.startsWith('v5') ? ['hash', 'iv-echo'] : ['hmac']
    for (const c of crypto) expect(reasons.get(c) ?? 0).toBeGreaterThan(0)
  })

  it('the verdict names the failing check for a forged field', () => {
    const exchange = CAPTURED_EXCHANGES.find((e) => e.name === 'v6')!
    const pending = pendingFor('v6-req', exchange)
    const wrongCmid = {
      ...pending,
      request: { ...pending.request, base: { ...pending.request.base, cmid: '11111111-2222-3333-4444-555555555556' } }
    }
    expect(verifyResponsePdu(loadPdu('v6-resp'), wrongCmid)).toMatchObject({ kind: 'verification-failed', failed: 'cmid-echo' })
    const wrongCall = { ...pending, callId: 3 }
    expect(verifyResponsePdu(loadPdu('v6-resp'), wrongCall)).toMatchObject({ kind: 'verification-failed', failed: 'call-id' })
    const wrongIv = { ...pending, request: { ...pending.request, decryptedIv: new Uint8Array(16) } }
    expect(verifyResponsePdu(loadPdu('v6-resp'), wrongIv)).toMatchObject({ kind: 'verification-failed', failed: 'hash' })
    expect(bytesEqual(pending.request.iv!, capturedKmsRequest('v6-req', exchange).subarray(4, 20))).toBe(true)
  })
})
