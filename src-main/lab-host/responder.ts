/**
 * The lab host's decisions for one KMS call, shared by all connections of a process: whether its host key serves the
 * product (else 0xC004F042), which ePID, HwId, Count and intervals to answer with, the client-log record, and the
 * counters/events that go with it.
 *
 * Order of work per request (durability, docs/lab-host.md): the record goes to the ledger (ledger.ts),
 * which counts the client and commits the row → only then is the reply built, with the Count the ledger decided,
 * and handed to the connection. A request the log could not store is never acknowledged: the promise rejects with
 * LogWriteError and the connection is closed without a reply.
 */
import type { ClientLogEntryInput } from '../storage/client-log'
import {
  HRESULT,
  NIL_GUID,
  ProtocolEncodeError,
  type BaseRequest,
  type KmsCall,
  type KmsHostSession,
  type NdrSyntax,
  type ProductCatalog,
  type RandomSource
} from '../protocol/index'
import { MAX_REQUIRED_CLIENT_COUNT } from './count'
import { HostKeyRing } from './host-keys'
import type { LabHostCounters, LabHostEmitter, LabHostProtocolKey } from './events'
import type { LabHostIdentity } from './identity'
import { LogWriteError, type CatalogNames, type LabHostLedger } from './ledger'
import { readRefusedRequest } from './refusal'

export { LogWriteError } from './ledger'

export interface ResponderOptions {
  ledger: LabHostLedger
  /** product names by GUID, shared with the ledger */
  names: CatalogNames
  identity: LabHostIdentity
  catalog: ProductCatalog
  activationInterval: number
  renewalInterval: number
  random: RandomSource
  /** epoch ms */
  now: () => number
  emitter: LabHostEmitter
  counters: LabHostCounters
}

/** What a refusal step of KmsHostSession carries. */
export interface RefusalInfo {
  reason: string
  hresult: number
  contextId: number
}

function protocolKey(major: number): LabHostProtocolKey {
  return major === 4 ? 'v4' : major === 5 ? 'v5' : major === 6 ? 'v6' : 'other'
}

export class LabHostResponder {
  /** the keys the host holds and what they serve */
  readonly keys: HostKeyRing

  constructor(private readonly o: ResponderOptions) {
    this.keys = new HostKeyRing(o.identity.keys, o.catalog)
  }

  /**
   * Answers an accepted call (`arrivedAt`: performance.now() when its PDU arrived). Resolves with the reply PDU
   * once the request is in the client log; rejects with LogWriteError otherwise.
   */
  answer(call: KmsCall, session: KmsHostSession, clientAddress: string, arrivedAt: number): Promise<Uint8Array> {
    const o = this.o
    const base = call.request.base
    const major = call.request.protocol
    const nowMs = o.now()
    if (base.nPolicy > MAX_REQUIRED_CLIENT_COUNT) {
      const entry = this.entry(base, major, base.minorVer, clientAddress, nowMs, HRESULT.invalidData)
      return this.store(entry, false, call.syntax, null, `N_Policy ${base.nPolicy} exceeds ${MAX_REQUIRED_CLIENT_COUNT}`, arrivedAt).then(
        () => session.answerError(call, HRESULT.invalidData)
      )
    }
    // A real host serves only the products its key covers; anything else gets 0xC004F042 (docs/lab-host.md).
    const decision = this.keys.decide(base.appId, base.kmsId)
    if (!decision.serve) {
      const entry = this.entry(base, major, base.minorVer, clientAddress, nowMs, decision.hresult)
      return this.store(entry, false, call.syntax, null, decision.reason, arrivedAt).then(() => session.answerError(call, decision.hresult))
    }
    const epid = decision.key.epid
    return this.store(this.entry(base, major, base.minorVer, clientAddress, nowMs, null), true, call.syntax, epid, null, arrivedAt).then(
      (count) => {
        const answer = {
          epid,
          hwid: o.identity.hwid,
          count: count ?? 0,
          activationInterval: o.activationInterval,
          renewalInterval: o.renewalInterval
        }
        try {
          return session.answer(call, answer, o.random)
        } catch (err) {
          // Only an answer the format cannot carry gets here (the identity is validated at start): refuse, don't crash.
          if (!(err instanceof ProtocolEncodeError)) throw err
          o.emitter.emit('error', {
            scope: 'connection',
            remoteAddress: clientAddress,
            message: `the response could not be built (${err.message}); answered 0x8007000D instead`
          })
          return session.answerError(call, HRESULT.invalidData)
        }
      }
    )
  }

  /**
   * A request the session refused with an HRESULT (`reply` is that error response). Logged when the request's
   * fields could be read (see lab-host-refusal); resolves with the reply to send.
   */
  refusal(
    pdu: Uint8Array,
    reply: Uint8Array,
    info: RefusalInfo,
    syntax: NdrSyntax | undefined,
    clientAddress: string,
    arrivedAt: number
  ): Uint8Array | Promise<Uint8Array> {
    const o = this.o
    const read = readRefusedRequest(pdu, syntax)
    if (read?.base === undefined || syntax === undefined) {
      o.counters.requests[protocolKey(read?.major ?? -1)].refused++
      o.emitter.emit('request-rejected', { clientAddress, kind: 'refused', status: info.hresult >>> 0, reason: info.reason })
      return reply
    }
    const entry = this.entry(read.base, read.major, read.minor, clientAddress, o.now(), info.hresult >>> 0)
    return this.store(entry, false, syntax, null, info.reason, arrivedAt).then(() => reply)
  }

  /** A request PDU answered with an RPC fault (wrong context or opnum): counted and reported, not logged. */
  fault(status: number, reason: string, clientAddress: string): void {
    this.o.counters.faults++
    if (this.o.emitter.has('request-rejected'))
      this.o.emitter.emit('request-rejected', { clientAddress, kind: 'fault', status: status >>> 0, reason })
  }

  /** Hands a record to the ledger; the request counters follow what the ledger stored. */
  private store(
    entry: ClientLogEntryInput,
    counted: boolean,
    syntax: NdrSyntax,
    epid: string | null,
    reason: string | null,
    arrivedAt: number
  ): Promise<number | null> {
    const bucket = this.o.counters.requests[protocolKey(entry.protocolMajor ?? -1)]
    return this.o.ledger.store({ entry, counted, syntax, epid, reason, arrivedAtMs: performance.timeOrigin + arrivedAt }).then(
      (count) => {
        if (entry.hresult === null) bucket.ok++
        else bucket.refused++
        return count
      },
      (err: unknown) => {
        this.o.counters.logFailures++
        throw err instanceof LogWriteError ? err : new LogWriteError(err)
      }
    )
  }

  private entry(
    base: BaseRequest,
    major: number,
    minor: number,
    clientAddress: string,
    nowMs: number,
    hresult: number | null
  ): ClientLogEntryInput {
    return {
      timeMs: nowMs,
      clientAddress,
      cmid: base.cmid,
      previousCmid: base.cmidPrev === NIL_GUID ? null : base.cmidPrev,
      workstationName: base.workstationName,
      applicationId: base.appId,
      skuId: base.actId,
      productName: this.o.names.sku.get(base.actId) ?? null,
      kmsCountedId: base.kmsId,
      protocolMajor: major,
      protocolMinor: minor,
      requiredClientCount: base.nPolicy,
      licenseStatus: base.licenseStatus,
      countReturned: null,
      outcome: hresult === null ? 'ok' : 'error',
      hresult
    }
  }
}
