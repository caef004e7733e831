/**
 * The fast paths of the protocol engine against reference implementations, on random inputs:
 * - the T-table Rijndael core and its word-wise CBC / CBC-MAC against a textbook byte-oriented Rijndael
 *   (FIPS-197 SubBytes/ShiftRows/MixColumns, S-box computed from its definition, own key expansion) written here;
 * - the V5 cipher on long-lived, chained node:crypto objects against a fresh aes-128-cbc object per call;
 * - SHA-256 and HMAC-SHA256 from one-shot hashes against createHash / createHmac;
 * - the byte helpers and base request/response codecs against DataView / Buffer based decoding and encoding.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  ByteReader,
  ByteWriter,
  concatBytes,
  fromHex,
  readU16LE,
  readU32LE,
  readU64LE,
  toHex,
  utf16leDecodeRange,
  xorBytes
} from '../../src-main/protocol/bytes'
import {
  cbcDecrypt,
  cbcEncrypt,
  cbcMacBitPadded,
  decryptBlock,
  encryptBlock,
  expandKey,
  roundKeyBytes
} from '../../src-main/protocol/crypto/rijndael'
import {
  HmacSha256,
  hmacSha256,
  sha256,
  V4_KEY,
  v4Mac,
  V5_CIPHER,
  V5_KEY,
  V6_CIPHER,
  V6_KEY,
  v6Hmac,
  v6HmacKey,
  ZERO_BLOCK
} from '../../src-main/protocol/crypto/kms-crypto'
import { guidFromBytes, guidToBytes } from '../../src-main/protocol/guid'
import {
  decodeBaseRequest,
  encodeBaseRequest,
  encodeBaseResponse,
  readBaseRequest,
  type BaseRequest,
  type BaseResponse
} from '../../src-main/protocol/kms/base'
import { buildKmsRequest, parseKmsRequest } from '../../src-main/protocol/kms/request'
import { buildKmsResponse } from '../../src-main/protocol/kms/response'
import { seededRandom } from '../helpers/vectors'

const RUNS = 1000
const hex = (s: string): Uint8Array => fromHex(s)!
const bytesArb = (min: number, max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: min, maxLength: max })
const block = bytesArb(16, 16)
const blocksArb = (maxBlocks: number): fc.Arbitrary<Uint8Array> =>
  fc.integer({ min: 0, max: maxBlocks }).chain((n) => bytesArb(16 * n, 16 * n))

// ---------------------------------------------------------------------------------------------------------------
// Textbook Rijndael (FIPS-197 §5), byte by byte. Slow and obvious on purpose: it shares nothing with the core.

function gmul(a: number, b: number): number {
  let r = 0
  for (; b; b >>= 1) {
    if (b & 1) r ^= a
    a = (a << 1) ^ (a & 0x80 ? 0x11b : 0)
  }
  return r
}

const S = new Uint8Array(256)
const SI = new Uint8Array(256)
for (let x = 0; x < 256; x++) {
  let inv = 0
  for (let y = 1; x !== 0 && y < 256; y++) if (gmul(x, y) === 1) inv = y
  let s = inv
  for (let i = 1; i <= 4; i++) s ^= ((inv << i) | (inv >> (8 - i))) & 0xff
  S[x] = s ^ 0x63
  SI[s ^ 0x63] = x
}

/** Round keys K0..KNr as 16-byte arrays (Nk = 4 or 5), with the docs/protocol.md §5.2 V6 patch if asked. */
function refExpand(key: Uint8Array, v6Patch = false): Uint8Array[] {
  const nk = key.length / 4
  const nr = nk + 6
  const w: number[][] = []
  for (let i = 0; i < nk; i++) w.push(Array.from(key.subarray(4 * i, 4 * i + 4)))
  let rcon = 1
  for (let i = nk; i < 4 * (nr + 1); i++) {
    let t = [...w[i - 1]!]
    if (i % nk === 0) {
      t = [S[t[1]!]! ^ rcon, S[t[2]!]!, S[t[3]!]!, S[t[0]!]!]
      rcon = gmul(rcon, 2)
    }
    w.push(w[i - nk]!.map((b, j) => b ^ t[j]!))
  }
  if (v6Patch) {
    w[16]![0]! ^= 0x73
    w[24]![0]! ^= 0x09
    w[32]![0]! ^= 0xe4
  }
  const keys: Uint8Array[] = []
  for (let r = 0; r <= nr; r++) keys.push(Uint8Array.from(w.slice(4 * r, 4 * r + 4).flat()))
  return keys
}

/** State byte (row r, column c) is s[4c + r], as FIPS-197 §3.4 maps the input. */
function refEncrypt(rk: Uint8Array[], input: Uint8Array): Uint8Array {
  const nr = rk.length - 1
  let s = xorBytes(input, rk[0]!)
  for (let round = 1; round <= nr; round++) {
    const t = new Uint8Array(16)
    for (let c = 0; c < 4; c++) for (let r = 0; r < 4; r++) t[4 * c + r] = S[s[4 * ((c + r) % 4) + r]!]!
    if (round < nr) {
      for (let c = 0; c < 4; c++) {
        const [a0, a1, a2, a3] = [t[4 * c]!, t[4 * c + 1]!, t[4 * c + 2]!, t[4 * c + 3]!]
        t[4 * c] = gmul(a0, 2) ^ gmul(a1, 3) ^ a2 ^ a3
        t[4 * c + 1] = a0 ^ gmul(a1, 2) ^ gmul(a2, 3) ^ a3
        t[4 * c + 2] = a0 ^ a1 ^ gmul(a2, 2) ^ gmul(a3, 3)
        t[4 * c + 3] = gmul(a0, 3) ^ a1 ^ a2 ^ gmul(a3, 2)
      }
    }
    s = xorBytes(t, rk[round]!)
  }
  return s
}

function refDecrypt(rk: Uint8Array[], input: Uint8Array): Uint8Array {
  const nr = rk.length - 1
  let s = xorBytes(input, rk[nr]!)
  for (let round = nr - 1; round >= 0; round--) {
    const t = new Uint8Array(16)
    for (let c = 0; c < 4; c++) for (let r = 0; r < 4; r++) t[4 * ((c + r) % 4) + r] = SI[s[4 * c + r]!]!
    s = xorBytes(t, rk[round]!)
    if (round > 0) {
      for (let c = 0; c < 4; c++) {
        const [a0, a1, a2, a3] = [s[4 * c]!, s[4 * c + 1]!, s[4 * c + 2]!, s[4 * c + 3]!]
        s[4 * c] = gmul(a0, 14) ^ gmul(a1, 11) ^ gmul(a2, 13) ^ gmul(a3, 9)
        s[4 * c + 1] = gmul(a0, 9) ^ gmul(a1, 14) ^ gmul(a2, 11) ^ gmul(a3, 13)
        s[4 * c + 2] = gmul(a0, 13) ^ gmul(a1, 9) ^ gmul(a2, 14) ^ gmul(a3, 11)
        s[4 * c + 3] = gmul(a0, 11) ^ gmul(a1, 13) ^ gmul(a2, 9) ^ gmul(a3, 14)
      }
    }
  }
  return s
}

function refCbcEncrypt(rk: Uint8Array[], iv: Uint8Array, data: Uint8Array): Uint8Array {
  const out: Uint8Array[] = []
  let prev = iv
  for (let off = 0; off < data.length; off += 16) out.push((prev = refEncrypt(rk, xorBytes(data.subarray(off, off + 16), prev))))
  return concatBytes(...out)
}

function refCbcDecrypt(rk: Uint8Array[], iv: Uint8Array, data: Uint8Array): Uint8Array {
  const out: Uint8Array[] = []
  for (let off = 0; off < data.length; off += 16) {
    out.push(xorBytes(refDecrypt(rk, data.subarray(off, off + 16)), off === 0 ? iv : data.subarray(off - 16, off)))
  }
  return concatBytes(...out)
}

/** CBC-MAC with a zero IV over the message padded with 0x80 and zeros to whole blocks (always padded). */
function refBitPaddedMac(rk: Uint8Array[], message: Uint8Array): Uint8Array {
  const padded = new Uint8Array((Math.floor(message.length / 16) + 1) * 16)
  padded.set(message)
  padded[message.length] = 0x80
  const ct = refCbcEncrypt(rk, new Uint8Array(16), padded)
  return ct.subarray(ct.length - 16)
}

const V4_REF = refExpand(V4_KEY)
const V6_REF = refExpand(V6_KEY, true)

describe('textbook reference cipher (sanity of the oracle itself)', () => {
  it('FIPS-197 appendix C.1 (AES-128) and the docs/protocol.md §5.2 V4 / V6 values', () => {
    const rk = refExpand(hex('000102030405060708090a0b0c0d0e0f'))
    expect(toHex(refEncrypt(rk, hex('00112233445566778899aabbccddeeff')))).toBe('69c4e0d86a7b0430d8cdb78070b4c55a')
    expect(toHex(refDecrypt(rk, hex('69c4e0d86a7b0430d8cdb78070b4c55a')))).toBe('00112233445566778899aabbccddeeff')
    expect(toHex(refEncrypt(V4_REF, new Uint8Array(16)))).toBe('933030f10e2e7782b80915d5778a4957')
    expect(toHex(refEncrypt(V6_REF, new Uint8Array(16)))).toBe('8ca59de0c483c04aa7026a22d6dd208e')
    expect(toHex(refEncrypt(refExpand(V5_KEY), new Uint8Array(16)))).toBe('ec7c7e75b1923978eac4b2d2260235d5')
  })
})

describe('Rijndael core (T-tables, word-wise CBC) equals the textbook cipher', () => {
  const keyArb = fc.oneof(
    bytesArb(16, 16).map((key) => ({ key, v6Patch: false })),
    bytesArb(16, 16).map((key) => ({ key, v6Patch: true })),
    bytesArb(20, 20).map((key) => ({ key, v6Patch: false }))
  )

  it('round keys and single blocks, both directions, for AES-128, V6-patched and 160-bit keys', () => {
    fc.assert(
      fc.property(keyArb, block, ({ key, v6Patch }, input) => {
        const s = expandKey(key, { v6Patch })
        const rk = refExpand(key, v6Patch)
        rk.forEach((k, i) => expect(toHex(roundKeyBytes(s, i))).toBe(toHex(k)))
        const enc = new Uint8Array(16)
        encryptBlock(s, input, 0, enc, 0)
        expect(toHex(enc)).toBe(toHex(refEncrypt(rk, input)))
        const dec = new Uint8Array(16)
        decryptBlock(s, input, 0, dec, 0)
        expect(toHex(dec)).toBe(toHex(refDecrypt(rk, input)))
        // In place (src and dst overlap exactly), at an offset.
        const buf = concatBytes(Uint8Array.of(1, 2, 3), input)
        encryptBlock(s, buf, 3, buf, 3)
        expect(toHex(buf.subarray(3))).toBe(toHex(enc))
      }),
      { seed: 0xfa571, numRuns: RUNS }
    )
  })

  it('CBC encryption and decryption of 0–17 blocks', () => {
    fc.assert(
      fc.property(keyArb, block, blocksArb(17), ({ key, v6Patch }, iv, data) => {
        const s = expandKey(key, { v6Patch })
        const rk = refExpand(key, v6Patch)
        const ct = cbcEncrypt(s, iv, data)
        expect(toHex(ct)).toBe(toHex(refCbcEncrypt(rk, iv, data)))
        expect(toHex(cbcDecrypt(s, iv, data))).toBe(toHex(refCbcDecrypt(rk, iv, data)))
        expect(toHex(cbcDecrypt(s, iv, ct))).toBe(toHex(data))
      }),
      { seed: 0xfa572, numRuns: RUNS }
    )
  })

  it('the V6 cipher object (CBC and single blocks) equals the textbook cipher with the patched schedule', () => {
    fc.assert(
      fc.property(block, blocksArb(17), (iv, data) => {
        expect(toHex(V6_CIPHER.cbcEncrypt(iv, data))).toBe(toHex(refCbcEncrypt(V6_REF, iv, data)))
        expect(toHex(V6_CIPHER.cbcDecrypt(iv, data))).toBe(toHex(refCbcDecrypt(V6_REF, iv, data)))
        expect(toHex(V6_CIPHER.encryptBlock(iv))).toBe(toHex(refEncrypt(V6_REF, iv)))
        expect(toHex(V6_CIPHER.decryptBlock(iv))).toBe(toHex(refDecrypt(V6_REF, iv)))
      }),
      { seed: 0xfa573, numRuns: RUNS }
    )
  })

  it('the bit-padded CBC-MAC (V4 MAC) of messages of 0–300 bytes, at any offset in a larger buffer', () => {
    fc.assert(
      fc.property(bytesArb(0, 300), fc.nat(7), (message, lead) => {
        const want = toHex(refBitPaddedMac(V4_REF, message))
        expect(toHex(v4Mac(message))).toBe(want)
        const inside = concatBytes(new Uint8Array(lead).fill(0xee), message, Uint8Array.of(0xff, 0xff))
        expect(toHex(cbcMacBitPadded(expandKey(V4_KEY), inside.subarray(lead, lead + message.length)))).toBe(want)
      }),
      { seed: 0xfa574, numRuns: RUNS }
    )
  })
})

// ---------------------------------------------------------------------------------------------------------------

function freshCbc(encrypt: boolean, iv: Uint8Array, data: Uint8Array): string {
  const c = encrypt ? createCipheriv('aes-128-cbc', V5_KEY, iv) : createDecipheriv('aes-128-cbc', V5_KEY, iv)
  c.setAutoPadding(false)
  return toHex(Buffer.concat([c.update(data), c.final()]))
}

type V5Op =
  { kind: 'cbcEncrypt' | 'cbcDecrypt'; iv: Uint8Array; data: Uint8Array } | { kind: 'encryptBlock' | 'decryptBlock'; block: Uint8Array }

const v5OpArb: fc.Arbitrary<V5Op> = fc.oneof(
  fc.record({ kind: fc.constantFrom('cbcEncrypt' as const, 'cbcDecrypt' as const), iv: block, data: blocksArb(17) }),
  fc.record({ kind: fc.constantFrom('encryptBlock' as const, 'decryptBlock' as const), block })
)

function runV5(op: V5Op): { got: Uint8Array; want: string } {
  switch (op.kind) {
    case 'cbcEncrypt':
      return { got: V5_CIPHER.cbcEncrypt(op.iv, op.data), want: freshCbc(true, op.iv, op.data) }
    case 'cbcDecrypt':
      return { got: V5_CIPHER.cbcDecrypt(op.iv, op.data), want: freshCbc(false, op.iv, op.data) }
    case 'encryptBlock':
      return { got: V5_CIPHER.encryptBlock(op.block), want: freshCbc(true, ZERO_BLOCK, op.block) }
    case 'decryptBlock':
      return { got: V5_CIPHER.decryptBlock(op.block), want: freshCbc(false, ZERO_BLOCK, op.block) }
  }
}

describe('V5 cipher on long-lived chained node:crypto objects equals a fresh aes-128-cbc per call', () => {
  it('any sequence of encryptions and decryptions (the chaining value never carries over)', () => {
    fc.assert(
      fc.property(fc.array(v5OpArb, { minLength: 1, maxLength: 8 }), (ops) => {
        for (const op of ops) {
          const { got, want } = runV5(op)
          expect(toHex(got)).toBe(want)
          // Callers own what they get back: scribbling on it must not reach the cipher's state.
          got.fill(0xa5)
        }
      }),
      { seed: 0x5a5a1, numRuns: RUNS }
    )
  })

  it('leaves its inputs untouched', () => {
    fc.assert(
      fc.property(block, blocksArb(17), (iv, data) => {
        const ivCopy = toHex(iv)
        const dataCopy = toHex(data)
        V5_CIPHER.cbcEncrypt(iv, data)
        V5_CIPHER.cbcDecrypt(iv, data)
        expect(toHex(iv)).toBe(ivCopy)
        expect(toHex(data)).toBe(dataCopy)
      }),
      { seed: 0x5a5a2, numRuns: 200 }
    )
  })

  it('a rejected call (bad IV, partial block) changes nothing for the next one', () => {
    const iv = hex('f68b442d04d23441a9b0649c66924090')
    const data = Uint8Array.from({ length: 64 }, (_, i) => i)
    V5_CIPHER.cbcEncrypt(iv, data)
    for (const c of [V5_CIPHER.cbcEncrypt, V5_CIPHER.cbcDecrypt]) {
      expect(() => c(new Uint8Array(15), data)).toThrow(TypeError)
      expect(() => c(iv, data.subarray(0, 20))).toThrow(TypeError)
    }
    expect(() => V5_CIPHER.encryptBlock(new Uint8Array(15))).toThrow(TypeError)
    expect(toHex(V5_CIPHER.cbcEncrypt(iv, data))).toBe(freshCbc(true, iv, data))
    expect(toHex(V5_CIPHER.cbcDecrypt(iv, data))).toBe(freshCbc(false, iv, data))
  })
})

// ---------------------------------------------------------------------------------------------------------------

const refHmac = (key: Uint8Array, m: Uint8Array): string => createHmac('sha256', key).update(m).digest('hex')

describe('SHA-256 and HMAC-SHA256 on one-shot hashes equal createHash / createHmac', () => {
  it('SHA-256 of 0–300 bytes', () => {
    fc.assert(
      fc.property(bytesArb(0, 300), (m) => {
        expect(toHex(sha256(m))).toBe(createHash('sha256').update(m).digest('hex'))
      }),
      { seed: 0x4a541, numRuns: RUNS }
    )
  })

  it('HMAC with keys of 0–150 bytes (longer than a block too) and messages of 0–300 bytes', () => {
    fc.assert(
      fc.property(bytesArb(0, 150), fc.array(bytesArb(0, 300), { minLength: 1, maxLength: 4 }), (key, messages) => {
        const h = new HmacSha256(key)
        for (const m of messages) {
          expect(toHex(hmacSha256(key, m))).toBe(refHmac(key, m))
          // One precomputed key object, many messages: nothing from one mac() reaches the next.
          expect(toHex(h.mac(m))).toBe(refHmac(key, m))
        }
      }),
      { seed: 0x4a542, numRuns: RUNS }
    )
  })

  it('v6Hmac is the last 16 bytes of HMAC(v6HmacKey(t, shift), m), whatever order the time slots come in', () => {
    const timeArb = fc.oneof(fc.bigInt({ min: 0n, max: (1n << 63n) - 1n }), fc.constantFrom(134400685670000000n, 134400685670000001n))
    fc.assert(
      fc.property(fc.array(fc.tuple(timeArb, fc.constantFrom(-1, 0, 1), bytesArb(0, 260)), { minLength: 1, maxLength: 4 }), (calls) => {
        for (const [t, shift, m] of calls) {
          const key = v6HmacKey(t, shift)
          expect(toHex(v6Hmac(t, m, shift))).toBe(refHmac(key, m).slice(32))
          // The key handed out is a copy: changing it does not change the HMAC.
          key.fill(0)
          expect(toHex(v6Hmac(t, m, shift))).toBe(refHmac(v6HmacKey(t, shift), m).slice(32))
        }
      }),
      { seed: 0x4a543, numRuns: RUNS }
    )
  })
})

// ---------------------------------------------------------------------------------------------------------------

describe('byte helpers equal DataView / Buffer', () => {
  it('little-endian reads (helpers and ByteReader) and writes (ByteWriter)', () => {
    fc.assert(
      fc.property(bytesArb(8, 24), fc.nat(16), (b, at) => {
        const off = Math.min(at, b.length - 8)
        const view = new DataView(b.buffer, b.byteOffset, b.byteLength)
        expect(readU16LE(b, off)).toBe(view.getUint16(off, true))
        expect(readU32LE(b, off)).toBe(view.getUint32(off, true))
        expect(readU64LE(b, off)).toBe(view.getBigUint64(off, true))
        const r = new ByteReader(b)
        r.skip(off, 'lead')
        expect(r.u16('a')).toBe(view.getUint16(off, true))
        expect(r.u32('b')).toBe(view.getUint32(off + 2, true))
        expect(r.u8('c')).toBe(view.getUint8(off + 6))
        const w = new ByteWriter(15)
        w.u16(view.getUint16(off, true), 'a').u32(view.getUint32(off, true), 'b').u64(view.getBigUint64(off, true), 'c').u8(b[off]!, 'd')
        const want = new Uint8Array(15)
        const wv = new DataView(want.buffer)
        wv.setUint16(0, view.getUint16(off, true), true)
        wv.setUint32(2, view.getUint32(off, true), true)
        wv.setBigUint64(6, view.getBigUint64(off, true), true)
        wv.setUint8(14, b[off]!)
        expect(toHex(w.done())).toBe(toHex(want))
      }),
      { seed: 0xb17e1, numRuns: RUNS }
    )
  })

  it('UTF-16LE decoding of any code units (lone surrogates included) and encoding in place', () => {
    fc.assert(
      fc.property(
        bytesArb(0, 200).map((b) => b.subarray(0, b.length & ~1)),
        fc.nat(5),
        (units, lead) => {
          const buf = concatBytes(new Uint8Array(lead), units)
          const s = utf16leDecodeRange(buf, lead, lead + units.length)
          expect(s).toBe(Buffer.from(units).toString('utf16le'))
          const w = new ByteWriter(units.length)
          expect(toHex(w.utf16le(s, 'text').done())).toBe(toHex(units))
        }
      ),
      { seed: 0xb17e2, numRuns: RUNS }
    )
    const long = new Uint8Array(2 * 3000).map((_, i) => (i * 37) & 0xff)
    expect(utf16leDecodeRange(long, 0, long.length)).toBe(Buffer.from(long).toString('utf16le'))
  })

  it('ByteWriter refuses to write past its buffer with a RangeError, as with the DataView before', () => {
    expect(() => new ByteWriter(3).u32(1, 'x')).toThrow(RangeError)
    expect(() => new ByteWriter(1).utf16le('ab', 'x')).toThrow(RangeError)
    expect(() => new ByteWriter(0).reserve(16, 'x')).toThrow(RangeError)
  })
})

// ---------------------------------------------------------------------------------------------------------------

const guidArb = bytesArb(16, 16).map((b) => guidFromBytes(b))
const u32 = fc.integer({ min: 0, max: 0xffffffff })
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })
const textArb = (max: number): fc.Arbitrary<string> =>
  fc.string({ maxLength: max, unit: fc.integer({ min: 1, max: 0xffff }).map((c) => String.fromCharCode(c)) })

/** The base request as a DataView/Buffer decoder reads it (docs/protocol.md §3). */
function refDecodeBaseRequest(b: Uint8Array): BaseRequest {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength)
  const name = Buffer.from(b.subarray(108, 236))
  let end = 0
  while (end < 128 && (name[end] !== 0 || name[end + 1] !== 0)) end += 2
  return {
    minorVer: v.getUint16(0, true),
    majorVer: v.getUint16(2, true),
    vmInfo: v.getUint32(4, true),
    licenseStatus: v.getUint32(8, true),
    bindingExpiration: v.getUint32(12, true),
    appId: guidFromBytes(b.subarray(16, 32)),
    actId: guidFromBytes(b.subarray(32, 48)),
    kmsId: guidFromBytes(b.subarray(48, 64)),
    cmid: guidFromBytes(b.subarray(64, 80)),
    nPolicy: v.getUint32(80, true),
    clientTime: v.getBigUint64(84, true),
    cmidPrev: guidFromBytes(b.subarray(92, 108)),
    workstationName: name.subarray(0, end).toString('utf16le')
  }
}

function refEncodeBaseResponse(r: BaseResponse): Uint8Array {
  const pid = Buffer.from(`${r.epid}\0`, 'utf16le')
  const out = new Uint8Array(44 + pid.length)
  const v = new DataView(out.buffer)
  v.setUint16(0, r.minorVer, true)
  v.setUint16(2, r.majorVer, true)
  v.setUint32(4, pid.length, true)
  out.set(pid, 8)
  out.set(guidToBytes(r.cmid), 8 + pid.length)
  v.setBigUint64(24 + pid.length, r.clientTime, true)
  v.setUint32(32 + pid.length, r.count, true)
  v.setUint32(36 + pid.length, r.activationInterval, true)
  v.setUint32(40 + pid.length, r.renewalInterval, true)
  return out
}

function refEncodeBaseRequest(r: BaseRequest): Uint8Array {
  const out = new Uint8Array(236)
  const v = new DataView(out.buffer)
  v.setUint16(0, r.minorVer, true)
  v.setUint16(2, r.majorVer, true)
  v.setUint32(4, r.vmInfo, true)
  v.setUint32(8, r.licenseStatus, true)
  v.setUint32(12, r.bindingExpiration, true)
  ;[r.appId, r.actId, r.kmsId, r.cmid].forEach((g, i) => out.set(guidToBytes(g), 16 + 16 * i))
  v.setUint32(80, r.nPolicy, true)
  v.setBigUint64(84, r.clientTime, true)
  out.set(guidToBytes(r.cmidPrev), 92)
  out.set(Buffer.from(r.workstationName, 'utf16le'), 108)
  return out
}

describe('base request / response codecs equal DataView / Buffer based ones', () => {
  it('decodeBaseRequest and readBaseRequest at an offset, on any 236–300 bytes (names with and without a NUL)', () => {
    fc.assert(
      fc.property(bytesArb(236, 300), fc.boolean(), fc.nat(40), (raw, nulTerminated, lead) => {
        const b = Uint8Array.from(raw)
        if (nulTerminated) b.fill(0, 200, 202)
        const want = refDecodeBaseRequest(b)
        expect(decodeBaseRequest(b)).toEqual(want)
        expect(readBaseRequest(concatBytes(new Uint8Array(lead).fill(1), b), lead)).toEqual(want)
      }),
      { seed: 0xba5e1, numRuns: RUNS }
    )
  })

  it('encodeBaseResponse and encodeBaseRequest', () => {
    const responseArb = fc.record({
      minorVer: fc.integer({ min: 0, max: 0xffff }),
      majorVer: fc.integer({ min: 0, max: 0xffff }),
      epid: textArb(63),
      cmid: guidArb,
      clientTime: u64,
      count: u32,
      activationInterval: u32,
      renewalInterval: u32
    })
    const requestArb = fc.record({
      minorVer: fc.integer({ min: 0, max: 0xffff }),
      majorVer: fc.integer({ min: 0, max: 0xffff }),
      vmInfo: u32,
      licenseStatus: u32,
      bindingExpiration: u32,
      appId: guidArb,
      actId: guidArb,
      kmsId: guidArb,
      cmid: guidArb,
      nPolicy: u32,
      clientTime: u64,
      cmidPrev: guidArb,
      workstationName: textArb(63)
    })
    fc.assert(
      fc.property(responseArb, requestArb, (resp, req) => {
        expect(toHex(encodeBaseResponse(resp))).toBe(toHex(refEncodeBaseResponse(resp)))
        expect(toHex(encodeBaseRequest(req))).toBe(toHex(refEncodeBaseRequest(req)))
      }),
      { seed: 0xba5e2, numRuns: RUNS }
    )
  })
})

// ---------------------------------------------------------------------------------------------------------------

describe('V5 / V6 messages through the fast paths, opened with the reference ciphers', () => {
  const ANSWER = {
    epid: '03612-00206-567-887631-03-2074-14393.0000-0092024',
    hwid: hex('3a1c049600b60076'),
    count: 50,
    activationInterval: 120,
    renewalInterval: 10080
  }

  it('the host decrypts what the client sent and its response carries Hash, HwId, XoredIVs and HMAC as the references compute them', () => {
    fc.assert(
      fc.property(fc.constantFrom(5, 6), guidArb, u64, textArb(63), fc.integer(), (major, cmid, clientTime, workstationName, seed) => {
        const base = refDecodeBaseRequest(new Uint8Array(236))
        const request = { ...base, majorVer: major, cmid, clientTime, workstationName }
        const built = buildKmsRequest(request, seededRandom(seed))
        const refDec = (iv: Uint8Array, ct: Uint8Array): Uint8Array =>
          major === 5 ? hex(freshCbc(false, iv, ct)) : refCbcDecrypt(V6_REF, iv, ct)
        // The client's request, opened by the reference: IV ‖ CBC(IV, BaseRequest ‖ 04 04 04 04).
        expect(toHex(refDec(built.iv!, built.bytes.subarray(20)))).toBe(
          toHex(concatBytes(refEncodeBaseRequest(request), Uint8Array.of(4, 4, 4, 4)))
        )
        const parsed = parseKmsRequest(built.bytes)
        expect(parsed.ok).toBe(true)
        if (!parsed.ok) return
        expect(parsed.request.base).toEqual(request)
        expect(toHex(parsed.request.decryptedIv!)).toBe(toHex(refDec(ZERO_BLOCK, built.iv!)))

        const response = buildKmsResponse(parsed.request, ANSWER, seededRandom(seed + 1))
        const pt = refDec(ZERO_BLOCK, response.subarray(4))
        const baseBytes = refEncodeBaseResponse({
          minorVer: 0,
          majorVer: major,
          epid: ANSWER.epid,
          cmid,
          clientTime,
          count: 50,
          activationInterval: 120,
          renewalInterval: 10080
        })
        let at = 16
        expect(toHex(pt.subarray(at, (at += baseBytes.length)))).toBe(toHex(baseBytes))
        const r = xorBytes(pt.subarray(at, (at += 16)), parsed.request.decryptedIv!)
        expect(toHex(pt.subarray(at, (at += 32)))).toBe(createHash('sha256').update(r).digest('hex'))
        if (major === 6) {
          expect(toHex(pt.subarray(at, (at += 8)))).toBe(toHex(ANSWER.hwid))
          expect(toHex(pt.subarray(at, (at += 16)))).toBe(toHex(parsed.request.decryptedIv!))
          expect(toHex(pt.subarray(at, at + 16))).toBe(refHmac(v6HmacKey(clientTime), pt.subarray(0, at)).slice(32))
          at += 16
        }
        const pad = pt.length - at
        expect(pad >= 1 && pad <= 16 && pt.subarray(at).every((x) => x === pad)).toBe(true)
      }),
      { seed: 0x3e55a, numRuns: 300 }
    )
  })
})
