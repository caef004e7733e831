/**
 * The cryptography of the KMS exchange (docs/protocol.md §5–§7).
 *
 * - V4: Rijndael with the 160-bit V4 key (our core, ./rijndael) as a CBC-MAC with bit padding.
 * - V5: standard AES-128 — node:crypto `aes-128-cbc` without auto padding, on long-lived cipher objects.
 * - V6: AES-128 with the patched key schedule — our core in CBC mode (node:crypto cannot take custom round keys).
 * - SHA-256 from node:crypto; HMAC-SHA256 as its RFC 2104 construction over node:crypto SHA-256 (see HmacSha256).
 */
import * as nodeCrypto from 'node:crypto'
import { createCipheriv, createDecipheriv, createHash, type Cipher, type Decipher } from 'node:crypto'
import { allocBytesUnsafe } from '../bytes'
import { cbcDecrypt, cbcEncrypt, cbcMacBitPadded, decryptBlock, encryptBlock, expandKey, type RijndaelSchedule } from './rijndael'

/** docs/protocol.md §5.1 keys. */
export const V4_KEY = Uint8Array.of(
  0x05,
  0x3d,
  0x83,
  0x07,
  0xf9,
  0xe5,
  0xf0,
  0x88,
  0xeb,
  0x5e,
  0xa6,
  0x68,
  0x6c,
  0xf0,
  0x37,
  0xc7,
  0xe4,
  0xef,
  0xd2,
  0xd6
)
export const V5_KEY = Uint8Array.of(0xcd, 0x7e, 0x79, 0x6f, 0x2a, 0xb2, 0x5d, 0xcb, 0x55, 0xff, 0xc8, 0xef, 0x83, 0x64, 0xc4, 0x70)
export const V6_KEY = Uint8Array.of(0xa9, 0x4a, 0x41, 0x95, 0xe2, 0x01, 0x43, 0x2d, 0x9b, 0xcb, 0x46, 0x04, 0x05, 0xd8, 0x4a, 0x21)

/** docs/protocol.md §5.1 V6 time-slot constants. */
const V6_SLOT_C1 = 0x00000022816889bdn
const V6_SLOT_C2 = 0x000000208cbab5edn
const V6_SLOT_C3 = 0x3156cd5ac628477an

export const V4_SCHEDULE: RijndaelSchedule = expandKey(V4_KEY)
export const V6_SCHEDULE: RijndaelSchedule = expandKey(V6_KEY, { v6Patch: true })

const ZERO_IV = new Uint8Array(16)

/**
 * One-shot `crypto.hash` (Node ≥ 20.12; createHash on older runtimes). Asked for a 'binary' (= latin1) string,
 * one character per digest byte, lossless, rather than a Buffer: on Node 20 a Buffer result gets a fresh
 * ArrayBuffer from the C++ side, which costs ~0.6 µs — more than hashing a KMS-sized input — while the string
 * plus the 32-character copy below costs ~0.1 µs (measured: ~0.5 µs against ~1.1 µs per SHA-256 of 16 bytes).
 */
const hasOneShotHash = typeof (nodeCrypto as Partial<typeof nodeCrypto>).hash === 'function'

/** Writes bytes [from, 32) of SHA-256(data) to out[off..]: the whole digest by default. */
export function sha256Into(data: Uint8Array, out: Uint8Array, off: number, from = 0): void {
  if (hasOneShotHash) {
    const d = nodeCrypto.hash('sha256', data, 'binary')
    for (let i = from; i < 32; i++) out[off + i - from] = d.charCodeAt(i)
  } else {
    out.set(createHash('sha256').update(data).digest().subarray(from), off)
  }
}

export function sha256(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(32)
  sha256Into(data, out, 0)
  return out
}

const SHA256_BLOCK = 64

/**
 * HMAC-SHA256 (RFC 2104 / FIPS 198-1) for one key, as two one-shot SHA-256 calls over precomputed pad blocks:
 * H((K0 ⊕ opad) ‖ H((K0 ⊕ ipad) ‖ m)), K0 being the key zero-padded to 64 bytes (hashed first if longer).
 *
 * Why not createHmac: an Hmac object costs ~2.5–3 µs to create on Node 20 / OpenSSL 3 (digest fetch and three
 * digest contexts) and cannot be reset or reused, and V6 needs one per response; the two hashes cost ~1 µs. The
 * construction is the textbook definition; a test compares it with createHmac on random keys and messages.
 */
export class HmacSha256 {
  private readonly innerPad = new Uint8Array(SHA256_BLOCK)
  /** (K0 ⊕ opad) ‖ inner digest: the digest part is overwritten by every mac() before it is hashed. */
  private readonly outerInput = new Uint8Array(SHA256_BLOCK + 32)

  constructor(key: Uint8Array) {
    const k0 = key.byteLength > SHA256_BLOCK ? sha256(key) : key
    for (let i = 0; i < SHA256_BLOCK; i++) {
      const k = k0[i] ?? 0
      this.innerPad[i] = k ^ 0x36
      this.outerInput[i] = k ^ 0x5c
    }
  }

  /** The 32-byte HMAC of `message`, in a new buffer. */
  mac(message: Uint8Array): Uint8Array {
    const out = new Uint8Array(32)
    this.macInto(message, out, 0)
    return out
  }

  /** Writes bytes [from, 32) of the HMAC of `message` to out[off..]. */
  macInto(message: Uint8Array, out: Uint8Array, off: number, from = 0): void {
    const inner = allocBytesUnsafe(SHA256_BLOCK + message.byteLength)
    inner.set(this.innerPad, 0)
    inner.set(message, SHA256_BLOCK)
    sha256Into(inner, this.outerInput, SHA256_BLOCK)
    sha256Into(this.outerInput, out, off, from)
  }
}

export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  return new HmacSha256(key).mac(data)
}

/**
 * docs/protocol.md §6.1 V4 MAC: CBC-MAC with the V4 Rijndael-160 cipher, message padded with 0x80 then zeros to whole
 * blocks (always padded, so a whole-block message gets an extra `80 00 … 00` block).
 */
export function v4Mac(message: Uint8Array): Uint8Array {
  return cbcMacBitPadded(V4_SCHEDULE, message)
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

function checkBlocks(iv: Uint8Array | null, data: Uint8Array): void {
  if ((iv !== null && iv.byteLength !== 16) || data.byteLength % 16 !== 0) {
    throw new TypeError('KMS cipher needs a 16-byte IV and whole 16-byte blocks')
  }
}

/**
 * AES-128-CBC (no padding) for one key on long-lived node:crypto objects.
 *
 * Why not a new createCipheriv per message: on Node 20 / OpenSSL 3 creating a cipher object costs ~3–5 µs
 * (algorithm fetch, context and key setup) — more than encrypting a whole KMS message — and a host exchange needs
 * two. So this keeps one encryptor and one decryptor for the life of the process and only ever calls update()
 * (never final(), which would end them).
 *
 * A CBC object carries its chaining value from one update() to the next: the last ciphertext block it saw
 * (`encChain` / `decChain`, tracked here). Each message starts from its own IV instead by a fix-up of the first
 * block, which is exact CBC algebra:
 * - encrypt: the object computes C1 = E(P1 ⊕ chain); feeding P1 ⊕ chain ⊕ IV gives E(P1 ⊕ IV), the CBC block
 *   for our IV, and the later blocks chain on C1.. as usual;
 * - decrypt: the object computes P1' = D(C1) ⊕ chain; XORing P1' with chain ⊕ IV gives D(C1) ⊕ IV.
 * Everything is synchronous, so concurrent connections in one thread cannot interleave inside a call. If
 * update() ever threw, the objects are rebuilt so the tracked chain cannot go stale.
 */
class ChainedAesCbc {
  private enc!: Cipher
  private dec!: Decipher
  private readonly encChain = new Uint8Array(16)
  private readonly decChain = new Uint8Array(16)

  constructor(private readonly key: Uint8Array) {
    this.reset()
  }

  private reset(): void {
    this.encChain.fill(0)
    this.decChain.fill(0)
    this.enc = createCipheriv('aes-128-cbc', this.key, this.encChain).setAutoPadding(false)
    this.dec = createDecipheriv('aes-128-cbc', this.key, this.decChain).setAutoPadding(false)
  }

  encrypt(iv: Uint8Array, data: Uint8Array): Uint8Array {
    checkBlocks(iv, data)
    const n = data.byteLength
    if (n === 0) return allocBytesUnsafe(0)
    const input = allocBytesUnsafe(n)
    input.set(data)
    const chain = this.encChain
    for (let i = 0; i < 16; i++) input[i]! ^= chain[i]! ^ iv[i]!
    let out: Uint8Array
    try {
      out = this.enc.update(input)
    } catch (err) {
      this.reset()
      throw err
    }
    if (out.byteLength !== n) {
      this.reset()
      throw new Error(`AES-128-CBC returned ${out.byteLength} bytes for ${n}`)
    }
    for (let i = 0; i < 16; i++) chain[i] = out[n - 16 + i]!
    return out
  }

  decrypt(iv: Uint8Array, data: Uint8Array): Uint8Array {
    checkBlocks(iv, data)
    const n = data.byteLength
    if (n === 0) return allocBytesUnsafe(0)
    let out: Uint8Array
    try {
      out = this.dec.update(data)
    } catch (err) {
      this.reset()
      throw err
    }
    if (out.byteLength !== n) {
      this.reset()
      throw new Error(`AES-128-CBC returned ${out.byteLength} bytes for ${n}`)
    }
    const chain = this.decChain
    for (let i = 0; i < 16; i++) {
      out[i]! ^= chain[i]! ^ iv[i]!
      chain[i] = data[n - 16 + i]!
    }
    return out
  }
}

const V5_AES = new ChainedAesCbc(V5_KEY)

/** V5: standard AES-128 from node:crypto. E_K / D_K of one block are CBC with a zero IV over that block. */
export const V5_CIPHER: KmsCipher = {
  protocol: 5,
  cbcEncrypt: (iv, data) => V5_AES.encrypt(iv, data),
  cbcDecrypt: (iv, data) => V5_AES.decrypt(iv, data),
  encryptBlock: (block) => (checkBlocks(null, block), V5_AES.encrypt(ZERO_IV, block.subarray(0, 16))),
  decryptBlock: (block) => (checkBlocks(null, block), V5_AES.decrypt(ZERO_IV, block.subarray(0, 16)))
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

/** docs/protocol.md §7: major 5 uses the V5 cipher, anything above 5 the V6 cipher (vlmcsd's rule, also for "7.0"). */
export function cipherForMajor(major: number): KmsCipher {
  return major === 5 ? V5_CIPHER : V6_CIPHER
}

export const ZERO_BLOCK: Uint8Array = ZERO_IV

/**
 * docs/protocol.md §7.2: slot = ((T div C1)·C2 + C3) mod 2^64 for a ClientTime T; `shift` selects a neighbouring slot
 * (±1).
 */
export function v6TimeSlot(clientTime: bigint, shift = 0): bigint {
  const index = clientTime / V6_SLOT_C1 + BigInt(shift)
  return BigInt.asUintN(64, index * V6_SLOT_C2 + V6_SLOT_C3)
}

/** The last key derived: hosts and clients mostly see one time slot for hours. */
let lastKey: { slot: bigint; key: Uint8Array; hmac: HmacSha256 } | undefined

function slotKey(clientTime: bigint, shift: number): { key: Uint8Array; hmac: HmacSha256 } {
  const slot = v6TimeSlot(clientTime, shift)
  if (lastKey?.slot !== slot) {
    const key = deriveKey(slot)
    lastKey = { slot, key, hmac: new HmacSha256(key) }
  }
  return lastKey
}

/**
 * docs/protocol.md §7.2: Kt = last 16 bytes of SHA-256(slot as 8 LE bytes). A copy: the cached key itself never leaves
 * this module.
 */
export function v6HmacKey(clientTime: bigint, shift = 0): Uint8Array {
  return Uint8Array.from(slotKey(clientTime, shift).key)
}

function deriveKey(slot: bigint): Uint8Array {
  const le = new Uint8Array(8)
  new DataView(le.buffer, le.byteOffset, le.byteLength).setBigUint64(0, slot, true)
  return sha256(le).subarray(16, 32)
}

/** docs/protocol.md §7.2: the HMAC field = last 16 bytes of HMAC-SHA256(Kt, message). */
export function v6Hmac(clientTime: bigint, message: Uint8Array, shift = 0): Uint8Array {
  const out = new Uint8Array(16)
  v6HmacInto(clientTime, message, out, 0, shift)
  return out
}

/** v6Hmac written to out[off..off+16] (the response builder puts it straight into the plaintext). */
export function v6HmacInto(clientTime: bigint, message: Uint8Array, out: Uint8Array, off: number, shift = 0): void {
  slotKey(clientTime, shift).hmac.macInto(message, out, off, 16)
}
