import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { concatBytes, toHex, xorBytes } from '../../src-main/protocol/bytes'
import { cipherForMajor, sha256, v6Hmac, ZERO_BLOCK } from '../../src-main/protocol/crypto/kms-crypto'
import { ProtocolDecodeError, ProtocolEncodeError } from '../../src-main/protocol/errors'
import { guidFromBytes } from '../../src-main/protocol/guid'
import { VLMCSD_DEFAULT_HWID } from '../../src-main/protocol/hwid'
import {
  BASE_REQUEST_LENGTH,
  decodeBaseRequest,
  decodeBaseResponse,
  encodeBaseRequest,
  encodeBaseResponse,
  type BaseRequest,
  type BaseResponse
} from '../../src-main/protocol/kms/base'
import { generateCmid } from '../../src-main/protocol/kms/params'
import { buildKmsRequest, parseKmsRequest, type BuiltKmsRequest, type ParsedKmsRequest } from '../../src-main/protocol/kms/request'
import { buildKmsResponse, verifyKmsResponse, type HostAnswer } from '../../src-main/protocol/kms/response'
import { scriptedRandom, seededRandom } from '../helpers/vectors'

const guidArb = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => guidFromBytes(b))
const u32 = fc.integer({ min: 0, max: 0xffffffff })
const nameArb = fc.string({ maxLength: 63, unit: fc.integer({ min: 1, max: 0xffff }).map((c) => String.fromCharCode(c)) })

const baseRequestArb = (majors: number[] = [4, 5, 6]): fc.Arbitrary<BaseRequest> =>
  fc.record({
    minorVer: fc.constant(0),
    majorVer: fc.constantFrom(...majors),
    vmInfo: u32,
    licenseStatus: u32,
    bindingExpiration: u32,
    appId: guidArb,
    actId: guidArb,
    kmsId: guidArb,
    cmid: guidArb,
    nPolicy: u32,
    clientTime: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    cmidPrev: guidArb,
    workstationName: nameArb
  })

const epidArb = fc.string({ minLength: 1, maxLength: 63, unit: fc.integer({ min: 1, max: 0xffff }).map((c) => String.fromCharCode(c)) })

const baseResponseArb: fc.Arbitrary<BaseResponse> = fc.record({
  minorVer: fc.integer({ min: 0, max: 0xffff }),
  majorVer: fc.integer({ min: 0, max: 0xffff }),
  epid: epidArb,
  cmid: guidArb,
  clientTime: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  count: u32,
  activationInterval: u32,
  renewalInterval: u32
})

function toParsed(built: BuiltKmsRequest): ParsedKmsRequest {
  const p = parseKmsRequest(built.bytes)
  if (!p.ok) throw new Error(p.reason)
  return p.request
}

describe('base request / base response codecs', () => {
  it('base request round trip (value → bytes → value, bytes → value → bytes)', () => {
    fc.assert(
      fc.property(baseRequestArb(), (v) => {
        const bytes = encodeBaseRequest(v)
        expect(bytes.byteLength).toBe(BASE_REQUEST_LENGTH)
        const back = decodeBaseRequest(bytes)
        expect(back).toEqual(v)
        expect(toHex(encodeBaseRequest(back))).toBe(toHex(bytes))
      }),
      { seed: 101, numRuns: 500 }
    )
  })

  it('base response round trip and its length 44 + PIDSize', () => {
    fc.assert(
      fc.property(baseResponseArb, fc.uint8Array({ maxLength: 20 }), (v, extra) => {
        const bytes = encodeBaseResponse(v)
        expect(bytes.byteLength).toBe(44 + 2 * (v.epid.length + 1))
        const d = decodeBaseResponse(concatBytes(bytes, extra))
        expect(d.value).toEqual(v)
        expect(d.length).toBe(bytes.byteLength)
      }),
      { seed: 102, numRuns: 500 }
    )
  })

  it('encoders refuse values the wire cannot carry', () => {
    const v: BaseResponse = {
      minorVer: 0,
      majorVer: 6,
      epid: 'x'.repeat(64),
      cmid: guidFromBytes(new Uint8Array(16)),
      clientTime: 0n,
      count: 0,
      activationInterval: 0,
      renewalInterval: 0
    }
    expect(() => encodeBaseResponse(v)).toThrow(ProtocolEncodeError)
    expect(() => encodeBaseResponse({ ...v, epid: 'a\0b' })).toThrow(ProtocolEncodeError)
    expect(() => encodeBaseResponse({ ...v, epid: 'ok', count: -1 })).toThrow(ProtocolEncodeError)
    const r = fc.sample(baseRequestArb(), { seed: 1, numRuns: 1 })[0]!
    expect(() => encodeBaseRequest({ ...r, workstationName: 'w'.repeat(64) })).toThrow(/WorkstationName/)
  })

  it('decodeBaseResponse names the ePID problems', () => {
    const good = encodeBaseResponse({
      minorVer: 0,
      majorVer: 4,
      epid: 'abc',
      cmid: guidFromBytes(new Uint8Array(16)),
      clientTime: 1n,
      count: 2,
      activationInterval: 3,
      renewalInterval: 4
    })
    const fieldOf = (b: Uint8Array): string => {
      try {
        decodeBaseResponse(b)
        return 'none'
      } catch (e) {
        expect(e).toBeInstanceOf(ProtocolDecodeError)
        return (e as ProtocolDecodeError).field
      }
    }
    const big = Uint8Array.from(good)
    big[4] = 130
    expect(fieldOf(big)).toBe('PIDSize')
    const odd = Uint8Array.from(good)
    odd[4] = 7
    expect(fieldOf(odd)).toBe('PIDSize')
    const noNul = Uint8Array.from(good)
    noNul[14] = 0x41
    expect(fieldOf(noNul)).toBe('KmsPID')
    const inner = Uint8Array.from(good)
    inner[10] = 0
    expect(fieldOf(inner)).toBe('KmsPID')
    expect(fieldOf(good.subarray(0, good.byteLength - 1))).toBe('BaseResponse')
  })
})

describe('KMS requests', () => {
  it('build → parse round trip for V4, V5, V6 with any base request', () => {
    fc.assert(
      fc.property(baseRequestArb(), fc.uint8Array({ minLength: 16, maxLength: 16 }), (base, iv) => {
        const built = buildKmsRequest(base, scriptedRandom(iv))
        expect(built.bytes.byteLength).toBe(base.majorVer === 4 ? 252 : 260)
        const parsed = toParsed(built)
        expect(parsed.base).toEqual(base)
        expect(parsed.protocol).toBe(base.majorVer)
        if (base.majorVer === 4) expect(parsed.v4MacValid).toBe(true)
        else {
          expect(toHex(parsed.iv!)).toBe(toHex(iv))
          expect(toHex(parsed.decryptedIv!)).toBe(toHex(built.decryptedIv!))
        }
      }),
      { seed: 103, numRuns: 300 }
    )
  })

  it('parseKmsRequest never throws and names each refusal', () => {
    const base = fc.sample(baseRequestArb([6]), { seed: 4, numRuns: 1 })[0]!
    const v6 = buildKmsRequest(base, seededRandom(1)).bytes
    expect(parseKmsRequest(new Uint8Array(0))).toMatchObject({ ok: false, problem: 'too-short' })
    expect(parseKmsRequest(v6.subarray(0, 259))).toMatchObject({ ok: false, problem: 'too-short' })
    const minor = Uint8Array.from(v6)
    minor[0] = 1
    expect(parseKmsRequest(minor)).toMatchObject({ ok: false, problem: 'minor-version', hresult: 0x8007000d })
    const v5outer = Uint8Array.from(v6)
    v5outer[2] = 5 // a V6 payload labelled 5.0 decrypts to garbage under the V5 key
    expect(parseKmsRequest(v5outer)).toMatchObject({ ok: false })
  })
})

const ANSWER: HostAnswer = {
  epid: '03612-00206-567-887631-03-2074-14393.0000-0092024',
  hwid: VLMCSD_DEFAULT_HWID,
  count: 50,
  activationInterval: 120,
  renewalInterval: 10080
}

describe('KMS responses', () => {
  it('build → verify round trip for V4, V5, V6 with any base request and answer', () => {
    fc.assert(
      fc.property(
        baseRequestArb(),
        fc.integer({ min: 1, max: 0xffffffff }),
        fc.record({
          epid: epidArb,
          count: u32,
          activationInterval: u32,
          renewalInterval: u32,
          hwid: fc.uint8Array({ minLength: 8, maxLength: 8 })
        }),
        (base, seed, answer) => {
          const random = seededRandom(seed)
          const built = buildKmsRequest(base, random)
          const response = buildKmsResponse(toParsed(built), answer, random)
          const v = verifyKmsResponse(built, response)
          // an arbitrary ePID string fails only the ePID syntax check; everything cryptographic passes
          const failing = v.checks.filter((c) => c.status === 'fail').map((c) => c.name)
          expect(failing.filter((n) => n !== 'epid-format')).toEqual([])
          const decoded = v.ok ? v.response : v.unverified!
          expect(decoded.base).toMatchObject({ epid: answer.epid, count: answer.count, cmid: base.cmid, clientTime: base.clientTime })
          if (base.majorVer === 6) expect(toHex(decoded.hwid!)).toBe(toHex(answer.hwid))
        }
      ),
      { seed: 104, numRuns: 300 }
    )
  })

  it('V5 response lengths: 228 bytes for a 49-character ePID, 212 for 48 (docs/protocol.md §7.2)', () => {
    const base = { ...fc.sample(baseRequestArb([5]), { seed: 5, numRuns: 1 })[0]!, workstationName: 'x' }
    const parsed = toParsed(buildKmsRequest(base, seededRandom(2)))
    expect(buildKmsResponse(parsed, ANSWER, seededRandom(3)).byteLength).toBe(228)
    expect(
      buildKmsResponse(parsed, { ...ANSWER, epid: '06401-00206-271-392135-03-1033-9600.0000-3622014' }, seededRandom(3)).byteLength
    ).toBe(212)
    const v6 = toParsed(buildKmsRequest({ ...base, majorVer: 6 }, seededRandom(2)))
    expect(buildKmsResponse(v6, { ...ANSWER, epid: '06401-00206-271-392135-03-1033-9600.0000-3622014' }, seededRandom(3)).byteLength).toBe(
      260
    )
  })

  /** A V6 response made by hand so tests can choose S and the HMAC time slot. */
  function handMadeV6(built: BuiltKmsRequest, s: Uint8Array, slotShift: number): Uint8Array {
    const base = encodeBaseResponse({
      minorVer: 0,
      majorVer: 6,
      epid: ANSWER.epid,
      cmid: built.base.cmid,
      clientTime: built.base.clientTime,
      count: 50,
      activationInterval: 120,
      renewalInterval: 10080
    })
    const r = new Uint8Array(16).fill(7)
    const parts = [s, base, xorBytes(r, built.decryptedIv!), sha256(r), VLMCSD_DEFAULT_HWID, built.decryptedIv!]
    const body = concatBytes(...parts, v6Hmac(built.base.clientTime, concatBytes(...parts), slotShift))
    const pad = 16 - (body.byteLength % 16)
    const padded = concatBytes(body, new Uint8Array(pad).fill(pad))
    return concatBytes(Uint8Array.of(0, 0, 6, 0), cipherForMajor(6).cbcEncrypt(ZERO_BLOCK, padded))
  }

  it('V6 HMAC from a neighbouring time slot is accepted with a warning that says which', () => {
    const base = fc.sample(baseRequestArb([6]), { seed: 6, numRuns: 1 })[0]!
    const built = buildKmsRequest({ ...base, clientTime: 134400685670000000n }, seededRandom(4))
    const s = new Uint8Array(16).fill(1)
    const exact = verifyKmsResponse(built, handMadeV6(built, s, 0))
    expect(exact.ok && exact.response.hmacSlot).toBe(0)
    for (const shift of [-1, 1] as const) {
      const v = verifyKmsResponse(built, handMadeV6(built, s, shift))
      expect(v.ok).toBe(true)
      if (v.ok) {
        expect(v.response.hmacSlot).toBe(shift)
        expect(v.checks.find((c) => c.name === 'hmac')).toMatchObject({
          status: 'warn',
          detail: shift < 0 ? expect.stringMatching(/previous/) : expect.stringMatching(/next/)
        })
      }
    }
    expect(verifyKmsResponse(built, handMadeV6(built, s, 2))).toMatchObject({ ok: false, failed: 'hmac' })
  })

  it('V6 response IV equal to the request IV (an emulator using V5 rules) is a warning; our host never does it', () => {
    const base = fc.sample(baseRequestArb([6]), { seed: 7, numRuns: 1 })[0]!
    const built = buildKmsRequest(base, seededRandom(5))
    const v = verifyKmsResponse(built, handMadeV6(built, built.decryptedIv!, 0))
    expect(v.ok).toBe(true)
    expect(v.checks.find((c) => c.name === 'iv-differs')).toMatchObject({ status: 'warn' })
    // our host, handed S = D(IV) by its random source, changes S so the wire IV differs
    const resp = buildKmsResponse(toParsed(built), ANSWER, scriptedRandom(built.decryptedIv!, new Uint8Array(16)))
    const ours = verifyKmsResponse(built, resp)
    expect(ours.ok && ours.checks.find((c) => c.name === 'iv-differs')?.status).toBe('pass')
    expect(toHex(resp.subarray(4, 20))).not.toBe(toHex(built.iv!))
  })

  it('verification names the failing check: version, padding, echoes, length', () => {
    const base = fc.sample(baseRequestArb([5]), { seed: 8, numRuns: 1 })[0]!
    const built = buildKmsRequest(base, seededRandom(6))
    const parsed = toParsed(built)
    const good = buildKmsResponse(parsed, ANSWER, seededRandom(7))
    expect(verifyKmsResponse(built, good).ok).toBe(true)
    const wrongVersion = Uint8Array.from(good)
    wrongVersion[2] = 6
    expect(verifyKmsResponse(built, wrongVersion)).toMatchObject({ ok: false, failed: 'version' })
    expect(verifyKmsResponse(built, good.subarray(0, 3))).toMatchObject({ ok: false, failed: 'length' })
    expect(verifyKmsResponse(built, good.subarray(0, good.byteLength - 8))).toMatchObject({ ok: false, failed: 'length' })
    const otherCmid = buildKmsResponse(
      { ...parsed, base: { ...parsed.base, cmid: '01234567-89ab-cdef-0123-456789abcdef' } },
      ANSWER,
      seededRandom(7)
    )
    expect(verifyKmsResponse(built, otherCmid)).toMatchObject({ ok: false, failed: 'cmid-echo' })
    const otherTime = buildKmsResponse(
      { ...parsed, base: { ...parsed.base, clientTime: parsed.base.clientTime ^ 1n } },
      ANSWER,
      seededRandom(7)
    )
    expect(verifyKmsResponse(built, otherTime)).toMatchObject({ ok: false, failed: 'client-time-echo' })
    const badEpid = buildKmsResponse(parsed, { ...ANSWER, epid: 'not an epid' }, seededRandom(7))
    const v = verifyKmsResponse(built, badEpid)
    expect(v).toMatchObject({ ok: false, failed: 'epid-format' })
    expect(!v.ok && v.unverified?.base.epid).toBe('not an epid')
  })

  it('V6 builder needs an 8-byte HwId', () => {
    const base = fc.sample(baseRequestArb([6]), { seed: 9, numRuns: 1 })[0]!
    const parsed = toParsed(buildKmsRequest(base, seededRandom(6)))
    expect(() => buildKmsResponse(parsed, { ...ANSWER, hwid: undefined }, seededRandom(1))).toThrow(ProtocolEncodeError)
  })
})

describe('CMID generation', () => {
  it('makes version-4, variant-1 UUIDs from the injected random', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
        const g = generateCmid(scriptedRandom(b))
        expect(g).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      }),
      { seed: 105, numRuns: 200 }
    )
  })
})
