/**
 * KMS requests for protocols 4, 5 and 6 (docs/protocol.md §6.2, §7.1): built by the client, decrypted and checked by
 * the host.
 *
 *   V4:    BaseRequest (236) ‖ V4-MAC(BaseRequest) (16)                                   = 252 bytes
 *   V5/V6: Version (4) ‖ IV (16) ‖ CBC-Encrypt(K, IV, BaseRequest ‖ 04 04 04 04) (240)    = 260 bytes
 */
import { bytesEqual, concatBytes, copyRange } from '../bytes'
import { ProtocolEncodeError } from '../errors'
import { cipherForMajor, v4Mac, ZERO_BLOCK } from '../crypto/kms-crypto'
import { takeRandom, type RandomSource } from '../random'
import { BASE_REQUEST_LENGTH, decodeBaseRequest, encodeBaseRequest, readBaseRequest, type BaseRequest } from './base'
import { HRESULT } from './hresult'

const V4_REQUEST_LENGTH = 252
const V5_V6_REQUEST_LENGTH = 260
const REQUEST_PAD = Uint8Array.of(4, 4, 4, 4)

/** What the client keeps of a request it sent, to verify the response. */
export interface BuiltKmsRequest {
  /** the KMS request payload (the NDR conformant array) */
  bytes: Uint8Array
  base: BaseRequest
  /** V5/V6: the cleartext IV ("salt"); undefined for V4 */
  iv: Uint8Array | undefined
  /** V5/V6: D_K(IV), which the response's XoredIVs / hash are built from */
  decryptedIv: Uint8Array | undefined
}

/**
 * Builds the KMS request for `base` (protocol = base.majorVer; 4, 5, 6, and — like vlmcs — any higher major with
 * the V6 cipher, for probing hosts). V5/V6 take the 16-byte IV from `random`; V4 uses no randomness.
 */
export function buildKmsRequest(base: BaseRequest, random: RandomSource): BuiltKmsRequest {
  const plain = encodeBaseRequest(base)
  if (base.majorVer < 4) throw new ProtocolEncodeError('MajorVer', `protocol ${base.majorVer} is not supported (4, 5, 6)`)
  if (base.majorVer === 4) {
    return { bytes: concatBytes(plain, v4Mac(plain)), base, iv: undefined, decryptedIv: undefined }
  }
  const cipher = cipherForMajor(base.majorVer)
  const iv = takeRandom(random, 16)
  const encrypted = cipher.cbcEncrypt(iv, concatBytes(plain, REQUEST_PAD))
  return { bytes: concatBytes(plain.subarray(0, 4), iv, encrypted), base, iv, decryptedIv: cipher.decryptBlock(iv) }
}

/** A request the host decrypted and accepted. */
export interface ParsedKmsRequest {
  /** 4, 5 or 6 */
  protocol: 4 | 5 | 6
  base: BaseRequest
  /** V5/V6 IV, V5/V6 D_K(IV) */
  iv: Uint8Array | undefined
  decryptedIv: Uint8Array | undefined
  /** V4: whether the request MAC is right (vlmcsd does not check it; see KmsHostSession's option) */
  v4MacValid: boolean | undefined
  /** bytes beyond the exact request size, accepted and ignored (docs/protocol.md §7.4 [R]) */
  excessBytes: number
}

export type KmsRequestProblem = 'too-short' | 'unsupported-version' | 'minor-version' | 'padding' | 'inner-version' | 'v4-mac'

export type KmsRequestParseResult =
  { ok: true; request: ParsedKmsRequest } | { ok: false; problem: KmsRequestProblem; reason: string; hresult: number }

function reject(problem: KmsRequestProblem, reason: string): KmsRequestParseResult {
  return { ok: false, problem, reason, hresult: HRESULT.invalidData }
}

export interface ParseKmsRequestOptions {
  /** Reject a V4 request whose MAC is wrong (docs/protocol.md §2.8 [R]). Default true. */
  rejectInvalidV4Mac?: boolean
}

/**
 * The host side: checks version and size, decrypts (V5/V6), checks the PKCS#7 pad and that the inner version
 * equals the outer one, checks the V4 MAC. Never throws for any input; every refusal carries HRESULT
 * 0x8007000D (docs/protocol.md §8.1) and a named problem.
 */
export function parseKmsRequest(bytes: Uint8Array, options: ParseKmsRequestOptions = {}): KmsRequestParseResult {
  if (bytes.byteLength < 4) return reject('too-short', `KMS request of ${bytes.byteLength} bytes has no version`)
  const minor = bytes[0]! | (bytes[1]! << 8)
  const major = bytes[2]! | (bytes[3]! << 8)
  if (major !== 4 && major !== 5 && major !== 6) return reject('unsupported-version', `KMS protocol ${major}.${minor} is not supported`)
  if (minor !== 0) return reject('minor-version', `KMS minor version ${minor} is not 0`)
  const need = major === 4 ? V4_REQUEST_LENGTH : V5_V6_REQUEST_LENGTH
  if (bytes.byteLength < need) return reject('too-short', `KMS v${major} request of ${bytes.byteLength} bytes is shorter than ${need}`)
  const excessBytes = bytes.byteLength - need

  if (major === 4) {
    const plain = bytes.subarray(0, BASE_REQUEST_LENGTH)
    const base = decodeBaseRequest(plain)
    const v4MacValid = bytesEqual(v4Mac(plain), bytes.subarray(BASE_REQUEST_LENGTH, V4_REQUEST_LENGTH))
    if (!v4MacValid && options.rejectInvalidV4Mac !== false) return reject('v4-mac', 'the V4 request MAC is wrong')
    return { ok: true, request: { protocol: 4, base, iv: undefined, decryptedIv: undefined, v4MacValid, excessBytes } }
  }

  // CBC-decrypting IV ‖ ciphertext with a zero IV yields D(IV) first, then the request (docs/protocol.md §7.1).
  const cipher = cipherForMajor(major)
  const out = cipher.cbcDecrypt(ZERO_BLOCK, bytes.subarray(4, V5_V6_REQUEST_LENGTH))
  // out = D(IV) (16) ‖ BaseRequest (236) ‖ pad (4), read in place.
  for (let i = 16 + BASE_REQUEST_LENGTH; i < 256; i++) {
    if (out[i] !== 4) return reject('padding', 'the decrypted request does not end in the PKCS#7 pad 04 04 04 04')
  }
  const base = readBaseRequest(out, 16)
  if (base.majorVer !== major || base.minorVer !== minor) {
    return reject('inner-version', `inner version ${base.majorVer}.${base.minorVer} differs from the outer ${major}.${minor}`)
  }
  const iv = copyRange(bytes, 4, 20)
  return { ok: true, request: { protocol: major, base, iv, decryptedIv: copyRange(out, 0, 16), v4MacValid: undefined, excessBytes } }
}
