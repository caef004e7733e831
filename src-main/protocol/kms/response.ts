/**
 * KMS responses for protocols 4, 5 and 6: built by the host (docs/protocol.md §6.3, §7.2, §7.4), verified by the client
 * (docs/protocol.md §7.5).
 *
 *   V4:    BaseResponse ‖ V4-MAC(BaseResponse)
 *   V5/V6: Version (4) ‖ CBC-Encrypt(K, zero IV, S ‖ BaseResponse ‖ RandomXoredIVs ‖ Hash
 *                                         [‖ HwId ‖ XoredIVs ‖ HMAC]  (V6) ‖ PKCS#7 pad)
 */
import { allocBytesUnsafe, bytesEqual, concatBytes, copyBytes, toHex, xorBytes } from '../bytes'
import { ProtocolDecodeError, ProtocolEncodeError } from '../errors'
import { cipherForMajor, sha256, sha256Into, v4Mac, v6Hmac, v6HmacInto, ZERO_BLOCK } from '../crypto/kms-crypto'
import { parseEpid, type EpidParts } from '../epid'
import { formatFileTimeUtc } from '../filetime'
import { HWID_LENGTH } from '../hwid'
import { takeRandom, type RandomSource } from '../random'
import { decodeBaseResponse, encodeBaseResponse, type BaseResponse } from './base'
import { CheckList, type CheckName, type CheckResult } from './checks'
import type { BuiltKmsRequest, ParsedKmsRequest } from './request'

/** What the embedding host decides for one request. */
export interface HostAnswer {
  /** the host's ePID (at most 63 characters) */
  epid: string
  /** V6 only (required there): 8 bytes */
  hwid?: Uint8Array
  /** Count (docs/protocol.md §10.1) */
  count: number
  /** VLActivationInterval in minutes (default 120) */
  activationInterval: number
  /** VLRenewalInterval in minutes (default 10080) */
  renewalInterval: number
}

/** Version (4 bytes: MinorVer, MajorVer as u16 LE) at out[0..4]. */
function writeVersion(out: Uint8Array, minor: number, major: number): void {
  out[0] = minor & 0xff
  out[1] = minor >> 8
  out[2] = major & 0xff
  out[3] = major >> 8
}

/**
 * Builds the KMS response for an accepted request. V5 draws R (16 bytes) from `random`; V6 draws S then R
 * (16 bytes each) and makes sure E(S) differs from the request IV. V4 uses no randomness.
 */
export function buildKmsResponse(request: ParsedKmsRequest, answer: HostAnswer, random: RandomSource): Uint8Array {
  const { base } = request
  const baseBytes = encodeBaseResponse({
    minorVer: base.minorVer,
    majorVer: base.majorVer,
    epid: answer.epid,
    cmid: base.cmid,
    clientTime: base.clientTime,
    count: answer.count,
    activationInterval: answer.activationInterval,
    renewalInterval: answer.renewalInterval
  })
  if (request.protocol === 4) return concatBytes(baseBytes, v4Mac(baseBytes))

  const { iv, decryptedIv } = request
  if (!iv || !decryptedIv) throw new ProtocolEncodeError('IV', 'a V5/V6 request must carry its IV')
  const v6 = request.protocol === 6
  const hwid = answer.hwid
  if (v6 && (!hwid || hwid.byteLength !== HWID_LENGTH)) throw new ProtocolEncodeError('HwId', 'a V6 response needs an 8-byte HwId')
  const cipher = cipherForMajor(base.majorVer)
  // V5: S = D(IV), so the first ciphertext block (the response "IV") repeats the request IV. V6: S is random.
  const s = v6 ? takeRandom(random, 16) : decryptedIv
  const r = takeRandom(random, 16)

  // Plaintext S ‖ BaseResponse ‖ RandomXoredIVs ‖ Hash [‖ HwId ‖ XoredIVs ‖ HMAC] ‖ PKCS#7 pad, built in one buffer.
  const bodyLength = 16 + baseBytes.byteLength + 48 + (v6 ? 40 : 0)
  const padLength = 16 - (bodyLength % 16)
  const plain = allocBytesUnsafe(bodyLength + padLength)
  plain.set(s, 0)
  plain.set(baseBytes, 16)
  let at = 16 + baseBytes.byteLength
  for (let i = 0; i < 16; i++) plain[at + i] = r[i]! ^ decryptedIv[i]!
  at += 16
  sha256Into(r, plain, at)
  at += 32
  if (v6) {
    plain.set(hwid!, at)
    at += 8
    plain.set(decryptedIv, at)
    at += 16
    v6HmacInto(base.clientTime, plain.subarray(0, at), plain, at)
    at += 16
  }
  plain.fill(padLength, at)
  let encrypted = cipher.cbcEncrypt(ZERO_BLOCK, plain)
  if (v6 && bytesEqual(encrypted.subarray(0, 16), iv)) {
    // The wire IV E(S) (the first ciphertext block, the IV being zero) must differ from the request IV, or
    // clients flag the host as an emulator using V5 rules. Change S and its HMAC.
    plain[0]! ^= 1
    v6HmacInto(base.clientTime, plain.subarray(0, at - 16), plain, at - 16)
    encrypted = cipher.cbcEncrypt(ZERO_BLOCK, plain)
  }
  const out = allocBytesUnsafe(4 + encrypted.byteLength)
  writeVersion(out, base.minorVer, base.majorVer)
  out.set(encrypted, 4)
  return out
}

/** A response whose checks passed (or, inside a failure, what could be decoded of it). */
export interface DecodedKmsResponse {
  /** response version (equal to the request's when verified) */
  majorVer: number
  minorVer: number
  base: BaseResponse
  /** V6 HwId */
  hwid: Uint8Array | undefined
  /** length of the KMS response payload */
  kmsLength: number
  /** V6: the time slot the HMAC matched (0 = the echoed ClientTime's slot) */
  hmacSlot: -1 | 0 | 1 | undefined
  /** parsed ePID when its syntax is valid */
  epidParts: EpidParts | undefined
  /** V5/V6 wire IV of the response (first ciphertext block) */
  responseIv: Uint8Array | undefined
}

export type KmsResponseVerification =
  | { ok: true; response: DecodedKmsResponse; checks: CheckResult[] }
  | { ok: false; failed: CheckName; reason: string; checks: CheckResult[]; unverified: DecodedKmsResponse | undefined }

function verdict(checks: CheckList, decoded: DecodedKmsResponse | undefined): KmsResponseVerification {
  const f = checks.firstFailure()
  if (f) return { ok: false, failed: f.name, reason: f.detail, checks: checks.results, unverified: decoded }
  if (!decoded) throw new Error('verification passed without a decoded response')
  return { ok: true, response: decoded, checks: checks.results }
}

function decodeErrorCheck(err: ProtocolDecodeError): CheckName {
  if (err.field === 'PIDSize') return 'epid-length'
  if (err.field === 'KmsPID') return 'epid-nul'
  return 'length'
}

/** Decodes the base response, recording epid-length / epid-nul (or a decode failure) in `checks`. */
function decodeBase(checks: CheckList, bytes: Uint8Array, base: number): { value: BaseResponse; length: number } | undefined {
  try {
    const d = decodeBaseResponse(bytes, base)
    checks.pass('epid-length', `PIDSize ${2 * (d.value.epid.length + 1)}`)
    checks.pass('epid-nul')
    return d
  } catch (err) {
    if (!(err instanceof ProtocolDecodeError)) throw err
    checks.fail(decodeErrorCheck(err), err.message)
    return undefined
  }
}

function echoChecks(checks: CheckList, request: BuiltKmsRequest, base: BaseResponse): void {
  checks.check('cmid-echo', base.cmid === request.base.cmid, `response CMID ${base.cmid} differs from the request's ${request.base.cmid}`)
  checks.check(
    'client-time-echo',
    base.clientTime === request.base.clientTime,
    () =>
      `response ClientTime ${formatFileTimeUtc(base.clientTime)} (${base.clientTime}) differs from the request's ${formatFileTimeUtc(request.base.clientTime)} (${request.base.clientTime})`
  )
}

function epidCheck(checks: CheckList, epid: string): EpidParts | undefined {
  const parsed = parseEpid(epid)
  if (parsed.ok) {
    checks.pass('epid-format')
    return parsed.parts
  }
  checks.fail('epid-format', `ePID "${epid}" is malformed: ${parsed.error.message} (${parsed.error.code})`)
  return undefined
}

/**
 * Client side: decodes and checks a KMS response against the request that was sent (docs/protocol.md §7.5). Never
 * throws for any response bytes. The verdict is the first failing check; warnings (`iv-differs`, a neighbouring HMAC
 * slot, excess length) do not fail it.
 */
export function verifyKmsResponse(request: BuiltKmsRequest, bytes: Uint8Array): KmsResponseVerification {
  const checks = new CheckList()
  if (bytes.byteLength < 4) {
    checks.fail('length', `KMS response of ${bytes.byteLength} bytes has no version`)
    return verdict(checks, undefined)
  }
  const minor = bytes[0]! | (bytes[1]! << 8)
  const major = bytes[2]! | (bytes[3]! << 8)
  const want = `${request.base.majorVer}.${request.base.minorVer}`
  if (major !== request.base.majorVer || minor !== request.base.minorVer) {
    checks.fail('version', `response version ${major}.${minor} differs from the request's ${want}`)
    return verdict(checks, undefined)
  }
  return major === 4 ? verifyV4(checks, request, bytes, want) : verifyV5V6(checks, request, bytes, want, major)
}

function verifyV4(checks: CheckList, request: BuiltKmsRequest, bytes: Uint8Array, want: string): KmsResponseVerification {
  const d = decodeBase(checks, bytes, 0)
  if (!d) return verdict(checks, undefined)
  // In V4 the version is only sent once (the base response's own field), already compared above.
  checks.pass('version', want)
  const decoded: DecodedKmsResponse = {
    majorVer: d.value.majorVer,
    minorVer: d.value.minorVer,
    base: d.value,
    hwid: undefined,
    kmsLength: bytes.byteLength,
    hmacSlot: undefined,
    epidParts: undefined,
    responseIv: undefined
  }
  const expected = d.length + 16
  if (bytes.byteLength < expected) {
    checks.fail('length', `V4 response of ${bytes.byteLength} bytes has no room for the MAC (needs ${expected})`)
    return verdict(checks, decoded)
  }
  const mac = bytes.subarray(d.length, expected)
  const good = v4Mac(bytes.subarray(0, d.length))
  checks.check('v4-mac', bytesEqual(mac, good), () => `MAC ${toHex(mac)} is wrong (expected ${toHex(good)})`)
  echoChecks(checks, request, d.value)
  decoded.epidParts = epidCheck(checks, d.value.epid)
  lengthCheck(checks, bytes.byteLength, expected)
  return verdict(checks, decoded)
}

function lengthCheck(checks: CheckList, actual: number, expected: number): void {
  if (actual === expected) checks.pass('length', `${actual} bytes`)
  else checks.warn('length', `${actual - expected} byte(s) beyond the ${expected} the ePID length implies`)
}

function verifyV5V6(checks: CheckList, request: BuiltKmsRequest, bytes: Uint8Array, want: string, major: number): KmsResponseVerification {
  const v6 = major !== 5
  const ct = bytes.subarray(4)
  if (ct.byteLength < 32 || ct.byteLength % 16 !== 0) {
    checks.fail('length', `encrypted part of ${ct.byteLength} bytes is not a whole number (≥ 2) of 16-byte blocks`)
    return verdict(checks, undefined)
  }
  const { iv, decryptedIv } = request
  if (!iv || !decryptedIv) throw new TypeError('a V5/V6 request must carry its IV')
  const cipher = cipherForMajor(major)
  const pt = cipher.cbcDecrypt(ZERO_BLOCK, ct)
  const p = pt[pt.byteLength - 1]!
  let padOk = p >= 1 && p <= 16
  for (let i = pt.byteLength - p; padOk && i < pt.byteLength; i++) if (pt[i] !== p) padOk = false
  if (
    !checks.check(
      'padding',
      padOk,
      `decrypted response does not end in valid PKCS#7 padding (last byte 0x${p.toString(16).padStart(2, '0')})`,
      `${p} byte(s)`
    )
  ) {
    return verdict(checks, undefined)
  }
  const body = pt.subarray(0, pt.byteLength - p)
  const d = decodeBase(checks, body.subarray(16), 20)
  if (!d) return verdict(checks, undefined)
  const inner = `${d.value.majorVer}.${d.value.minorVer}`
  checks.check('version', inner === want, `inner response version ${inner} differs from the request's ${want}`, want)

  const w = ct.subarray(0, 16)
  const decoded: DecodedKmsResponse = {
    majorVer: major,
    minorVer: d.value.minorVer,
    base: d.value,
    hwid: undefined,
    kmsLength: bytes.byteLength,
    hmacSlot: undefined,
    epidParts: undefined,
    responseIv: copyBytes(w)
  }
  const tail = 48 + (v6 ? 40 : 0)
  const expectedBody = 16 + d.length + tail
  if (body.byteLength < expectedBody) {
    checks.fail('length', `decrypted response of ${body.byteLength} bytes is shorter than the ${expectedBody} its ePID length implies`)
    return verdict(checks, decoded)
  }
  let at = 16 + d.length
  const rxi = body.subarray(at, (at += 16))
  const hash = body.subarray(at, (at += 32))
  if (!v6) checks.check('iv-echo', bytesEqual(w, iv), () => `response IV ${toHex(w)} does not repeat the request IV ${toHex(iv)}`)
  checks.check('hash', bytesEqual(sha256(xorBytes(rxi, decryptedIv)), hash), 'SHA-256(RandomXoredIVs ⊕ D(request IV)) does not match Hash')
  if (v6) {
    const hwid = body.subarray(at, (at += 8))
    const xoredIvs = body.subarray(at, (at += 16))
    const hmacField = body.subarray(at, at + 16)
    decoded.hwid = copyBytes(hwid)
    checks.check(
      'xored-ivs',
      bytesEqual(xoredIvs, decryptedIv),
      () => `XoredIVs ${toHex(xoredIvs)} is not D(request IV) ${toHex(decryptedIv)}`
    )
    const message = body.subarray(0, at)
    const t = d.value.clientTime
    if (bytesEqual(v6Hmac(t, message, 0), hmacField)) {
      decoded.hmacSlot = 0
      checks.pass('hmac', 'key from the echoed ClientTime slot')
    } else if (bytesEqual(v6Hmac(t, message, -1), hmacField)) {
      decoded.hmacSlot = -1
      checks.warn('hmac', 'matched the previous time slot (host used another clock?)')
    } else if (bytesEqual(v6Hmac(t, message, 1), hmacField)) {
      decoded.hmacSlot = 1
      checks.warn('hmac', 'matched the next time slot (host used another clock?)')
    } else {
      checks.fail('hmac', 'HMAC does not match the echoed ClientTime slot or its neighbours')
    }
    if (bytesEqual(w, iv)) checks.warn('iv-differs', 'response IV equals the request IV: an emulator using V5 rules for V6')
    else checks.pass('iv-differs')
  }
  echoChecks(checks, request, d.value)
  decoded.epidParts = epidCheck(checks, d.value.epid)
  lengthCheck(checks, body.byteLength, expectedBody)
  return verdict(checks, decoded)
}
