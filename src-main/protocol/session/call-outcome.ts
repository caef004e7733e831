/**
 * The client's view of one KMS call: the response (or fault) PDU checked against what was sent, turned into a
 * typed outcome. Used by KmsClientSession; exported for tools that hold a request and a captured response.
 */
import { ProtocolDecodeError } from '../errors'
import { describeHresult, formatHresult } from '../kms/hresult'
import { CheckList, type CheckName, type CheckResult } from '../kms/checks'
import type { BuiltKmsRequest } from '../kms/request'
import { verifyKmsResponse, type DecodedKmsResponse } from '../kms/response'
import { ncaStatusName, PFC_FIRST_LAST, PTYPE, RPC_HEADER_LENGTH } from '../rpc/constants'
import { checkRpcHeader, decodeRpcHeader } from '../rpc/header'
import { decodeResponseStub, FIRST_REFERENT_ID, type NdrSyntax } from '../rpc/ndr'
import { decodePdu } from '../rpc/pdu'

/** What the client expects of the reply to one request PDU. */
export interface PendingCall {
  callId: number
  contextId: number
  syntax: NdrSyntax
  request: BuiltKmsRequest
}

export type KmsCallOutcome =
  /** A response that passed every check (warnings possible). */
  | {
      kind: 'response'
      response: DecodedKmsResponse
      /** Count ≥ N_Policy of the request; a real client is only activated if true (else 0xC004F038) */
      countSufficient: boolean
      checks: CheckResult[]
      call: PendingCall
    }
  /** The host refused the KMS request with an HRESULT in the NDR error stub (docs/protocol.md §8.1). */
  | { kind: 'kms-error'; hresult: number; hresultText: string; name: string | undefined; message: string; call: PendingCall }
  /** A fault PDU (docs/protocol.md §2.7). */
  | { kind: 'rpc-fault'; status: number; statusText: string; message: string; call: PendingCall }
  /** A decodable reply that failed a named check — a broken or fake host. */
  | {
      kind: 'verification-failed'
      failed: CheckName
      reason: string
      checks: CheckResult[]
      unverified: DecodedKmsResponse | undefined
      call: PendingCall
    }
  /** Bytes that are not a valid PDU of the expected kind (field and offset name the problem). */
  | { kind: 'protocol-violation'; field: string; offset: number; message: string; call: PendingCall }

/** Largest reply PDU a client accepts (a KMS response is ≤ 312 bytes; room for odd but harmless hosts). */
export const MAX_CLIENT_PDU_LENGTH = 4096

function violation(err: ProtocolDecodeError, call: PendingCall): KmsCallOutcome {
  return { kind: 'protocol-violation', field: err.field, offset: err.offset, message: err.message, call }
}

function faultOutcome(status: number, call: PendingCall): KmsCallOutcome {
  const statusText = formatHresult(status)
  const name = ncaStatusName(status)
  return { kind: 'rpc-fault', status, statusText, message: `RPC fault ${statusText}${name ? `: ${name}` : ''}`, call }
}

/**
 * Checks a reply PDU to `call` (docs/protocol.md §7.5, RPC level then KMS level) and never throws for any bytes. Strict
 * on purpose: every byte of a genuine response is determined by the request and the host's answer, so anything
 * unexpected is reported (flags other than FIRST|LAST, a non-zero reserved byte, a referent id other than
 * 0x20000, an alloc_hint that is neither the stub length nor 0).
 */
export function verifyResponsePdu(pdu: Uint8Array, call: PendingCall): KmsCallOutcome {
  let decoded
  try {
    const h = decodeRpcHeader(pdu)
    checkRpcHeader(h, MAX_CLIENT_PDU_LENGTH)
    decoded = decodePdu(pdu)
  } catch (err) {
    if (err instanceof ProtocolDecodeError) return violation(err, call)
    throw err
  }
  if (decoded.ptype === PTYPE.fault) return faultOutcome(decoded.status, call)
  if (decoded.ptype !== PTYPE.response) {
    return violation(new ProtocolDecodeError('PTYPE', 2, `expected a response (2) or fault (3), got PDU type ${decoded.ptype}`), call)
  }

  const checks = new CheckList()
  const flagsOk = decoded.pfcFlags === PFC_FIRST_LAST
  const problems: string[] = []
  if (!flagsOk) problems.push(`pfc_flags 0x${decoded.pfcFlags.toString(16).padStart(2, '0')} (expected 0x03)`)
  if (decoded.authLength !== 0) problems.push(`auth_length ${decoded.authLength}`)
  if (decoded.cancelCount !== 0) problems.push(`cancel_count ${decoded.cancelCount}`)
  if (decoded.reserved !== 0) problems.push(`reserved byte 0x${decoded.reserved.toString(16)}`)
  checks.check('pdu', problems.length === 0, `unexpected response header: ${problems.join(', ')}`)
  checks.check('call-id', decoded.callId === call.callId, `call_id ${decoded.callId} differs from the request's ${call.callId}`)
  checks.check(
    'context-id',
    decoded.contextId === call.contextId,
    `p_cont_id ${decoded.contextId} differs from the request's ${call.contextId}`
  )
  const stubLen = decoded.stub.byteLength
  checks.check(
    'alloc-hint',
    decoded.allocHint === stubLen || decoded.allocHint === 0,
    `alloc_hint ${decoded.allocHint} differs from the stub length ${stubLen}`
  )

  let stub
  try {
    stub = decodeResponseStub(decoded.stub, call.syntax, RPC_HEADER_LENGTH + 8)
  } catch (err) {
    if (err instanceof ProtocolDecodeError) return violation(err, call)
    throw err
  }
  if (stub.kind === 'error') {
    const early = checks.firstFailure()
    if (early)
      return { kind: 'verification-failed', failed: early.name, reason: early.detail, checks: checks.results, unverified: undefined, call }
    const info = describeHresult(stub.hresult)
    return {
      kind: 'kms-error',
      hresult: stub.hresult,
      hresultText: formatHresult(stub.hresult),
      name: info.name,
      message: info.message,
      call
    }
  }
  const ndrProblems: string[] = []
  if (stub.referentId !== FIRST_REFERENT_ID) ndrProblems.push(`referent id 0x${stub.referentId.toString(16)} (expected 0x20000)`)
  if (stub.pad.some((b) => b !== 0)) ndrProblems.push('non-zero alignment pad')
  if (stub.trailer.byteLength !== 0) ndrProblems.push(`${stub.trailer.byteLength} byte(s) after the return value`)
  checks.check('ndr', ndrProblems.length === 0, `unexpected NDR data: ${ndrProblems.join(', ')}`)
  checks.check('hresult', stub.hresult === 0, `return value ${formatHresult(stub.hresult)} after a response payload`)

  const kms = verifyKmsResponse(call.request, stub.kmsResponse)
  const all = [...checks.results, ...kms.checks]
  const first = all.find((c) => c.status === 'fail')
  if (first || !kms.ok) {
    const f = first ?? { name: 'length' as const, detail: 'verification failed' }
    return {
      kind: 'verification-failed',
      failed: f.name,
      reason: f.detail,
      checks: all,
      unverified: kms.ok ? kms.response : kms.unverified,
      call
    }
  }
  return {
    kind: 'response',
    response: kms.response,
    countSufficient: kms.response.base.count >= call.request.base.nPolicy,
    checks: all,
    call
  }
}
