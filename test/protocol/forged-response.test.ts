/**
 * Forged-field responses: each response is correctly encrypted (and, for V6, carries a valid HMAC over what it
 * says) with exactly one field wrong, so the check for that field is the only one that can fail. Flipping bytes
 * of the ciphertext instead scrambles a whole block and lets another check fail first (issue 17): these tests
 * are what notice a check that compares too few bytes or is not run at all.
 */
import { describe, expect, it } from 'vitest'
import { concatBytes, xorBytes } from '../../src-main/protocol/bytes'
import { cipherForMajor, sha256, v4Mac, v6Hmac, ZERO_BLOCK } from '../../src-main/protocol/crypto/kms-crypto'
import { VLMCSD_DEFAULT_HWID } from '../../src-main/protocol/hwid'
import { encodeBaseResponse, type BaseResponse } from '../../src-main/protocol/kms/base'
import type { CheckName } from '../../src-main/protocol/kms/checks'
import { buildKmsRequest, parseKmsRequest, type BuiltKmsRequest } from '../../src-main/protocol/kms/request'
import { buildKmsResponse, verifyKmsResponse, type KmsResponseVerification } from '../../src-main/protocol/kms/response'
import { SAMPLE_EPID, sampleBaseRequest } from '../helpers/protocol-samples'
import { seededRandom } from '../helpers/vectors'

const EPID = SAMPLE_EPID

function request(majorVer: 4 | 5 | 6, seed: number): BuiltKmsRequest {
  const base = sampleBaseRequest({ majorVer })
  return buildKmsRequest(base, seededRandom(seed))
}

function honestBase(built: BuiltKmsRequest): BaseResponse {
  return {
    minorVer: built.base.minorVer,
    majorVer: built.base.majorVer,
    epid: EPID,
    cmid: built.base.cmid,
    clientTime: built.base.clientTime,
    count: 50,
    activationInterval: 120,
    renewalInterval: 10080
  }
}

/** The fields of a V5/V6 response plaintext, in wire order; a test changes one and seals the rest honestly. */
interface ResponseFields {
  /** outer version: MinorVer, MajorVer */
  version: [number, number]
  s: Uint8Array
  /** the encoded base response (tests may edit its bytes, e.g. PIDSize) */
  base: Uint8Array
  randomXoredIvs: Uint8Array
  hash: Uint8Array
  /** V6 only */
  hwid: Uint8Array | undefined
  xoredIvs: Uint8Array | undefined
  /** the V6 HMAC field, from the message it covers (S … XoredIVs) */
  hmac: ((message: Uint8Array) => Uint8Array) | undefined
  /** bytes after the last field and before the padding */
  trailing: Uint8Array
  /** the PKCS#7 padding for a body of this length */
  pad: (bodyLength: number) => Uint8Array
}

const R = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i)
const pkcs7 = (bodyLength: number): Uint8Array => {
  const n = 16 - (bodyLength % 16)
  return new Uint8Array(n).fill(n)
}

function honestFields(built: BuiltKmsRequest, base: BaseResponse = honestBase(built)): ResponseFields {
  const v6 = built.base.majorVer === 6
  const d = built.decryptedIv!
  return {
    version: [built.base.minorVer, built.base.majorVer],
    // V5: S = D(IV) so the wire IV repeats the request IV; V6: any S whose encryption differs from the IV
    s: v6 ? new Uint8Array(16).fill(0x5a) : d,
    base: encodeBaseResponse(base),
    randomXoredIvs: xorBytes(R, d),
    hash: sha256(R),
    hwid: v6 ? VLMCSD_DEFAULT_HWID : undefined,
    xoredIvs: v6 ? d : undefined,
    hmac: v6 ? (message) => v6Hmac(base.clientTime, message, 0) : undefined,
    trailing: new Uint8Array(0),
    pad: pkcs7
  }
}

function seal(f: ResponseFields): Uint8Array {
  const message = concatBytes(f.s, f.base, f.randomXoredIvs, f.hash, ...(f.hwid && f.xoredIvs ? [f.hwid, f.xoredIvs] : []))
  const body = concatBytes(message, f.hmac ? f.hmac(message) : new Uint8Array(0), f.trailing)
  const plain = concatBytes(body, f.pad(body.byteLength))
  const [minor, major] = f.version
  return concatBytes(Uint8Array.of(minor & 0xff, minor >> 8, major & 0xff, major >> 8), cipherForMajor(major).cbcEncrypt(ZERO_BLOCK, plain))
}

function flipped(bytes: Uint8Array, at: number, mask = 0x01): Uint8Array {
  const out = Uint8Array.from(bytes)
  out[at]! ^= mask
  return out
}

function failures(v: KmsResponseVerification): CheckName[] {
  return v.checks.filter((c) => c.status === 'fail').map((c) => c.name)
}

/** The response fails `name` and nothing else; the reason, when given, is what a technician reads. */
function expectOnlyFailure(v: KmsResponseVerification, name: CheckName, reason?: string | RegExp): void {
  expect(v).toMatchObject({ ok: false, failed: name })
  expect(failures(v)).toEqual([name])
  if (reason !== undefined && !v.ok) expect(v.reason).toMatch(reason)
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

describe.each([5, 6] as const)('forged V%i responses: one field wrong, one named check fails', (major) => {
  const built = request(major, 40 + major)

  it('the honest response passes every check, reported in order with what was found', () => {
    const v = verifyKmsResponse(built, seal(honestFields(built)))
    expect(v.ok).toBe(true)
    const pidSize = 2 * (EPID.length + 1)
    const bodyLength = 16 + 44 + pidSize + 48 + (major === 6 ? 40 : 0)
    const ok = (name: CheckName, detail = 'ok'): { name: CheckName; status: 'pass'; detail: string } => ({ name, status: 'pass', detail })
    expect(v.checks).toEqual([
      ok('padding', `${16 - (bodyLength % 16)} byte(s)`),
      ok('epid-length', `PIDSize ${pidSize}`),
      ok('epid-nul'),
      ok('version', `${major}.0`),
      ...(major === 6
        ? [ok('hash'), ok('xored-ivs'), ok('hmac', 'key from the echoed ClientTime slot'), ok('iv-differs')]
        : [ok('iv-echo'), ok('hash')]),
      ok('cmid-echo'),
      ok('client-time-echo'),
      ok('epid-format'),
      ok('length', `${bodyLength} bytes`)
    ])
    expect(v.ok && v.response).toMatchObject({ majorVer: major, minorVer: 0, kmsLength: 4 + bodyLength + 16 - (bodyLength % 16) })
  })

  it('each byte of Hash wrong (a V6 HMAC valid over it): hash', () => {
    for (let at = 0; at < 32; at++) {
      const f = honestFields(built)
      f.hash = flipped(f.hash, at, 0x80)
      expectOnlyFailure(verifyKmsResponse(built, seal(f)), 'hash', 'SHA-256(RandomXoredIVs ⊕ D(request IV)) does not match Hash')
    }
  })

  it('each byte of RandomXoredIVs wrong with the Hash left as it was: hash', () => {
    for (let at = 0; at < 16; at++) {
      const f = honestFields(built)
      f.randomXoredIvs = flipped(f.randomXoredIvs, at)
      expectOnlyFailure(verifyKmsResponse(built, seal(f)), 'hash')
    }
  })

  it('a Hash of R itself instead of R ⊕ D(IV) ⊕ D(IV): hash', () => {
    const f = honestFields(built)
    f.hash = sha256(f.randomXoredIvs)
    expectOnlyFailure(verifyKmsResponse(built, seal(f)), 'hash')
  })

  it('echoed CMID wrong: cmid-echo', () => {
    const f = honestFields(built, { ...honestBase(built), cmid: '5691e769-a787-4611-95ac-e803f190b896' })
    expectOnlyFailure(
      verifyKmsResponse(built, seal(f)),
      'cmid-echo',
      `response CMID 5691e769-a787-4611-95ac-e803f190b896 differs from the request's ${built.base.cmid}`
    )
  })

  it('echoed ClientTime wrong by one tick (a V6 HMAC keyed by the echoed time): client-time-echo', () => {
    const f = honestFields(built, { ...honestBase(built), clientTime: built.base.clientTime + 1n })
    expectOnlyFailure(
      verifyKmsResponse(built, seal(f)),
      'client-time-echo',
      `response ClientTime 2026-11-25 08:22:47 (${built.base.clientTime + 1n}) differs from the request's 2026-11-25 08:22:47 (${built.base.clientTime})`
    )
  })

  it('inner version wrong (major or minor) under the right outer version: version', () => {
    for (const [minorVer, majorVer] of [
      [0, major === 5 ? 6 : 5],
      [1, major]
    ]) {
      const f = honestFields(built, { ...honestBase(built), minorVer: minorVer!, majorVer: majorVer! })
      expectOnlyFailure(
        verifyKmsResponse(built, seal(f)),
        'version',
        `inner response version ${majorVer}.${minorVer} differs from the request's ${major}.0`
      )
    }
  })

  it('outer version wrong (major or minor): version, before anything is decrypted', () => {
    for (const version of [
      [0, major === 5 ? 6 : 5],
      [1, major]
    ] as Array<[number, number]>) {
      const f = honestFields(built)
      f.version = version
      const v = verifyKmsResponse(built, seal(f))
      expectOnlyFailure(v, 'version', `response version ${version[1]}.${version[0]} differs from the request's ${major}.0`)
      expect(v.checks).toHaveLength(1)
    }
  })

  it('padding wrong (last byte 0, last byte 17, one pad byte different): padding', () => {
    const pads: Array<(n: number) => Uint8Array> = [
      (n) => concatBytes(pkcs7(n + 1), Uint8Array.of(0)),
      (n) => concatBytes(new Uint8Array(16 - (n % 16)).fill(1), new Uint8Array(16).fill(17)),
      (n) => {
        const p = pkcs7(n)
        expect(p.byteLength).toBeGreaterThan(1)
        return flipped(p, 0, 0xff)
      }
    ]
    // 17 bytes or more, all 17: consistent, but longer than a block
    pads.push((n) => new Uint8Array(16 - (n % 16) + 16).fill(17))
    for (const pad of pads) {
      const f = honestFields(built)
      f.pad = pad
      const v = verifyKmsResponse(built, seal(f))
      expectOnlyFailure(v, 'padding', /^decrypted response does not end in valid PKCS#7 padding \(last byte 0x[0-9a-f]{2}\)$/)
      // nothing is read from a response whose padding is wrong
      expect(v.checks).toHaveLength(1)
      expect(!v.ok && v.unverified).toBeUndefined()
    }
  })

  it('PIDSize odd, zero or over 128: epid-length', () => {
    for (const pidSize of [99, 0, 130, 0xffffffff]) {
      const f = honestFields(built)
      f.base = Uint8Array.from(f.base)
      new DataView(f.base.buffer).setUint32(4, pidSize, true)
      expectOnlyFailure(verifyKmsResponse(built, seal(f)), 'epid-length')
    }
  })

  it('ePID without its terminating NUL, or with a NUL inside: epid-nul', () => {
    const noNul = honestFields(built)
    noNul.base = Uint8Array.from(noNul.base)
    noNul.base[8 + 2 * EPID.length] = 0x41
    expectOnlyFailure(verifyKmsResponse(built, seal(noNul)), 'epid-nul')
    const inner = honestFields(built)
    inner.base = Uint8Array.from(inner.base)
    inner.base[8 + 10] = 0
    inner.base[8 + 11] = 0
    expectOnlyFailure(verifyKmsResponse(built, seal(inner)), 'epid-nul')
  })

  it('body shorter than its ePID length implies (last field cut off): length', () => {
    const f = honestFields(built)
    if (major === 6) f.hmac = (message) => v6Hmac(built.base.clientTime, message).subarray(0, 15)
    else f.hash = f.hash.subarray(0, 31)
    const v = verifyKmsResponse(built, seal(f))
    const expected = 16 + 44 + 2 * (EPID.length + 1) + 48 + (major === 6 ? 40 : 0)
    expectOnlyFailure(v, 'length', `decrypted response of ${expected - 1} bytes is shorter than the ${expected} its ePID length implies`)
    expect(!v.ok && v.unverified?.base.epid).toBe(EPID)
  })

  it('bytes after the last field: a length warning, not a failure', () => {
    for (const extra of [1, 16, 17]) {
      const f = honestFields(built)
      f.trailing = new Uint8Array(extra).fill(0x33)
      const v = verifyKmsResponse(built, seal(f))
      expect(v.ok).toBe(true)
      expect(v.checks.find((c) => c.name === 'length')).toMatchObject({
        status: 'warn',
        detail: expect.stringContaining(`${extra} byte(s)`)
      })
    }
  })

  it('ciphertext not whole blocks, or a single block: length', () => {
    const good = seal(honestFields(built))
    for (const cut of [good.subarray(0, good.byteLength - 1), good.subarray(0, 4 + 16), good.subarray(0, 4)]) {
      expectOnlyFailure(
        verifyKmsResponse(built, cut),
        'length',
        `encrypted part of ${cut.byteLength - 4} bytes is not a whole number (≥ 2) of 16-byte blocks`
      )
    }
    expectOnlyFailure(verifyKmsResponse(built, good.subarray(0, 3)), 'length', 'KMS response of 3 bytes has no version')
    // two whole blocks (S and a full pad block) pass the block and padding checks and then hold no base response
    const twoBlocks = concatBytes(
      good.subarray(0, 4),
      cipherForMajor(major).cbcEncrypt(ZERO_BLOCK, concatBytes(new Uint8Array(16), new Uint8Array(16).fill(16)))
    )
    const v = verifyKmsResponse(built, twoBlocks)
    expect(v).toMatchObject({ ok: false, failed: 'length' })
    expect(!v.ok && v.reason).not.toMatch(/whole number/)
  })
})

describe('forged V5 responses: the wire IV', () => {
  const built = request(5, 50)

  it('S other than D(IV), so the wire IV does not repeat the request IV: iv-echo', () => {
    for (let at = 0; at < 16; at++) {
      const f = honestFields(built)
      f.s = flipped(f.s, at)
      const wireIv = seal(f).subarray(4, 20)
      expectOnlyFailure(
        verifyKmsResponse(built, seal(f)),
        'iv-echo',
        `response IV ${hex(wireIv)} does not repeat the request IV ${hex(built.iv!)}`
      )
    }
  })
})

describe('forged V6 responses: XoredIVs and the HMAC', () => {
  const built = request(6, 60)

  it('each byte position of the HMAC wrong: hmac', () => {
    for (let at = 0; at < 16; at++) {
      for (const mask of [0x01, 0x80]) {
        const f = honestFields(built)
        f.hmac = (message) => flipped(v6Hmac(built.base.clientTime, message), at, mask)
        expectOnlyFailure(verifyKmsResponse(built, seal(f)), 'hmac', 'HMAC does not match the echoed ClientTime slot or its neighbours')
      }
    }
  })

  it('every byte of the HMAC wrong at once: hmac', () => {
    const f = honestFields(built)
    f.hmac = (message) => v6Hmac(built.base.clientTime, message).map((b) => b ^ 0xff)
    expectOnlyFailure(verifyKmsResponse(built, seal(f)), 'hmac')
  })

  it('an HMAC keyed two slots away: hmac', () => {
    const f = honestFields(built)
    f.hmac = (message) => v6Hmac(built.base.clientTime, message, 2)
    expectOnlyFailure(verifyKmsResponse(built, seal(f)), 'hmac')
  })

  it('HMAC valid but over a message other than the one sent (HwId changed after signing): hmac', () => {
    const f = honestFields(built)
    const signed = honestFields(built)
    signed.hwid = flipped(VLMCSD_DEFAULT_HWID, 7)
    f.hmac = (message) => {
      const other = concatBytes(message.subarray(0, message.byteLength - 24), signed.hwid!, message.subarray(message.byteLength - 16))
      return v6Hmac(built.base.clientTime, other)
    }
    expectOnlyFailure(verifyKmsResponse(built, seal(f)), 'hmac')
  })

  it('each byte of XoredIVs wrong, with a valid HMAC over it: xored-ivs', () => {
    for (let at = 0; at < 16; at++) {
      const f = honestFields(built)
      f.xoredIvs = flipped(f.xoredIvs!, at)
      expectOnlyFailure(
        verifyKmsResponse(built, seal(f)),
        'xored-ivs',
        `XoredIVs ${hex(f.xoredIvs)} is not D(request IV) ${hex(built.decryptedIv!)}`
      )
    }
  })

  it('XoredIVs equal to the request IV instead of D(IV): xored-ivs', () => {
    const f = honestFields(built)
    f.xoredIvs = built.iv!
    expectOnlyFailure(verifyKmsResponse(built, seal(f)), 'xored-ivs')
  })

  it('S = D(IV), so the wire IV repeats the request IV (V5 rules in V6): a warning naming the emulator', () => {
    const f = honestFields(built)
    f.s = built.decryptedIv!
    const v = verifyKmsResponse(built, seal(f))
    expect(v.ok).toBe(true)
    expect(v.checks.find((c) => c.name === 'iv-differs')).toEqual({
      name: 'iv-differs',
      status: 'warn',
      detail: 'response IV equals the request IV: an emulator using V5 rules for V6'
    })
  })

  it('any HwId is accepted and reported as sent (the HMAC covers it)', () => {
    const f = honestFields(built)
    f.hwid = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8)
    const v = verifyKmsResponse(built, seal(f))
    expect(v.ok && Array.from(v.response.hwid!)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
  })
})

describe('what the builder and the verifier refuse to work with', () => {
  it('a V5/V6 response needs the request IV; a V6 response an 8-byte HwId', () => {
    const v5 = request(5, 70)
    const parsed = parseKmsRequest(v5.bytes)
    if (!parsed.ok) throw new Error(parsed.reason)
    const answer = { epid: EPID, hwid: VLMCSD_DEFAULT_HWID, count: 1, activationInterval: 120, renewalInterval: 10080 }
    expect(() => buildKmsResponse({ ...parsed.request, iv: undefined }, answer, seededRandom(1))).toThrow(
      'a V5/V6 request must carry its IV'
    )
    expect(() => buildKmsResponse({ ...parsed.request, decryptedIv: undefined }, answer, seededRandom(1))).toThrow(
      'a V5/V6 request must carry its IV'
    )
    expect(() => buildKmsResponse({ ...parsed.request, iv: undefined }, answer, seededRandom(1))).toThrow(
      expect.objectContaining({ name: 'ProtocolEncodeError', field: 'IV' })
    )
    const v6 = parseKmsRequest(request(6, 71).bytes)
    if (!v6.ok) throw new Error(v6.reason)
    for (const hwid of [undefined, new Uint8Array(7), new Uint8Array(9)]) {
      expect(() => buildKmsResponse(v6.request, { ...answer, hwid }, seededRandom(1))).toThrow('a V6 response needs an 8-byte HwId')
      expect(() => buildKmsResponse(v6.request, { ...answer, hwid }, seededRandom(1))).toThrow(expect.objectContaining({ field: 'HwId' }))
    }
    // the verifier, handed a V5 request record without its IV, is misused, not answered
    const good = seal(honestFields(v5))
    expect(() => verifyKmsResponse({ ...v5, iv: undefined }, good)).toThrow('a V5/V6 request must carry its IV')
    expect(() => verifyKmsResponse({ ...v5, decryptedIv: undefined }, good)).toThrow('a V5/V6 request must carry its IV')
  })
})

describe('forged V4 responses: MAC, echoes, lengths', () => {
  const built = request(4, 0)
  const forge = (base: BaseResponse, mac?: (m: Uint8Array) => Uint8Array, trailing = new Uint8Array(0)): Uint8Array => {
    const bytes = encodeBaseResponse(base)
    return concatBytes(bytes, (mac ?? v4Mac)(bytes), trailing)
  }

  it('the honest response passes every check', () => {
    const v = verifyKmsResponse(built, forge(honestBase(built)))
    expect(v.ok).toBe(true)
    const pidSize = 2 * (EPID.length + 1)
    expect(v.checks).toEqual(
      [
        ['epid-length', `PIDSize ${pidSize}`],
        ['epid-nul', 'ok'],
        ['version', '4.0'],
        ['v4-mac', 'ok'],
        ['cmid-echo', 'ok'],
        ['client-time-echo', 'ok'],
        ['epid-format', 'ok'],
        ['length', `${44 + pidSize + 16} bytes`]
      ].map(([name, detail]) => ({ name, status: 'pass', detail }))
    )
  })

  it('each byte position of the MAC wrong: v4-mac', () => {
    for (let at = 0; at < 16; at++) {
      const v = verifyKmsResponse(
        built,
        forge(honestBase(built), (m) => flipped(v4Mac(m), at, 0x40))
      )
      const good = v4Mac(encodeBaseResponse(honestBase(built)))
      expectOnlyFailure(v, 'v4-mac', `MAC ${hex(flipped(good, at, 0x40))} is wrong (expected ${hex(good)})`)
    }
  })

  it('a MAC over another base response: v4-mac', () => {
    const other = encodeBaseResponse({ ...honestBase(built), count: 51 })
    expectOnlyFailure(
      verifyKmsResponse(
        built,
        forge(honestBase(built), () => v4Mac(other))
      ),
      'v4-mac'
    )
  })

  it('echoed CMID or ClientTime wrong under a valid MAC: cmid-echo, client-time-echo', () => {
    expectOnlyFailure(verifyKmsResponse(built, forge({ ...honestBase(built), cmid: '00000000-0000-0000-0000-000000000001' })), 'cmid-echo')
    expectOnlyFailure(verifyKmsResponse(built, forge({ ...honestBase(built), clientTime: built.base.clientTime - 1n })), 'client-time-echo')
  })

  it('version other than the request’s: version (V4 sends it once, in the base response)', () => {
    expectOnlyFailure(verifyKmsResponse(built, forge({ ...honestBase(built), majorVer: 5 })), 'version')
    expectOnlyFailure(verifyKmsResponse(built, forge({ ...honestBase(built), minorVer: 1 })), 'version')
  })

  it('MAC cut short: length; bytes after the MAC: a length warning', () => {
    const good = forge(honestBase(built))
    for (const cut of [1, 16]) {
      expectOnlyFailure(
        verifyKmsResponse(built, good.subarray(0, good.byteLength - cut)),
        'length',
        `V4 response of ${good.byteLength - cut} bytes has no room for the MAC (needs ${good.byteLength})`
      )
    }
    const v = verifyKmsResponse(built, forge(honestBase(built), undefined, Uint8Array.of(9, 9)))
    expect(v.ok).toBe(true)
    expect(v.checks.find((c) => c.name === 'length')).toMatchObject({ status: 'warn', detail: expect.stringContaining('2 byte(s)') })
  })

  it('ePID syntax wrong under a valid MAC: epid-format, and the ePID is still reported', () => {
    const v = verifyKmsResponse(built, forge({ ...honestBase(built), epid: '03612-00206-567-887631-03-2074-14393.0000-009202' }))
    expectOnlyFailure(v, 'epid-format')
    expect(!v.ok && v.unverified?.base.count).toBe(50)
  })
})
