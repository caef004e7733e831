/**
 * What can be read from a KMS request the protocol session refused with an HRESULT (docs/protocol.md §8.1), so the
 * refusal can be logged with the client's CMID, product and version.
 *
 * Why here: `KmsHostSession.receive()` reports a refusal as `{ refused: { problem, reason, hresult } }` without
 * the request's fields. Until the protocol layer carries them, we decode the same PDU again (only for refusals,
 * which are rare): V4 is plaintext; V5 and above are decrypted with the cipher of their major version (V6's for
 * anything above 5, as vlmcs encrypts a "7.0" request) and trusted only if the PKCS#7 pad `04 04 04 04` is intact
 * — otherwise the decryption is noise and nothing is logged.
 */
import {
  decodeBaseRequest,
  decodePdu,
  decodeRequestStub,
  PTYPE,
  V5_CIPHER,
  V6_CIPHER,
  type BaseRequest,
  type NdrSyntax
} from '../protocol/index'

const BASE_LENGTH = 236
const ENCRYPTED_LENGTH = 260
const ZERO_IV = new Uint8Array(16)

export interface RefusedRequest {
  /** outer version of the KMS payload */
  major: number
  minor: number
  /** the decoded base request, when it could be read */
  base: BaseRequest | undefined
}

/** Never throws; undefined when the PDU does not even carry a KMS payload with a version. */
export function readRefusedRequest(pdu: Uint8Array, syntax: NdrSyntax | undefined): RefusedRequest | undefined {
  if (syntax === undefined) return undefined
  try {
    const p = decodePdu(pdu)
    if (p.ptype !== PTYPE.request) return undefined
    const kms = decodeRequestStub(p.stub, syntax).kmsRequest
    if (kms.byteLength < 4) return undefined
    const minor = kms[0]! | (kms[1]! << 8)
    const major = kms[2]! | (kms[3]! << 8)
    return { major, minor, base: readBase(kms, major) }
  } catch {
    return undefined
  }
}

function readBase(kms: Uint8Array, major: number): BaseRequest | undefined {
  if (major < 4) return undefined
  if (major === 4) return kms.byteLength >= BASE_LENGTH ? decodeBaseRequest(kms) : undefined
  if (kms.byteLength < ENCRYPTED_LENGTH) return undefined
  const cipher = major === 5 ? V5_CIPHER : V6_CIPHER
  // CBC over IV ‖ ciphertext with a zero IV: block 0 is D(IV), the rest the request (docs/protocol.md §7.1).
  const out = cipher.cbcDecrypt(ZERO_IV, kms.subarray(4, ENCRYPTED_LENGTH))
  for (let i = 16 + BASE_LENGTH; i < out.byteLength; i++) if (out[i] !== 4) return undefined
  return decodeBaseRequest(out.subarray(16))
}
