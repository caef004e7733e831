/**
 * KmsHostSession: the host side of one TCP connection as a pure state machine. Feed it one whole PDU at a time
 * (split the stream with PduFramer); it answers binds itself and hands valid KMS requests to the embedding
 * server as a `call`, which the server answers later with `answer()` — so a lab host can log the request (and
 * count CMIDs) before it replies.
 *
 *   step = host.receive(pdu)
 *     { kind: 'reply', reply }          write `reply` (bind_ack, alter_context_resp, fault, HRESULT response)
 *     { kind: 'close', reason }         close the connection without replying
 *     { kind: 'call', call }            a valid KMS request: decide, then write host.answer(call, answer, random)
 *
 * How it answers presentation contexts, compared with the captured host (vlmcsd with NDR64 enabled;
 * docs/protocol.md §2.3.2):
 * - NDR64 preferred (default `ndr64: true`): if any item of a bind/alter_context offers NDR64, every NDR32 item
 *   of that PDU is rejected (2, 2) and the NDR64 items naming the KMS interface are accepted — the captured
 *   bind_ack byte for byte. A PDU without an NDR64 item gets its NDR32 item accepted, so the vlmcs/Windows
 *   alter_context for NDR32 succeeds (captured alter_context_resp, except that we send zero pad bytes where
 *   vlmcsd leaves junk). With `ndr64: false` NDR32 is accepted and NDR64 rejected (2, 2), like py-kms and vlmcsd -N0.
 * - BTFN gets negotiate_ack (3) with reason = requested bits & 0x3 and a nil syntax, like vlmcsd (also without
 *   checking the interface); with `btfn: false` it is rejected (2, 2).
 * - Any item naming another interface is rejected (2, 1); an unknown transfer syntax (2, 2).
 * Where we deliberately differ from vlmcsd (the [R] rows of docs/protocol.md §2.7/§2.8): we remember which context ids
 * were ACCEPTED and fault requests on any other (0x1C010003; vlmcsd answers on rejected NDR32 ids); opnum ≠ 0 →
 * fault 0x1C010002 (vlmcsd ignores it); faults copy call_id and p_cont_id with alloc_hint 0 and cancel_count 0
 * (vlmcsd sends call_id 2 and junk); responses always carry flags 0x03 (vlmcsd copies the request's); the bind_ack
 * copies only the CONC_MPX bit of the bind's flags (vlmcsd copies the byte, which is the same for 0x13/0x03) and the
 * alter_context_resp carries 0x03 (as captured);
 * auth_length ≠ 0, RPC version ≠ 5.0, drep ≠ 10 00 00 00, fragments without FIRST|LAST, frag_length above the
 * limit and PDU types other than bind/alter_context/request close the connection; KMS payloads that are too
 * short, of an unsupported version, minor ≠ 0, with a bad pad or inner ≠ outer version (and, by default, a bad
 * V4 MAC) get the HRESULT 0x8007000D error response (docs/protocol.md §8.1).
 */
import { Buffer } from 'node:buffer'
import { copyBytes } from '../bytes'
import { ProtocolDecodeError, ProtocolEncodeError } from '../errors'
import { HRESULT } from '../kms/hresult'
import { parseKmsRequest, type KmsRequestProblem, type ParsedKmsRequest } from '../kms/request'
import { buildKmsResponse, type HostAnswer } from '../kms/response'
import type { RandomSource } from '../random'
import {
  CONTEXT_RESULT,
  DREP_LE_ASCII_IEEE,
  MAX_KMS_PDU_LENGTH,
  NCA_STATUS,
  PFC,
  PFC_FIRST_LAST,
  PTYPE,
  REJECT_REASON,
  RPC_HEADER_LENGTH
} from '../rpc/constants'
import { checkRpcHeader, decodeRpcHeader } from '../rpc/header'
import { decodeRequestStub, encodeResponseStub, errorStub, payloadStub, type NdrSyntax, type ResponseStub } from '../rpc/ndr'
import { decodePdu, encodePdu, portSpecBytes, rpcCommon, type BindPdu, type ContextResult, type RequestPdu } from '../rpc/pdu'
import { btfnFeatures, isKmsInterface, NDR32, NDR64, NIL_SYNTAX, transferSyntaxKind } from '../rpc/syntax'

export interface KmsHostSessionOptions {
  /** sec_addr port text for bind_acks, e.g. "1688" (vlmcsd uses the local port of the accepted socket). */
  portSpec: string
  /** assoc_group_id for bind_ack / alter_context_resp (vlmcsd: random per process, +1 per connection). */
  assocGroupId: number
  /** Prefer NDR64 like the captured host (Windows-like). Default true. */
  ndr64?: boolean
  /** Answer BTFN with negotiate_ack. Default true. */
  btfn?: boolean
  /** Refuse V4 requests with a wrong MAC (HRESULT 0x8007000D). Default true. */
  rejectInvalidV4Mac?: boolean
  /** Close on PDUs longer than this. Default 300 (the largest legitimate KMS PDU). */
  maxPduLength?: number
  /**
   * Answers to binds already seen, shared by the sessions of one host: every client of a kind sends the same bind
   * bytes, and decoding them and encoding the bind_ack was a visible share of a lab host's time per connection.
   */
  bindCache?: BindReplyCache
}

/** A bind (or alter_context) answered before: the reply bytes and the contexts it accepted. */
interface CachedBind {
  reply: Uint8Array
  accepted: ReadonlyArray<readonly [number, NdrSyntax]>
}

/** Offset of assoc_group_id in bind_ack and alter_context_resp, the one field that differs per connection. */
const ASSOC_GROUP_ID_OFFSET = 20

/**
 * Bind answers by the exact bytes of the bind and the session's port text, bounded (cleared when full: a flood of
 * distinct binds costs what it would without the cache). Only answers with a reply are kept; a bind that closes
 * the connection is decoded every time.
 */
export class BindReplyCache {
  private readonly entries = new Map<string, CachedBind>()

  constructor(readonly maxEntries = 64) {}

  get size(): number {
    return this.entries.size
  }

  /** @internal */
  get(key: string): CachedBind | undefined {
    return this.entries.get(key)
  }

  /** @internal */
  set(key: string, value: CachedBind): void {
    if (this.entries.size >= this.maxEntries) this.entries.clear()
    this.entries.set(key, value)
  }
}

/** A valid KMS request waiting for the embedding host's decision. */
export interface KmsCall {
  callId: number
  contextId: number
  syntax: NdrSyntax
  request: ParsedKmsRequest
}

export type KmsRefusalProblem = KmsRequestProblem | 'ndr'

export type HostStep =
  | {
      kind: 'reply'
      reply: Uint8Array
      /** set when the reply is an HRESULT error response to a KMS request we refused */
      refused?: { problem: KmsRefusalProblem; reason: string; hresult: number; callId: number; contextId: number }
      /** set when the reply is a fault */
      fault?: { status: number; reason: string }
    }
  | { kind: 'close'; reason: string }
  | { kind: 'call'; call: KmsCall }

export class KmsHostSession {
  private readonly opts: Required<Omit<KmsHostSessionOptions, 'bindCache'>>
  private readonly bindCache: BindReplyCache | undefined
  private readonly secAddr: Uint8Array
  /** context ids we ACCEPTED, with their syntax */
  private readonly contexts = new Map<number, NdrSyntax>()

  constructor(options: KmsHostSessionOptions) {
    this.opts = {
      portSpec: options.portSpec,
      assocGroupId: options.assocGroupId,
      ndr64: options.ndr64 ?? true,
      btfn: options.btfn ?? true,
      rejectInvalidV4Mac: options.rejectInvalidV4Mac ?? true,
      maxPduLength: options.maxPduLength ?? MAX_KMS_PDU_LENGTH
    }
    this.secAddr = portSpecBytes(options.portSpec)
    this.bindCache = options.bindCache
  }

  /** Accepted presentation contexts (id → syntax), for diagnostics. */
  get acceptedContexts(): ReadonlyMap<number, NdrSyntax> {
    return this.contexts
  }

  receive(pdu: Uint8Array): HostStep {
    let cacheKey: string | undefined
    let pduValue
    try {
      const h = decodeRpcHeader(pdu)
      checkRpcHeader(h, this.opts.maxPduLength)
      if (h.fragLength !== pdu.byteLength) return close(`frag_length ${h.fragLength} does not match the PDU size ${pdu.byteLength}`)
      if (h.authLength !== 0) return close(`auth_length ${h.authLength}: KMS uses no RPC authentication`)
      if ((h.pfcFlags & PFC_FIRST_LAST) !== PFC_FIRST_LAST)
        return close(`fragmented PDU (pfc_flags 0x${h.pfcFlags.toString(16)}) is not supported`)
      if (h.ptype !== PTYPE.bind && h.ptype !== PTYPE.alterContext && h.ptype !== PTYPE.request) {
        return close(`PDU type ${h.ptype} is not one a KMS client sends`)
      }
      if (this.bindCache && h.ptype !== PTYPE.request) {
        cacheKey = `${this.opts.portSpec}\u0000${Buffer.from(pdu.buffer, pdu.byteOffset, pdu.byteLength).toString('latin1')}`
        const hit = this.bindCache.get(cacheKey)
        if (hit) return this.replayBind(hit)
      }
      pduValue = decodePdu(pdu, h)
    } catch (err) {
      if (err instanceof ProtocolDecodeError) return close(err.message)
      throw err
    }
    if (pduValue.ptype === PTYPE.request) return this.onRequest(pduValue)
    if (pduValue.ptype === PTYPE.bind || pduValue.ptype === PTYPE.alterContext) return this.onBind(pduValue, cacheKey)
    return close(`PDU type ${pduValue.ptype} is not one a KMS client sends`)
  }

  private replayBind(hit: CachedBind): HostStep {
    for (const [contextId, syntax] of hit.accepted) this.contexts.set(contextId, syntax)
    const reply = copyBytes(hit.reply)
    new DataView(reply.buffer, reply.byteOffset, reply.byteLength).setUint32(ASSOC_GROUP_ID_OFFSET, this.opts.assocGroupId >>> 0, true)
    return { kind: 'reply', reply }
  }

  private onBind(bind: BindPdu, cacheKey: string | undefined): HostStep {
    const accepted: [number, NdrSyntax][] = []
    const ndr64InPdu = this.opts.ndr64 && bind.contexts.some((c) => c.transferSyntaxes.some((t) => transferSyntaxKind(t) === 'ndr64'))
    const results: ContextResult[] = bind.contexts.map((c) => {
      const ifaceOk = isKmsInterface(c.abstractSyntax)
      for (const t of c.transferSyntaxes) {
        const kind = transferSyntaxKind(t)
        if (kind === 'btfn' && this.opts.btfn) {
          return { result: CONTEXT_RESULT.negotiateAck, reason: Number(btfnFeatures(t.uuid) & 0x3n), transferSyntax: NIL_SYNTAX }
        }
        if (!ifaceOk) continue
        if (kind === 'ndr64' && this.opts.ndr64) {
          accepted.push([c.contextId, 'ndr64'])
          return { result: CONTEXT_RESULT.acceptance, reason: 0, transferSyntax: NDR64 }
        }
        if (kind === 'ndr32' && !ndr64InPdu) {
          accepted.push([c.contextId, 'ndr32'])
          return { result: CONTEXT_RESULT.acceptance, reason: 0, transferSyntax: NDR32 }
        }
      }
      return {
        result: CONTEXT_RESULT.providerRejection,
        reason: ifaceOk ? REJECT_REASON.proposedTransferSyntaxesNotSupported : REJECT_REASON.abstractSyntaxNotSupported,
        transferSyntax: NIL_SYNTAX
      }
    })
    const isBind = bind.ptype === PTYPE.bind
    const reply = encodePdu({
      // bind_ack: CONC_MPX copied from the bind (vlmcs warns when it differs); alter_context_resp: 0x03 (captured).
      ...rpcCommon(bind.callId, isBind ? PFC_FIRST_LAST | (bind.pfcFlags & PFC.concMpx) : PFC_FIRST_LAST),
      ptype: isBind ? PTYPE.bindAck : PTYPE.alterContextResp,
      maxXmitFrag: bind.maxXmitFrag,
      maxRecvFrag: bind.maxRecvFrag,
      assocGroupId: this.opts.assocGroupId,
      secAddr: isBind ? this.secAddr : new Uint8Array(0),
      secAddrPad: new Uint8Array(0),
      reserved: 0,
      results,
      trailer: new Uint8Array(0)
    })
    for (const [contextId, syntax] of accepted) this.contexts.set(contextId, syntax)
    if (cacheKey !== undefined) this.bindCache?.set(cacheKey, { reply: copyBytes(reply), accepted })
    return { kind: 'reply', reply }
  }

  private onRequest(req: RequestPdu): HostStep {
    const syntax = this.contexts.get(req.contextId)
    if (syntax === undefined) {
      return this.fault(req, NCA_STATUS.unknownInterface, `request on presentation context ${req.contextId}, which was not accepted`)
    }
    if (req.opnum !== 0) return this.fault(req, NCA_STATUS.opRangeError, `opnum ${req.opnum}: the KMS interface has only operation 0`)
    const stubBase = RPC_HEADER_LENGTH + 8 + (req.objectUuid !== undefined ? 16 : 0)
    let kmsBytes: Uint8Array
    try {
      kmsBytes = decodeRequestStub(req.stub, syntax, stubBase).kmsRequest
    } catch (err) {
      if (!(err instanceof ProtocolDecodeError)) throw err
      return this.refuse(req, syntax, 'ndr', err.message)
    }
    const parsed = parseKmsRequest(kmsBytes, { rejectInvalidV4Mac: this.opts.rejectInvalidV4Mac })
    if (!parsed.ok) return this.refuse(req, syntax, parsed.problem, parsed.reason)
    return { kind: 'call', call: { callId: req.callId, contextId: req.contextId, syntax, request: parsed.request } }
  }

  private refuse(req: RequestPdu, syntax: NdrSyntax, problem: KmsRefusalProblem, reason: string): HostStep {
    return {
      kind: 'reply',
      reply: responsePdu(req.callId, req.contextId, errorStub(HRESULT.invalidData), syntax),
      refused: { problem, reason, hresult: HRESULT.invalidData, callId: req.callId, contextId: req.contextId }
    }
  }

  private fault(req: RequestPdu, status: number, reason: string): HostStep {
    const reply = encodePdu({
      ...rpcCommon(req.callId, PFC_FIRST_LAST | PFC.didNotExecute),
      ptype: PTYPE.fault,
      allocHint: 0,
      contextId: req.contextId,
      cancelCount: 0,
      reserved: 0,
      status,
      reserved2: 0,
      trailer: new Uint8Array(0)
    })
    return { kind: 'reply', reply, fault: { status, reason } }
  }

  /**
   * The response PDU for an accepted call (docs/protocol.md §7.4): `answer` supplies ePID, HwId (V6), Count and
   * intervals; `random` the V5/V6 randomness. Throws ProtocolEncodeError for an answer the format cannot carry.
   */
  answer(call: KmsCall, answer: HostAnswer, random: RandomSource): Uint8Array {
    const kms = buildKmsResponse(call.request, answer, random)
    return responsePdu(call.callId, call.contextId, payloadStub(kms), call.syntax)
  }

  /** Refuses an accepted call with an HRESULT (e.g. 0xC004F042 for a KMS ID the lab host does not serve). */
  answerError(call: KmsCall, hresult: number): Uint8Array {
    if (hresult === 0) throw new ProtocolEncodeError('HRESULT', 'an error response needs a non-zero HRESULT')
    return responsePdu(call.callId, call.contextId, errorStub(hresult >>> 0), call.syntax)
  }
}

function close(reason: string): HostStep {
  return { kind: 'close', reason }
}

function responsePdu(callId: number, contextId: number, stubValue: ResponseStub, syntax: NdrSyntax): Uint8Array {
  const stub = encodeResponseStub(stubValue, syntax)
  // Fields spelled out (no `...rpcCommon()` spread): this is the hot path of a host, and spreads are slow on Node 20.
  return encodePdu({
    rpcVers: 5,
    rpcVersMinor: 0,
    pfcFlags: PFC_FIRST_LAST,
    drep: DREP_LE_ASCII_IEEE,
    authLength: 0,
    callId,
    ptype: PTYPE.response,
    allocHint: stub.byteLength,
    contextId,
    cancelCount: 0,
    reserved: 0,
    stub
  })
}
