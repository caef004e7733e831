import { createCipheriv, createDecipheriv } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { fromHex, toHex } from '../../src-main/protocol/bytes'
import { cbcDecrypt, cbcEncrypt, decryptBlock, encryptBlock, expandKey, roundKeyBytes } from '../../src-main/protocol/crypto/rijndael'
import {
  V4_SCHEDULE,
  V5_CIPHER,
  V6_CIPHER,
  V6_KEY,
  V6_SCHEDULE,
  v4Mac,
  v6HmacKey,
  v6TimeSlot
} from '../../src-main/protocol/crypto/kms-crypto'

const hex = (s: string): Uint8Array => fromHex(s)!

function enc(schedule: ReturnType<typeof expandKey>, block: Uint8Array): string {
  const out = new Uint8Array(16)
  encryptBlock(schedule, block, 0, out, 0)
  return toHex(out)
}

function dec(schedule: ReturnType<typeof expandKey>, block: Uint8Array): string {
  const out = new Uint8Array(16)
  decryptBlock(schedule, block, 0, out, 0)
  return toHex(out)
}

describe('Rijndael core against FIPS-197', () => {
  it('AES-128 example vector of appendix C.1', () => {
    const s = expandKey(hex('000102030405060708090a0b0c0d0e0f'))
    expect(enc(s, hex('00112233445566778899aabbccddeeff'))).toBe('69c4e0d86a7b0430d8cdb78070b4c55a')
    expect(dec(s, hex('69c4e0d86a7b0430d8cdb78070b4c55a'))).toBe('00112233445566778899aabbccddeeff')
  })

  it('AES-128 cipher example of appendix B, including its key expansion (appendix A.1)', () => {
    const s = expandKey(hex('2b7e151628aed2a6abf7158809cf4f3c'))
    expect(toHex(roundKeyBytes(s, 1))).toBe('a0fafe1788542cb123a339392a6c7605')
    expect(toHex(roundKeyBytes(s, 10))).toBe('d014f9a8c9ee2589e13f0cc8b6630ca6')
    expect(enc(s, hex('3243f6a8885a308d313198a2e0370734'))).toBe('3925841d02dc09fbdc118597196a0b32')
    expect(dec(s, hex('3925841d02dc09fbdc118597196a0b32'))).toBe('3243f6a8885a308d313198a2e0370734')
  })

  it('equals node:crypto aes-128-ecb on 1,000 random key/block pairs (both directions)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), (key, block) => {
        const s = expandKey(key)
        const e = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false)
        const want = Buffer.concat([e.update(block), e.final()])
        expect(enc(s, block)).toBe(toHex(want))
        const d = createDecipheriv('aes-128-ecb', key, null).setAutoPadding(false)
        const back = Buffer.concat([d.update(block), d.final()])
        expect(dec(s, block)).toBe(toHex(back))
      }),
      { seed: 0x5eed1, numRuns: 1000 }
    )
  })

  it('CBC helpers equal node:crypto aes-128-cbc and invert each other', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.integer({ min: 0, max: 8 }).chain((n) => fc.uint8Array({ minLength: 16 * n, maxLength: 16 * n })),
        (key, iv, data) => {
          const s = expandKey(key)
          const c = createCipheriv('aes-128-cbc', key, iv).setAutoPadding(false)
          const want = Buffer.concat([c.update(data), c.final()])
          const got = cbcEncrypt(s, iv, data)
          expect(toHex(got)).toBe(toHex(want))
          expect(toHex(cbcDecrypt(s, iv, got))).toBe(toHex(data))
        }
      ),
      { seed: 0x5eed2, numRuns: 200 }
    )
  })

  it('rejects key sizes it does not implement', () => {
    expect(() => expandKey(new Uint8Array(24))).toThrow(TypeError)
    expect(() => expandKey(new Uint8Array(20), { v6Patch: true })).toThrow(TypeError)
  })
})

describe('KMS cipher configurations (docs/protocol.md §5.2 test values)', () => {
  it('V6 patched round keys K4, K6, K8 and unpatched neighbours', () => {
    expect(toHex(roundKeyBytes(V6_SCHEDULE, 4))).toBe('0530e12e111e2b4d3f6a5901edca6094')
    expect(toHex(roundKeyBytes(V6_SCHEDULE, 6))).toBe('63dec9456920217355b4904484ea41e7')
    expect(toHex(roundKeyBytes(V6_SCHEDULE, 8))).toBe('efc82943cfb5552a5e7cb9074b5f14cd')
    const standard = expandKey(V6_KEY)
    expect(toHex(roundKeyBytes(standard, 4)).slice(0, 8)).toBe('7630e12e')
    expect(toHex(roundKeyBytes(standard, 6)).slice(0, 8)).toBe('6adec945')
    expect(toHex(roundKeyBytes(standard, 8)).slice(0, 8)).toBe('0bc82943')
    // The patch does not feed back: K5, K7, K9 are the standard ones.
    for (const i of [5, 7, 9]) expect(toHex(roundKeyBytes(V6_SCHEDULE, i))).toBe(toHex(roundKeyBytes(standard, i)))
  })

  it('V4 round keys (160-bit key, 12 round keys)', () => {
    expect(V4_SCHEDULE.rounds).toBe(11)
    expect(toHex(roundKeyBytes(V4_SCHEDULE, 0))).toBe('053d8307f9e5f088eb5ea6686cf037c7')
    expect(toHex(roundKeyBytes(V4_SCHEDULE, 1))).toBe('e4efd2d6db88756e226d85e6c933238e')
    expect(toHex(roundKeyBytes(V4_SCHEDULE, 11))).toBe('4a7d08d621ed8fd1454df13ba968579d')
  })

  it('E(16 zero bytes) and E(00112233…ff) for V4, V5, V6', () => {
    const zero = new Uint8Array(16)
    const seq = hex('00112233445566778899aabbccddeeff')
    expect(enc(V4_SCHEDULE, zero)).toBe('933030f10e2e7782b80915d5778a4957')
    expect(toHex(V5_CIPHER.encryptBlock(zero))).toBe('ec7c7e75b1923978eac4b2d2260235d5')
    expect(toHex(V6_CIPHER.encryptBlock(zero))).toBe('8ca59de0c483c04aa7026a22d6dd208e')
    expect(enc(expandKey(V6_KEY), zero)).toBe('b4c3c015f6fb320c9b64aecd52fa58c8')
    expect(enc(V4_SCHEDULE, seq)).toBe('175288485474df1d192d3f4c01e1677b')
    expect(toHex(V5_CIPHER.encryptBlock(seq))).toBe('3f06070040b62a7f49b4e1aa9f589b8c')
    expect(toHex(V6_CIPHER.encryptBlock(seq))).toBe('13eaa07470593be35700eb21ff77ad83')
    expect(toHex(V6_CIPHER.decryptBlock(hex('13eaa07470593be35700eb21ff77ad83')))).toBe(toHex(seq))
    expect(toHex(V5_CIPHER.decryptBlock(hex('3f06070040b62a7f49b4e1aa9f589b8c')))).toBe(toHex(seq))
  })

  it('V4 MAC of the empty message and of 16 zero bytes', () => {
    expect(toHex(v4Mac(new Uint8Array(0)))).toBe('d144963029e2bd12f9970c9f52b27f09')
    expect(toHex(v4Mac(new Uint8Array(16)))).toBe('2a090d7c1155251ab86445447d060335')
  })

  it('V5 and V6 CBC round trips', () => {
    const iv = hex('f68b442d04d23441a9b0649c66924090')
    const data = Uint8Array.from({ length: 240 }, (_, i) => (i * 7) & 0xff)
    for (const c of [V5_CIPHER, V6_CIPHER]) expect(toHex(c.cbcDecrypt(iv, c.cbcEncrypt(iv, data)))).toBe(toHex(data))
    expect(toHex(V5_CIPHER.cbcEncrypt(iv, data))).not.toBe(toHex(V6_CIPHER.cbcEncrypt(iv, data)))
  })

  it('V6 HMAC key worked numbers for v6-resp (docs/protocol.md §7.2)', () => {
    const t = 134400685670000000n
    expect(v6TimeSlot(t).toString(16)).toBe('331939a44dbb5575')
    expect(toHex(v6HmacKey(t))).toBe('49eb93b23a8f16f83465e8e5475655e4')
    // neighbouring slots differ by C2
    expect(BigInt.asUintN(64, v6TimeSlot(t, 1) - v6TimeSlot(t))).toBe(0x208cbab5edn)
  })
})
