/**
 * Edges of the crypto code that the KMS keys never reach (found by mutation testing, docs/testing.md): HMAC
 * keys of a block and longer, the cipher's refusals and their messages, Rijndael key sizes.
 */
import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { HmacSha256, V5_CIPHER, V6_CIPHER } from '../../src-main/protocol/crypto/kms-crypto'
import { cbcDecrypt, cbcEncrypt, expandKey } from '../../src-main/protocol/crypto/rijndael'

describe('HmacSha256 with keys of 63, 64, 65 and 100 bytes (longer than a block: hashed first)', () => {
  it('equals node:crypto createHmac', () => {
    const message = Uint8Array.from({ length: 70 }, (_, i) => i * 7)
    for (const length of [63, 64, 65, 100]) {
      const key = Uint8Array.from({ length }, (_, i) => 255 - i)
      expect(Buffer.from(new HmacSha256(key).mac(message)).toString('hex'), `key of ${length}`).toBe(
        createHmac('sha256', key).update(message).digest('hex')
      )
    }
  })
})

describe('cipher refusals', () => {
  it('V5 and V6 ciphers refuse a short IV or partial blocks, saying what they need', () => {
    for (const cipher of [V5_CIPHER, V6_CIPHER]) {
      expect(() => cipher.cbcEncrypt(new Uint8Array(15), new Uint8Array(16))).toThrow(/16-byte IV and whole/)
      expect(() => cipher.cbcDecrypt(new Uint8Array(16), new Uint8Array(17))).toThrow(/16-byte IV and whole/)
      expect(() => cipher.encryptBlock(new Uint8Array(15))).toThrow(TypeError)
    }
  })

  it('Rijndael takes 16- or 20-byte keys, the V6 patch only on 16, and CBC only whole blocks', () => {
    for (const length of [0, 15, 17, 19, 21, 24, 32]) {
      expect(() => expandKey(new Uint8Array(length)), `key of ${length}`).toThrow(`Rijndael key must be 16 or 20 bytes, got ${length}`)
    }
    expect(() => expandKey(new Uint8Array(16))).not.toThrow()
    expect(() => expandKey(new Uint8Array(20))).not.toThrow()
    expect(() => expandKey(new Uint8Array(20), { v6Patch: true })).toThrow('the V6 round-key patch applies to 128-bit keys only')
    const s = expandKey(new Uint8Array(16))
    for (const [iv, data] of [
      [new Uint8Array(15), new Uint8Array(16)],
      [new Uint8Array(17), new Uint8Array(16)],
      [new Uint8Array(16), new Uint8Array(15)],
      [new Uint8Array(16), new Uint8Array(33)]
    ] as const) {
      expect(() => cbcEncrypt(s, iv, data)).toThrow('CBC needs a 16-byte IV and whole blocks')
      expect(() => cbcDecrypt(s, iv, data)).toThrow('CBC needs a 16-byte IV and whole blocks')
    }
  })
})
