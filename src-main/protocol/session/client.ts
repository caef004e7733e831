/**
 * KmsClientSession: the client side of one TCP connection as a pure state machine (bytes in, bytes out).
 *
 *   const s = new KmsClientSession()
 *   send(s.bind())
 *   step = s.receive(bind_ack)         → { kind: 'send', pdu: alter_context } | { kind: 'bound' } | { kind: 'failed' }
 *   step = s.receive(alter_ctx_resp)   → { kind: 'bound' } | { kind: 'failed' }
 *   send(s.request(baseRequest, random))
 *   step = s.receive(response)         → { kind: 'result', outcome }
 *   send(s.request(...)) …             (later requests on the NDR64 context if it was accepted)
 *
 * Conversation rules (docs/protocol.md §1.2, like vlmcs and — per vlmcsd's documentation — Windows): the bind offers
 * NDR32 as ctx 0, NDR64 as ctx 1 and BTFN as ctx 2 (options drop NDR64 / BTFN, which renumbers the items); if NDR32 was
 * not accepted but NDR64 was, an alter_context offers NDR32 alone as ctx 0; the first request always goes on the
 * NDR32 context, later ones on the NDR64 context when it was accepted. Bind, alter_context and the first request
 * use call_id 2 (configurable); each later request adds 1. If the alter_context is rejected, requests fall back
 * to the accepted NDR64 context.
 */
import { ProtocolDecodeError } from '../errors'
import { buildKmsRequest, type BuiltKmsRequest } from '../kms/request'
import type { BaseRequest } from '../kms/base'
import type { RandomSource } from '../random'
import { BTFN_FEATURES_DEFAULT, CONTEXT_RESULT, DEFAULT_MAX_FRAG, PFC, PFC_FIRST_LAST, PTYPE, ncaStatusName } from '../rpc/constants'
import { formatHresult } from '../kms/hresult'
import { checkRpcHeader, decodeRpcHeader } from '../rpc/header'
import { encodeRequestStub, type NdrSyntax } from '../rpc/ndr'
import {
  decodePdu,
  encodePdu,
  rpcCommon,
  type BindAckPdu,
  type BindPdu,
  type ContextElement,
  type ContextResult,
  type RpcPdu
} from '../rpc/pdu'
import { btfnSyntax, kmsContext, NDR32, NDR64, sameSyntax } from '../rpc/syntax'
import { MAX_CLIENT_PDU_LENGTH, verifyResponsePdu, type KmsCallOutcome, type PendingCall } from './call-outcome'

export interface KmsClientSessionOptions {
  /** Offer NDR64 (ctx 1) in the bind. Default true. */
  offerNdr64?: boolean
  /** Offer bind-time feature negotiation. Default true. */
  offerBtfn?: boolean
  /** Set CONC_MPX in bind/alter_context flags (0x13, like vlmcs); false sends 0x03 (vlmcs -p). Default true. */
  multiplex?: boolean
  /** Send later requests on the NDR64 context when it was accepted. Default true. */
  ndr64AfterFirst?: boolean
  maxXmitFrag?: number
  maxRecvFrag?: number
  /** call_id of the bind, alter_context and first request. Default 2. */
  firstCallId?: number
}

export type ClientSessionState = 'idle' | 'binding' | 'altering' | 'ready' | 'awaiting-response' | 'failed'

export type ClientSessionError =
  | { kind: 'bind-rejected'; reason: 'bind_nak' | 'all-contexts-rejected'; message: string; results: ContextResult[] | undefined }
  | { kind: 'rpc-fault'; status: number; statusText: string; message: string }
  | { kind: 'protocol-violation'; field: string; offset: number; message: string }

export interface BoundInfo {
  /** context and syntax of the first request */
  contextId: number
  syntax: NdrSyntax
  /** the NDR64 context id if NDR64 was accepted */
  ndr64ContextId: number | undefined
  /** BTFN features the host acknowledged */
  btfnFeatures: number | undefined
  assocGroupId: number
  /** sec_addr port text from the bind_ack */
  secondaryAddress: string
  /** whether an alter_context was needed */
  altered: boolean
}

export type ClientStep =
  | { kind: 'send'; pdu: Uint8Array }
  | { kind: 'bound'; info: BoundInfo }
  | { kind: 'result'; outcome: KmsCallOutcome }
  | { kind: 'failed'; error: ClientSessionError }

interface Offer {
  contextId: number
  syntax: NdrSyntax | 'btfn'
  element: ContextElement
}

export class KmsClientSession {
  private readonly opts: Required<KmsClientSessionOptions>
  private sessionState: ClientSessionState = 'idle'
  private offers: Offer[] = []
  private nextCallId: number
  private requestsSent = 0
  private ndr32Ctx: number | undefined
  private ndr64Ctx: number | undefined
  private btfnAck: number | undefined
  private assocGroupId = 0
  private secAddr = ''
  private pending: PendingCall | undefined
  private bindCallId: number

  constructor(options: KmsClientSessionOptions = {}) {
    this.opts = {
      offerNdr64: options.offerNdr64 ?? true,
      offerBtfn: options.offerBtfn ?? true,
      multiplex: options.multiplex ?? true,
      ndr64AfterFirst: options.ndr64AfterFirst ?? true,
      maxXmitFrag: options.maxXmitFrag ?? DEFAULT_MAX_FRAG,
      maxRecvFrag: options.maxRecvFrag ?? DEFAULT_MAX_FRAG,
      firstCallId: options.firstCallId ?? 2
    }
    this.nextCallId = this.opts.firstCallId
    this.bindCallId = this.opts.firstCallId
  }

  get state(): ClientSessionState {
    return this.sessionState
  }

  /** The bind PDU that opens the conversation. */
  bind(): Uint8Array {
    if (this.sessionState !== 'idle') throw new Error(`bind() in state ${this.sessionState}`)
    const offers: Offer[] = [{ contextId: 0, syntax: 'ndr32', element: kmsContext(0, NDR32) }]
    if (this.opts.offerNdr64) offers.push({ contextId: offers.length, syntax: 'ndr64', element: kmsContext(offers.length, NDR64) })
    if (this.opts.offerBtfn) {
      offers.push({ contextId: offers.length, syntax: 'btfn', element: kmsContext(offers.length, btfnSyntax(BTFN_FEATURES_DEFAULT)) })
    }
    this.offers = offers
    this.sessionState = 'binding'
    return encodePdu(
      this.bindPdu(
        PTYPE.bind,
        offers.map((o) => o.element)
      )
    )
  }

  private bindPdu(ptype: BindPdu['ptype'], contexts: ContextElement[]): BindPdu {
    const flags = PFC_FIRST_LAST | (this.opts.multiplex ? PFC.concMpx : 0)
    return {
      ...rpcCommon(this.bindCallId, flags),
      ptype,
      maxXmitFrag: this.opts.maxXmitFrag,
      maxRecvFrag: this.opts.maxRecvFrag,
      assocGroupId: 0,
      reserved: 0,
      contexts,
      trailer: new Uint8Array(0)
    }
  }

  /**
   * Builds the next request PDU for `base` (protocol = base.majorVer) with the injected random (V5/V6 IV).
   * Only valid in state `ready`.
   */
  request(base: BaseRequest, random: RandomSource): Uint8Array {
    if (this.sessionState !== 'ready') throw new Error(`request() in state ${this.sessionState}`)
    const useNdr64 = this.ndr32Ctx === undefined || (this.requestsSent > 0 && this.opts.ndr64AfterFirst && this.ndr64Ctx !== undefined)
    const contextId = useNdr64 ? this.ndr64Ctx! : this.ndr32Ctx!
    const syntax: NdrSyntax = useNdr64 ? 'ndr64' : 'ndr32'
    const built: BuiltKmsRequest = buildKmsRequest(base, random)
    const stub = encodeRequestStub(built.bytes, syntax)
    const callId = this.nextCallId
    const pdu = encodePdu({
      ...rpcCommon(callId),
      ptype: PTYPE.request,
      allocHint: stub.byteLength,
      contextId,
      opnum: 0,
      objectUuid: undefined,
      stub
    })
    this.nextCallId = (this.nextCallId + 1) >>> 0
    this.requestsSent++
    this.pending = { callId, contextId, syntax, request: built }
    this.sessionState = 'awaiting-response'
    return pdu
  }

  /** Feeds one whole PDU from the host (use PduFramer to split the stream). */
  receive(pdu: Uint8Array): ClientStep {
    switch (this.sessionState) {
      case 'binding':
        return this.onBindReply(pdu)
      case 'altering':
        return this.onAlterReply(pdu)
      case 'awaiting-response': {
        const call = this.pending!
        this.pending = undefined
        const outcome = verifyResponsePdu(pdu, call)
        this.sessionState = outcome.kind === 'protocol-violation' ? 'failed' : 'ready'
        return { kind: 'result', outcome }
      }
      default:
        return this.fail({
          kind: 'protocol-violation',
          field: 'PTYPE',
          offset: 2,
          message: `unexpected PDU from the host while ${this.sessionState === 'ready' ? 'no call is pending' : `in state ${this.sessionState}`}`
        })
    }
  }

  private fail(error: ClientSessionError): ClientStep {
    this.sessionState = 'failed'
    return { kind: 'failed', error }
  }

  private decodeReply(pdu: Uint8Array): RpcPdu | ClientStep {
    try {
      checkRpcHeader(decodeRpcHeader(pdu), MAX_CLIENT_PDU_LENGTH)
      return decodePdu(pdu)
    } catch (err) {
      if (err instanceof ProtocolDecodeError)
        return this.fail({ kind: 'protocol-violation', field: err.field, offset: err.offset, message: err.message })
      throw err
    }
  }

  /** Common handling of bind_nak, fault and unexpected PDUs while binding. */
  private bindReplyOf(pdu: Uint8Array, want: BindAckPdu['ptype']): BindAckPdu | ClientStep {
    const d = this.decodeReply(pdu)
    if ('kind' in d) return d
    if (d.ptype === PTYPE.bindNak) {
      return this.fail({
        kind: 'bind-rejected',
        reason: 'bind_nak',
        message: `RPC bind failed: host sent bind_nak (reason ${d.rejectReason})`,
        results: undefined
      })
    }
    if (d.ptype === PTYPE.fault) {
      const statusText = formatHresult(d.status)
      const name = ncaStatusName(d.status)
      return this.fail({ kind: 'rpc-fault', status: d.status, statusText, message: `RPC fault ${statusText}${name ? `: ${name}` : ''}` })
    }
    if (d.ptype !== want) {
      return this.fail({
        kind: 'protocol-violation',
        field: 'PTYPE',
        offset: 2,
        message: `PTYPE at offset 2: expected PDU type ${want}, got ${d.ptype}`
      })
    }
    if (d.callId !== this.bindCallId) {
      return this.fail({
        kind: 'protocol-violation',
        field: 'call_id',
        offset: 12,
        message: `call_id at offset 12: ${d.callId} differs from the bind's ${this.bindCallId}`
      })
    }
    return d
  }

  private onBindReply(pdu: Uint8Array): ClientStep {
    const ack = this.bindReplyOf(pdu, PTYPE.bindAck)
    if ('kind' in ack) return ack
    if (ack.results.length !== this.offers.length) {
      return this.fail({
        kind: 'protocol-violation',
        field: 'n_results',
        offset: 26 + ack.secAddr.byteLength + ack.secAddrPad.byteLength,
        message: `bind_ack has ${ack.results.length} result(s) for ${this.offers.length} offered context(s)`
      })
    }
    this.assocGroupId = ack.assocGroupId
    let secAddr = ''
    for (const b of ack.secAddr) {
      if (b === 0) break
      secAddr += String.fromCharCode(b)
    }
    this.secAddr = secAddr
    for (let i = 0; i < this.offers.length; i++) {
      const offer = this.offers[i]!
      const res = ack.results[i]!
      if (offer.syntax === 'btfn') {
        if (res.result === CONTEXT_RESULT.negotiateAck) this.btfnAck = res.reason
        continue
      }
      if (res.result !== CONTEXT_RESULT.acceptance) continue
      const expected = offer.syntax === 'ndr32' ? NDR32 : NDR64
      if (!sameSyntax(res.transferSyntax, expected)) {
        return this.fail({
          kind: 'protocol-violation',
          field: `p_results[${i}].transfer_syntax`,
          offset: 0,
          message: `bind_ack accepted context ${offer.contextId} with transfer syntax ${res.transferSyntax.uuid} v${res.transferSyntax.version}, which was not offered for it`
        })
      }
      if (offer.syntax === 'ndr32') this.ndr32Ctx = offer.contextId
      else this.ndr64Ctx = offer.contextId
    }
    if (this.ndr32Ctx !== undefined) return this.bound(false)
    if (this.ndr64Ctx === undefined) {
      return this.fail({
        kind: 'bind-rejected',
        reason: 'all-contexts-rejected',
        message: 'RPC bind failed: host does not speak the KMS interface (every context rejected)',
        results: ack.results
      })
    }
    this.sessionState = 'altering'
    return { kind: 'send', pdu: encodePdu(this.bindPdu(PTYPE.alterContext, [kmsContext(0, NDR32)])) }
  }

  private onAlterReply(pdu: Uint8Array): ClientStep {
    const resp = this.bindReplyOf(pdu, PTYPE.alterContextResp)
    if ('kind' in resp) return resp
    if (resp.results.length !== 1) {
      return this.fail({
        kind: 'protocol-violation',
        field: 'n_results',
        offset: 26 + resp.secAddr.byteLength + resp.secAddrPad.byteLength,
        message: `alter_context_resp has ${resp.results.length} results for 1 context`
      })
    }
    const res = resp.results[0]!
    if (res.result === CONTEXT_RESULT.acceptance && sameSyntax(res.transferSyntax, NDR32)) this.ndr32Ctx = 0
    // Otherwise keep going on the NDR64 context the bind accepted.
    return this.bound(true)
  }

  private bound(altered: boolean): ClientStep {
    this.sessionState = 'ready'
    const first = this.ndr32Ctx ?? this.ndr64Ctx!
    return {
      kind: 'bound',
      info: {
        contextId: first,
        syntax: this.ndr32Ctx !== undefined ? 'ndr32' : 'ndr64',
        ndr64ContextId: this.ndr64Ctx,
        btfnFeatures: this.btfnAck,
        assocGroupId: this.assocGroupId,
        secondaryAddress: this.secAddr,
        altered
      }
    }
  }
}
