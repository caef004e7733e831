/**
 * The cryptography of the KMS exchange (PROTOCOL.md §5–§7).
 *
 * - V4: Rijndael with the 160-bit V4 key (our core, ./rijndael) as a CBC-MAC with bit padding.
 * - V5: standard AES-128 — node:crypto `aes-128-cbc`/`aes-128-ecb` without auto padding.
 * - V6: AES-128 with the patched key schedule — our core in CBC mode (node:crypto cannot take custom round keys).
 * - SHA-256 and HMAC-SHA256 from node:crypto.
 */
import { Buffer } from 'node:buffer'
import * as nodeCrypto from 'node:crypto'
import { createCipheriv, createDecipheriv, createHash, createHmac } from 'node:crypto'
import { cbcDecrypt, cbcEncrypt, decryptBlock, encryptBlock, expandKey, type RijndaelSchedule } from './rijndael'

/** §5.1 keys. */
export const V4_KEY = Uint8Array.of(0x05, 0x3d, 0x83, 0x07, 0xf9, 0xe5, 0xf0, 0x88, 0xeb, 0x5e, 0xa6, 0x68, 0x6c, 0xf0, 0x37, 0xc7, 0xe4, 0xef, 0xd2, 0xd6)
export const V5_KEY = Uint8Array.of(0xcd, 0x7e, 0x79, 0x6f, 0x2a, 0xb2, 0x5d, 0xcb, 0x55, 0xff, 0xc8, 0xef, 0x83, 0x64, 0xc4, 0x70)
export const V6_KEY = Uint8Array.of(0xa9, 0x4a, 0x41, 0x95, 0xe2, 0x01, 0x43, 0x2d, 0x9b, 0xcb, 0x46, 0x04, 0x05, 0xd8, 0x4a, 0x21)

/** §5.1 V6 time-slot constants. */
export const V6_SLOT_C1 = 0x00000022816889bdn
export const V6_SLOT_C2 = 0x000000208cbab5edn
export const V6_SLOT_C3 = 0x3156cd5ac628477an

export const V4_SCHEDULE: RijndaelSchedule = expandKey(V4_KEY)
export const V6_SCHEDULE: RijndaelSchedule = expandKey(V6_KEY, { v6Patch: true })

const ZERO_IV = new Uint8Array(16)

/** One-shot `crypto.hash` (Node ≥ 20.12) is about twice as fast as createHash for these small inputs. */
const oneShotHash = (nodeCrypto as { hash?: (alg: string, data: Uint8Array, enc: 'buffer') => Buffer }).hash

export function sha256(data: Uint8Array): Uint8Array {
  return oneShotHash ? oneShotHash('sha256', data, 'buffer') : createHash('sha256').update(data).digest()
}

export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  return createHmac('sha256', key).update(data).digest()
}

/**
 * §6.1 V4 MAC: CBC-MAC with the V4 Rijndael-160 cipher, message padded with 0x80 then zeros to whole blocks
 * (always padded, so a whole-block message gets an extra `80 00 … 00` block).
 */
export function v4Mac(message: Uint8Array): Uint8Array {
  const padded = new Uint8Array((Math.floor(message.byteLength / 16) + 1) * 16)
  padded.set(message)
  padded[message.byteLength] = 0x80
  const x = new Uint8Array(16)
  for (let off = 0; off < padded.byteLength; off += 16) {
    for (let i = 0; i < 16; i++) x[i]! ^= padded[off + i]!
    encryptBlock(V4_SCHEDULE, x, 0, x, 0)
  }
  return x
}

/** A 128-bit block cipher as the V5/V6 code uses it. Buffers are whole blocks; no padding is added or removed. */
export interface KmsCipher {
  readonly protocol: 5 | 6
  cbcEncrypt(iv: Uint8Array, data: Uint8Array): Uint8Array
  cbcDecrypt(iv: Uint8Array, data: Uint8Array): Uint8Array
  /** E_K of one 16-byte block. */
  encryptBlock(block: Uint8Array): Uint8Array
  /** D_K of one 16-byte block. */
  decryptBlock(block: Uint8Array): Uint8Array
}

function nodeAes(kind: 'aes-128-cbc' | 'aes-128-ecb', encrypt: boolean, iv: Uint8Array | null, data: Uint8Array): Uint8Array {
  const c = encrypt ? createCipheriv(kind, V5_KEY, iv) : createDecipheriv(kind, V5_KEY, iv)
  c.setAutoPadding(false)
  const head = c.update(data)
  const tail = c.final()
  return tail.byteLength === 0 ? head : Buffer.concat([head, tail])
}

function checkBlocks(iv: Uint8Array | null, data: Uint8Array): void {
  if ((iv !== null && iv.byteLength !== 16) || data.byteLength % 16 !== 0) {
    throw new TypeError('KMS cipher needs a 16-byte IV and whole 16-byte blocks')
  }
}

/** V5: standard AES-128 from node:crypto. */
export const V5_CIPHER: KmsCipher = {
  protocol: 5,
  cbcEncrypt: (iv, data) => (checkBlocks(iv, data), nodeAes('aes-128-cbc', true, iv, data)),
  cbcDecrypt: (iv, data) => (checkBlocks(iv, data), nodeAes('aes-128-cbc', false, iv, data)),
  encryptBlock: (block) => (checkBlocks(null, block), nodeAes('aes-128-ecb', true, null, block.subarray(0, 16))),
  decryptBlock: (block) => (checkBlocks(null, block), nodeAes('aes-128-ecb', false, null, block.subarray(0, 16)))
}

/** V6: AES-128 with the patched schedule, on our Rijndael core. */
export const V6_CIPHER: KmsCipher = {
  protocol: 6,
  cbcEncrypt: (iv, data) => cbcEncrypt(V6_SCHEDULE, iv, data),
  cbcDecrypt: (iv, data) => cbcDecrypt(V6_SCHEDULE, iv, data),
  encryptBlock: (block) => {
    checkBlocks(null, block)
    const out = new Uint8Array(16)
    encryptBlock(V6_SCHEDULE, block, 0, out, 0)
    return out
  },
  decryptBlock: (block) => {
    checkBlocks(null, block)
    const out = new Uint8Array(16)
    decryptBlock(V6_SCHEDULE, block, 0, out, 0)
    return out
  }
}

/** §7: major 5 uses the V5 cipher, anything above 5 the V6 cipher (vlmcsd's rule, also for "7.0"). */
export function cipherForMajor(major: number): KmsCipher {
  return major === 5 ? V5_CIPHER : V6_CIPHER
}

export const ZERO_BLOCK: Uint8Array = ZERO_IV

/** §7.2: slot = ((T div C1)·C2 + C3) mod 2^64 for a ClientTime T; `shift` selects a neighbouring slot (±1). */
export function v6TimeSlot(clientTime: bigint, shift = 0): bigint {
  const index = clientTime / V6_SLOT_C1 + BigInt(shift)
  return BigInt.asUintN(64, index * V6_SLOT_C2 + V6_SLOT_C3)
}

/** The last key derived: hosts and clients mostly see one time slot for hours. */
let lastKey: { slot: bigint; key: Uint8Array } | undefined

/** §7.2: Kt = last 16 bytes of SHA-256(slot as 8 LE bytes). */
export function v6HmacKey(clientTime: bigint, shift = 0): Uint8Array {
  const slot = v6TimeSlot(clientTime, shift)
  if (lastKey?.slot === slot) return lastKey.key
  const key = deriveKey(slot)
  lastKey = { slot, key }
  return key
}

function deriveKey(slot: bigint): Uint8Array {
  const le = new Uint8Array(8)
  new DataView(le.buffer, le.byteOffset, le.byteLength).setBigUint64(0, slot, true)
  return Uint8Array.from(sha256(le).subarray(16, 32))
}

/** §7.2: the HMAC field = last 16 bytes of HMAC-SHA256(Kt, message). */
export function v6Hmac(clientTime: bigint, message: Uint8Array, shift = 0): Uint8Array {
  return hmacSha256(v6HmacKey(clientTime, shift), message).subarray(16, 32)
}
