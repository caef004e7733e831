/**
 * Robustness: random buffers and buffers mutated from the captured vectors (bit flips, byte sets, truncations,
 * extensions, length-field edits, splices of two PDUs) go through every decoder, the host session and the
 * client's response verification. Each decoder must either return a value or throw ProtocolDecodeError (the
 * parse/verify/session entry points must not throw at all), and must give the same answer when the input sits
 * inside a larger buffer surrounded by poison bytes — so nothing reads outside the bytes it was handed. Seeded
 * and deterministic; the last test checks that at least 100,000 inputs were tried.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { fromHex, toHex } from '../../src-main/protocol/bytes'
import { ProtocolDecodeError } from '../../src-main/protocol/errors'
import { decodeBaseRequest, decodeBaseResponse } from '../../src-main/protocol/kms/base'
import { parseKmsRequest, type BuiltKmsRequest } from '../../src-main/protocol/kms/request'
import { verifyKmsResponse } from '../../src-main/protocol/kms/response'
import { parseEpid } from '../../src-main/protocol/epid'
import { PTYPE } from '../../src-main/protocol/rpc/constants'
import { decodeRpcHeader, pduLength, PduFramer } from '../../src-main/protocol/rpc/header'
import { decodeRequestStub, decodeResponseStub, encodeRequestStub, encodeResponseStub } from '../../src-main/protocol/rpc/ndr'
import { decodePdu, encodePdu } from '../../src-main/protocol/rpc/pdu'
import { verifyResponsePdu, type PendingCall } from '../../src-main/protocol/session/call-outcome'
import { KmsClientSession } from '../../src-main/protocol/session/client'
import { KmsHostSession } from '../../src-main/protocol/session/host'
import { listPduFiles, loadPdu } from '../helpers/vectors'

let inputs = 0
/** How deep the inputs got, so the test proves the mutations reach past the header checks. */
const reached = new Map<string, number>()
function reach(label: string): void {
  reached.set(label, (reached.get(label) ?? 0) + 1)
}

// ------------------------------------------------------------------------------------------------ corpus

/** Every captured PDU, plus the vlmcsd fault PDU printed in docs/protocol.md §2.7 (no fault was captured). */
const PDUS = [
  ...listPduFiles().map(loadPdu),
  fromHex('05 00 03 23 10 00 00 00 20 00 00 00 02 00 00 00 20 00 00 00 00 00 00 00 03 00 01 1c 00 00 00 00')!
]

function kmsPayloadOf(name: string): Uint8Array {
  const p = decodePdu(loadPdu(name))
  if (p.ptype === PTYPE.request) return decodeRequestStub(p.stub, p.contextId === 1 ? 'ndr64' : 'ndr32').kmsRequest
  if (p.ptype === PTYPE.response) {
    const s = decodeResponseStub(p.stub, p.contextId === 1 ? 'ndr64' : 'ndr32')
    if (s.kind === 'payload') return s.kmsResponse
  }
  throw new Error(`${name} has no KMS payload`)
}

const KMS_REQUESTS = ['v4-req', 'v5-req', 'v6-req', 'v6-two-requests-req-2', 'bad-version-7-req'].map(kmsPayloadOf)
const KMS_RESPONSES = ['v4-resp', 'v5-resp', 'v6-resp', 'v6-two-requests-resp-2'].map(kmsPayloadOf)

function pendingFor(reqName: string, contextId: number, syntax: 'ndr32' | 'ndr64'): PendingCall {
  const kms = kmsPayloadOf(reqName)
  const p = parseKmsRequest(kms)
  if (!p.ok) throw new Error(p.reason)
  const request: BuiltKmsRequest = { bytes: kms, base: p.request.base, iv: p.request.iv, decryptedIv: p.request.decryptedIv }
  return { callId: contextId === 1 ? 3 : 2, contextId, syntax, request }
}

const PENDING = {
  v4: pendingFor('v4-req', 0, 'ndr32'),
  v5: pendingFor('v5-req', 0, 'ndr32'),
  v6: pendingFor('v6-req', 0, 'ndr32'),
  v6ndr64: pendingFor('v6-two-requests-req-2', 1, 'ndr64')
}

// ------------------------------------------------------------------------------------------------ mutations

type Mutation =
  | { op: 'flip'; at: number; mask: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'truncate'; at: number }
  | { op: 'extend'; bytes: Uint8Array }
  | { op: 'u16'; at: number; value: number }
  | { op: 'u32'; at: number; value: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; count: number }

const smallish = fc.oneof(
  fc.integer({ min: 0, max: 16 }),
  fc.integer({ min: 0, max: 400 }),
  fc.constantFrom(0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0xffffffff)
)

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(400), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(400), value: fc.constantFrom(0, 1, 2, 3, 4, 5, 6, 7, 0x10, 0x13, 0x80, 0xff) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat(400) }),
  fc.record({ op: fc.constant('extend' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 24 }) }),
  // length-like fields: frag_length at 8, alloc_hint at 16, n_context_elem/sec_addr.length at 24, NDR sizes at 24..44,
  // PIDSize inside V4 responses at 40 (PDU offset of the KMS payload + 4)
  fc.record({
    op: fc.constant('u16' as const),
    at: fc.constantFrom(8, 10, 16, 20, 22, 24, 26, 28, 32),
    value: smallish.map((v) => v & 0xffff)
  }),
  fc.record({ op: fc.constant('u32' as const), at: fc.constantFrom(12, 16, 24, 28, 32, 36, 40, 44), value: smallish.map((v) => v >>> 0) }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(400), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(400), count: fc.integer({ min: 1, max: 8 }) })
)

function applyMutation(b: Uint8Array, m: Mutation): Uint8Array {
  const at = b.byteLength === 0 ? 0 : 'at' in m ? m.at % (b.byteLength + 1) : 0
  switch (m.op) {
    case 'flip': {
      const c = Uint8Array.from(b)
      if (at < c.byteLength) c[at]! ^= m.mask
      return c
    }
    case 'set': {
      const c = Uint8Array.from(b)
      if (at < c.byteLength) c[at] = m.value
      return c
    }
    case 'truncate':
      return b.slice(0, at)
    case 'extend': {
      const c = new Uint8Array(b.byteLength + m.bytes.byteLength)
      c.set(b)
      c.set(m.bytes, b.byteLength)
      return c
    }
    case 'u16':
    case 'u32': {
      const size = m.op === 'u16' ? 2 : 4
      const c = Uint8Array.from(b)
      if (m.at + size <= c.byteLength) {
        const dv = new DataView(c.buffer)
        if (size === 2) dv.setUint16(m.at, m.value, true)
        else dv.setUint32(m.at, m.value, true)
      }
      return c
    }
    case 'insert': {
      const c = new Uint8Array(b.byteLength + m.bytes.byteLength)
      c.set(b.subarray(0, at))
      c.set(m.bytes, at)
      c.set(b.subarray(at), at + m.bytes.byteLength)
      return c
    }
    case 'delete': {
      const end = Math.min(b.byteLength, at + m.count)
      const c = new Uint8Array(b.byteLength - (end - at))
      c.set(b.subarray(0, at))
      c.set(b.subarray(end), at)
      return c
    }
  }
}

/** Makes frag_length agree with the size, so mutations reach the body decoders instead of failing at the header. */
function fixFragLength(b: Uint8Array): Uint8Array {
  if (b.byteLength < 16 || b.byteLength > 0xffff) return b
  const c = Uint8Array.from(b)
  new DataView(c.buffer).setUint16(8, c.byteLength, true)
  return c
}

interface MutationOptions {
  /** at most this many mutations (at least 1) */
  maxMutations?: number
  /** chance in tenths that frag_length is made consistent afterwards */
  fixFragTenths?: number
  /** weight of length-changing mutations relative to in-place ones (1 = all kinds equally likely) */
  inPlaceOnly?: boolean
}

const inPlaceMutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('flip' as const), at: fc.nat(400), mask: fc.integer({ min: 1, max: 255 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('set' as const),
      at: fc.nat(400),
      value: fc.constantFrom(0, 1, 2, 3, 4, 5, 6, 0x10, 0x13, 0xff)
    })
  }
)

function mutatedFrom(corpus: Uint8Array[], options: MutationOptions = {}): fc.Arbitrary<Uint8Array> {
  const { maxMutations = 4, fixFragTenths = 5, inPlaceOnly = false } = options
  return fc
    .record({
      base: fc.constantFrom(...corpus),
      other: fc.constantFrom(...corpus),
      splice: inPlaceOnly ? fc.constant(null) : fc.option(fc.tuple(fc.nat(400), fc.nat(400)), { freq: 5 }),
      mutations: fc.array(inPlaceOnly ? inPlaceMutationArb : mutationArb, { minLength: 1, maxLength: maxMutations }),
      fix: fc.integer({ min: 0, max: 9 }).map((n) => n < fixFragTenths)
    })
    .map(({ base, other, splice, mutations, fix }) => {
      let b = base
      if (splice) {
        const cut = splice[0] % (base.byteLength + 1)
        const from = splice[1] % (other.byteLength + 1)
        const c = new Uint8Array(cut + other.byteLength - from)
        c.set(base.subarray(0, cut))
        c.set(other.subarray(from), cut)
        b = c
      }
      for (const m of mutations) b = applyMutation(b, m)
      return fix ? fixFragLength(b) : b
    })
}

const randomBytes = fc.uint8Array({ maxLength: 400 })
const randomPduLike = fc
  .tuple(fc.constantFrom(0, 2, 3, 11, 12, 13, 14, 15), fc.integer({ min: 0, max: 255 }), fc.uint8Array({ minLength: 0, maxLength: 320 }))
  .map(([ptype, flags, body]) => {
    const b = new Uint8Array(16 + body.byteLength)
    b.set([5, 0, ptype, flags, 0x10, 0, 0, 0])
    new DataView(b.buffer).setUint16(8, b.byteLength, true)
    new DataView(b.buffer).setUint32(12, 2, true)
    b.set(body, 16)
    return b
  })

const pduInputs = fc.oneof(
  { weight: 5, arbitrary: mutatedFrom(PDUS) },
  { weight: 1, arbitrary: randomBytes },
  { weight: 2, arbitrary: randomPduLike }
)

// ------------------------------------------------------------------------------------------------ harness

function assert(cond: boolean, message: string): void {
  if (!cond) throw new Error(message)
}

/** Structural equality for decoded values (Uint8Array by content, bigint by value). */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array) || a.byteLength !== b.byteLength) return false
    for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
    return true
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const ka = Object.keys(a)
  const kb = Object.keys(b)
  if (ka.length !== kb.length) return false
  for (const k of ka) if (!same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false
  return true
}

type Attempt<T> = { ok: true; value: T } | { ok: false; message: string }

/** Runs `decode` on `input`; only ProtocolDecodeError may escape it. */
function attempt<T>(decode: (b: Uint8Array) => T, input: Uint8Array): Attempt<T> {
  try {
    return { ok: true, value: decode(input) }
  } catch (err) {
    if (err instanceof ProtocolDecodeError) return { ok: false, message: err.message }
    throw err
  }
}

/** The same input inside a larger buffer with poison bytes on both sides. */
function embedded(input: Uint8Array): Uint8Array {
  const outer = new Uint8Array(input.byteLength + 64).fill(0xa5)
  outer.set(input, 32)
  return outer.subarray(32, 32 + input.byteLength)
}

/**
 * Asserts the decoder throws nothing but ProtocolDecodeError and gives the same answer for the input embedded
 * in poison (so it reads nothing outside its view); returns the decoded value, if any.
 */
function confined<T>(decode: (b: Uint8Array) => T, input: Uint8Array): T | undefined {
  const a = attempt(decode, input)
  const b = attempt(decode, embedded(input))
  const agree = a.ok ? b.ok && same(a.value, b.value) : !b.ok && a.message === b.message
  assert(agree, `result differs when the input sits inside a larger buffer: ${Buffer.from(input).toString('hex')}`)
  return a.ok ? a.value : undefined
}

function boundHost(ndr64: boolean): KmsHostSession {
  const h = new KmsHostSession({ portSpec: '1688', assocGroupId: 1, ndr64 })
  h.receive(loadPdu('v6-bind-req'))
  h.receive(loadPdu('v6-alter-req'))
  return h
}

// ------------------------------------------------------------------------------------------------ properties

describe('fuzzing every decoder with random and mutated inputs', () => {
  it('PDU decoders: only ProtocolDecodeError, confined to the input, and lossless when they succeed', () => {
    fc.assert(
      fc.property(pduInputs, (input) => {
        inputs++
        const pdu = confined(decodePdu, input)
        if (pdu !== undefined) {
          reach(`pdu:${pdu.ptype}`)
          assert(same(encodePdu(pdu), input), `encode(decode(x)) != x for ${toHex(input)}`)
          if (pdu.ptype === PTYPE.request || pdu.ptype === PTYPE.response) {
            for (const syntax of ['ndr32', 'ndr64'] as const) {
              if (pdu.ptype === PTYPE.request) {
                const s = confined((b) => decodeRequestStub(b, syntax), pdu.stub)
                if (s)
                  assert(same(encodeRequestStub(s.kmsRequest, syntax, s.trailer), pdu.stub), `request stub round trip ${toHex(pdu.stub)}`)
              } else {
                const s = confined((b) => decodeResponseStub(b, syntax), pdu.stub)
                if (s) assert(same(encodeResponseStub(s, syntax), pdu.stub), `response stub round trip ${toHex(pdu.stub)}`)
              }
            }
          }
        }
        confined(decodeRpcHeader, input)
        confined((b) => pduLength(b, 300), input)
      }),
      { seed: 0x1001, numRuns: 40_000 }
    )
  })

  it('KMS payload decoders and parseKmsRequest / verifyKmsResponse never throw and stay confined', () => {
    // responses are mutated together with the request they answer, so the checks past the version are reached
    const pairs = [
      { pending: PENDING.v4, resp: KMS_RESPONSES[0]! },
      { pending: PENDING.v5, resp: KMS_RESPONSES[1]! },
      { pending: PENDING.v6, resp: KMS_RESPONSES[2]! },
      { pending: PENDING.v6ndr64, resp: KMS_RESPONSES[3]! }
    ]
    const kmsInputs = fc.oneof(
      { weight: 3, arbitrary: fc.tuple(mutatedFrom(KMS_REQUESTS), fc.constantFrom(PENDING.v4, PENDING.v5, PENDING.v6)) },
      {
        weight: 3,
        arbitrary: fc
          .constantFrom(...pairs)
          .chain((p) => fc.tuple(mutatedFrom([p.resp], { inPlaceOnly: true, maxMutations: 2 }), fc.constant(p.pending)))
      },
      { weight: 1, arbitrary: fc.constantFrom(...pairs).chain((p) => fc.tuple(mutatedFrom([p.resp]), fc.constant(p.pending))) },
      { weight: 1, arbitrary: fc.tuple(randomBytes, fc.constantFrom(PENDING.v4, PENDING.v5, PENDING.v6)) }
    )
    fc.assert(
      fc.property(kmsInputs, ([input, pending]) => {
        inputs++
        confined((b) => decodeBaseRequest(b), input)
        confined((b) => decodeBaseResponse(b), input)
        const parsed = confined((b) => parseKmsRequest(b), input)
        reach(parsed?.ok ? 'kms-request:ok' : `kms-request:${parsed?.problem}`)
        assert(parsed !== undefined && (parsed.ok || parsed.hresult === 0x8007000d), 'parseKmsRequest failed without a typed refusal')
        const verified = confined((b) => verifyKmsResponse(pending.request, b), input)
        reach(verified?.ok ? 'kms-response:ok' : `kms-response:${verified?.failed}`)
        assert(verified !== undefined && (verified.ok || verified.reason.length > 0), 'verifyKmsResponse failed without a reason')
      }),
      { seed: 0x1002, numRuns: 25_000 }
    )
  })

  it('KmsHostSession.receive never throws and answers within the rules', () => {
    const hosts = [boundHost(true), boundHost(false)]
    const clientPdus = PDUS.filter((p) => p[2] === PTYPE.request || p[2] === PTYPE.bind || p[2] === PTYPE.alterContext)
    const hostInputs = fc.oneof(
      { weight: 4, arbitrary: mutatedFrom(clientPdus, { inPlaceOnly: true, maxMutations: 2, fixFragTenths: 9 }) },
      { weight: 2, arbitrary: mutatedFrom(clientPdus, { fixFragTenths: 8 }) },
      { weight: 1, arbitrary: pduInputs }
    )
    fc.assert(
      fc.property(hostInputs, fc.nat(1), (input, which) => {
        inputs++
        const host = hosts[which]!
        const step = confined((b) => host.receive(b), input)
        assert(step !== undefined, 'host.receive threw')
        reach(
          `host:${step?.kind}${step?.kind === 'reply' && step.refused ? ':refused' : ''}${step?.kind === 'reply' && step.fault ? ':fault' : ''}`
        )
        if (step?.kind === 'reply') {
          // every reply is a well-formed PDU we can decode again
          const reply = decodePdu(step.reply)
          assert(
            [PTYPE.bindAck, PTYPE.alterContextResp, PTYPE.fault, PTYPE.response].includes(reply.ptype as 12),
            `reply type ${reply.ptype}`
          )
          if (reply.ptype === PTYPE.response) assert(reply.pfcFlags === 0x03, 'response flags')
        }
        if (step?.kind === 'call') {
          const reply = host.answer(
            step.call,
            {
              epid: '03612-00206-567-887631-03-2074-14393.0000-0092024',
              hwid: new Uint8Array(8),
              count: 1,
              activationInterval: 120,
              renewalInterval: 10080
            },
            (n) => new Uint8Array(n).fill(9)
          )
          assert(decodePdu(reply).ptype === PTYPE.response, 'answer is a response')
        }
      }),
      { seed: 0x1003, numRuns: 20_000 }
    )
  })

  it('client response verification and KmsClientSession.receive never throw', () => {
    const pairs = [
      { pending: PENDING.v4, resp: loadPdu('v4-resp') },
      { pending: PENDING.v5, resp: loadPdu('v5-resp') },
      { pending: PENDING.v6, resp: loadPdu('v6-resp') },
      { pending: PENDING.v6ndr64, resp: loadPdu('v6-two-requests-resp-2') },
      { pending: PENDING.v6, resp: loadPdu('bad-version-7-resp') }
    ]
    const responses = fc.oneof(
      {
        weight: 4,
        arbitrary: fc
          .constantFrom(...pairs)
          .chain((p) => fc.tuple(mutatedFrom([p.resp], { inPlaceOnly: true, maxMutations: 2, fixFragTenths: 9 }), fc.constant(p.pending)))
      },
      { weight: 2, arbitrary: fc.constantFrom(...pairs).chain((p) => fc.tuple(mutatedFrom([p.resp]), fc.constant(p.pending))) },
      { weight: 1, arbitrary: fc.tuple(pduInputs, fc.constantFrom(PENDING.v4, PENDING.v5, PENDING.v6, PENDING.v6ndr64)) }
    )
    fc.assert(
      fc.property(responses, fc.nat(2), ([input, pending], state) => {
        inputs++
        const outcome = confined((b) => verifyResponsePdu(b, pending), input)
        assert(outcome !== undefined, 'verifyResponsePdu threw')
        reach(`client:${outcome?.kind}${outcome?.kind === 'verification-failed' ? `:${outcome.failed}` : ''}`)
        if (outcome?.kind === 'verification-failed') assert(outcome.reason.length > 0, 'no reason')
        if (outcome?.kind === 'protocol-violation') assert(outcome.message.includes(outcome.field), 'message names the field')
        const step = confined((b) => {
          // a fresh copy of the session state per attempt, so both runs start equal
          const c = new KmsClientSession()
          c.bind()
          if (state >= 1) c.receive(loadPdu('v6-bind-ack'))
          if (state >= 2) c.receive(loadPdu('v6-alter-resp'))
          return c.receive(b)
        }, input)
        assert(step !== undefined, 'client.receive threw')
      }),
      { seed: 0x1004, numRuns: 12_000 }
    )
  })

  it('PduFramer splits any stream into bounded PDUs or fails with ProtocolDecodeError', () => {
    fc.assert(
      fc.property(fc.array(pduInputs, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(400), { maxLength: 6 }), (parts, cuts) => {
        inputs += parts.length
        const total = parts.reduce((n, p) => n + p.byteLength, 0)
        const stream = new Uint8Array(total)
        let off = 0
        for (const p of parts) {
          stream.set(p, off)
          off += p.byteLength
        }
        const points = [...new Set(cuts.map((c) => c % (total + 1)))].sort((a, b) => a - b)
        const framer = new PduFramer(300)
        let emitted = 0
        try {
          let prev = 0
          for (const p of [...points, total]) {
            for (const pdu of framer.push(stream.subarray(prev, p))) {
              assert(pdu.byteLength >= 16 && pdu.byteLength <= 300, `PDU of ${pdu.byteLength} bytes`)
              assert(same(pdu, stream.slice(emitted, emitted + pdu.byteLength)), 'framer changed bytes')
              emitted += pdu.byteLength
            }
            prev = p
          }
          assert(emitted + framer.pendingBytes === total, 'framer lost bytes')
        } catch (err) {
          if (!(err instanceof ProtocolDecodeError)) throw err
        }
      }),
      { seed: 0x1005, numRuns: 5_000 }
    )
  })

  it('parseEpid never throws on arbitrary text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 80 }),
          fc.stringMatching(/^[0-9]{5}-[0-9]{5}-[0-9]{3}-[0-9]{6}-[0-9]{2}-[0-9]{1,6}-[0-9]{3,6}\.[0-9]{4}-[0-9]{7}$/)
        ),
        (s) => {
          inputs++
          const r = parseEpid(s)
          if (!r.ok) assert(r.error.message.length > 0, 'no message')
        }
      ),
      { seed: 0x1006, numRuns: 3_000 }
    )
  })

  it('tried at least 100,000 inputs, and they reached deep into the decoders', () => {
    expect(inputs).toBeGreaterThanOrEqual(100_000)
    const at = (label: string): number => reached.get(label) ?? 0
    for (const ptype of [0, 2, 3, 11, 12, 14, 15]) expect(at(`pdu:${ptype}`), `pdu:${ptype}`).toBeGreaterThan(100)
    expect(at('kms-request:ok')).toBeGreaterThan(100)
    for (const problem of ['too-short', 'unsupported-version', 'padding']) expect(at(`kms-request:${problem}`), problem).toBeGreaterThan(50)
    for (const failed of ['version', 'padding', 'length', 'v4-mac', 'hash', 'hmac'])
      expect(at(`kms-response:${failed}`), failed).toBeGreaterThan(20)
    expect(at('host:call')).toBeGreaterThan(100)
    expect(at('host:reply')).toBeGreaterThan(100)
    expect(at('host:reply:fault')).toBeGreaterThan(20)
    expect(at('host:reply:refused')).toBeGreaterThan(20)
    expect(at('host:close')).toBeGreaterThan(100)
    expect(at('client:kms-error')).toBeGreaterThan(20)
    expect(at('client:protocol-violation')).toBeGreaterThan(100)
    for (const failed of ['hmac', 'hash', 'v4-mac', 'ndr', 'call-id'])
      expect(at(`client:verification-failed:${failed}`), failed).toBeGreaterThan(10)
  })
})
