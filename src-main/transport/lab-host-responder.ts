/**
 * The lab host's decisions for one KMS call, shared by all connections: which ePID, HwId, Count and intervals to
 * answer with, the client-log record, and the counters/events that go with it.
 *
 * Order of work per request (durability, docs/lab-host.md): count (synchronously, then record() in the same turn,
 * so concurrent clients each see the others) → build the reply → `await record()` → only then hand the reply to
 * the connection. A request the log could not store is never acknowledged: the promise rejects and the
 * connection is closed without a reply.
 */
import type { ClientLog, ClientLogEntryInput } from '../storage/client-log'
import {
  HRESULT,
  NIL_GUID,
  ProtocolEncodeError,
  type BaseRequest,
  type HostAnswer,
  type KmsCall,
  type KmsHostSession,
  type NdrSyntax,
  type ProductCatalog,
  type RandomSource
} from '../protocol/index'
import type { CountPolicy } from './lab-host-count'
import { MAX_REQUIRED_CLIENT_COUNT } from './lab-host-count'
import type { LabHostCounters, LabHostEmitter, LabHostExchange, LabHostProtocolKey } from './lab-host-events'
import type { LabHostIdentity } from './lab-host-identity'
import { readRefusedRequest } from './lab-host-refusal'

export interface ResponderOptions {
  log: ClientLog
  policy: CountPolicy
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

/** Thrown (as a rejection) when the client log did not store a request; the caller closes without replying. */
export class LogWriteError extends Error {
  override name = 'LogWriteError'
  constructor(override readonly cause: unknown) {
    super(`the client log could not store the request: ${cause instanceof Error ? cause.message : String(cause)}`)
  }
}

export function protocolKey(major: number): LabHostProtocolKey {
  return major === 4 ? 'v4' : major === 5 ? 'v5' : major === 6 ? 'v6' : 'other'
}

export class LabHostResponder {
  private readonly fallbackEpid: string
  /**
   * Per-request lookups by the canonical lower-case GUID text the protocol layer decodes (catalog lookups normalise
   * with a regex each time, which showed in host profiles). Built once from the catalog; unknown GUIDs miss.
   */
  private readonly epidByKmsId = new Map<string, string>()
  private readonly skuName = new Map<string, string>()
  private readonly kmsName = new Map<string, string>()
  private readonly appName = new Map<string, string>()

  constructor(private readonly o: ResponderOptions) {
    const epidByGroup = new Map(Object.entries(o.identity.epids))
    // Unknown KMS IDs answer with the Windows group's ePID, like vlmcsd (§9.2; the catalog's group 0).
    const fallback = epidByGroup.get(o.catalog.csvlkForKmsCountedId('00000000-0000-0000-0000-000000000000').iniName) ?? [...epidByGroup.values()][0]
    if (fallback === undefined) throw new Error('the lab host identity has no ePID')
    this.fallbackEpid = fallback
    for (const k of o.catalog.kmsCountedIds) {
      const id = k.guid.toLowerCase()
      this.epidByKmsId.set(id, epidByGroup.get(o.catalog.csvlkForKmsCountedId(id).iniName) ?? fallback)
      this.kmsName.set(id, k.name)
    }
    for (const s of o.catalog.skus) this.skuName.set(s.guid.toLowerCase(), s.name)
    for (const a of o.catalog.applications) this.appName.set(a.guid.toLowerCase(), a.name)
  }

  /** The ePID answered for a KMS counted ID: that of its CSVLK group (unknown KMS IDs: the Windows group, §9.2). */
  epidFor(kmsCountedId: string): string {
    return this.epidByKmsId.get(kmsCountedId) ?? this.epidByKmsId.get(kmsCountedId.toLowerCase()) ?? this.fallbackEpid
  }

  /**
   * Answers an accepted call. Resolves with the reply PDU once the request is in the client log; rejects with
   * LogWriteError otherwise.
   */
  answer(call: KmsCall, session: KmsHostSession, clientAddress: string, startedAt: number): Promise<Uint8Array> {
    const o = this.o
    const base = call.request.base
    const nowMs = o.now()
    const major = call.request.protocol
    let reply: Uint8Array
    let count: number | null = null
    let epid: string | null = null
    let refusal: string | null = null
    if (base.nPolicy > MAX_REQUIRED_CLIENT_COUNT) {
      refusal = `N_Policy ${base.nPolicy} exceeds ${MAX_REQUIRED_CLIENT_COUNT}`
      reply = session.answerError(call, HRESULT.invalidData)
    } else {
      count = o.policy.countFor(base.kmsId, base.cmid, base.nPolicy, nowMs)
      epid = this.epidFor(base.kmsId)
      const answer: HostAnswer = {
        epid,
        hwid: o.identity.hwid,
        count,
        activationInterval: o.activationInterval,
        renewalInterval: o.renewalInterval
      }
      try {
        reply = session.answer(call, answer, o.random)
      } catch (err) {
        // Only an answer the format cannot carry gets here (the identity is validated at start); refuse, don't crash.
        if (!(err instanceof ProtocolEncodeError)) throw err
        refusal = `response could not be built: ${err.message}`
        reply = session.answerError(call, HRESULT.invalidData)
        count = null
        epid = null
      }
    }
    const hresult = refusal === null ? null : HRESULT.invalidData
    const written = o.log.record(this.entry(base, major, base.minorVer, clientAddress, nowMs, count, hresult))
    return written.then(
      () => {
        const bucket = o.counters.requests[protocolKey(major)]
        if (hresult === null) bucket.ok++
        else bucket.refused++
        if (o.emitter.has('request-logged')) {
          o.emitter.emit('request-logged', this.exchange(base, major, base.minorVer, call.syntax, clientAddress, nowMs, count, epid, hresult, refusal, startedAt))
        }
        return reply
      },
      (err: unknown) => {
        o.counters.logFailures++
        throw new LogWriteError(err)
      }
    )
  }

  /**
   * A request the session refused with an HRESULT (`reply` is that error response). Logged when the request's
   * fields could be read (see lab-host-refusal); resolves with the reply to send.
   */
  refusal(pdu: Uint8Array, reply: Uint8Array, info: RefusalInfo, syntax: NdrSyntax | undefined, clientAddress: string, startedAt: number): Uint8Array | Promise<Uint8Array> {
    const o = this.o
    const read = readRefusedRequest(pdu, syntax)
    o.counters.requests[protocolKey(read?.major ?? -1)].refused++
    if (read?.base === undefined || syntax === undefined) {
      o.emitter.emit('request-rejected', { clientAddress, kind: 'refused', status: info.hresult >>> 0, reason: info.reason })
      return reply
    }
    const base = read.base
    const nowMs = o.now()
    // The counters were updated above; a failed write only adds logFailures.
    return o.log.record(this.entry(base, read.major, read.minor, clientAddress, nowMs, null, info.hresult >>> 0)).then(
      () => {
        if (o.emitter.has('request-logged')) {
          o.emitter.emit('request-logged', this.exchange(base, read.major, read.minor, syntax, clientAddress, nowMs, null, null, info.hresult >>> 0, info.reason, startedAt))
        }
        return reply
      },
      (err: unknown) => {
        o.counters.logFailures++
        throw new LogWriteError(err)
      }
    )
  }

  /** A request PDU answered with an RPC fault (wrong context or opnum): counted and reported, not logged. */
  fault(status: number, reason: string, clientAddress: string): void {
    this.o.counters.faults++
    if (this.o.emitter.has('request-rejected')) this.o.emitter.emit('request-rejected', { clientAddress, kind: 'fault', status: status >>> 0, reason })
  }

  private entry(base: BaseRequest, major: number, minor: number, clientAddress: string, nowMs: number, count: number | null, hresult: number | null): ClientLogEntryInput {
    return {
      timeMs: nowMs,
      clientAddress,
      cmid: base.cmid,
      previousCmid: base.cmidPrev === NIL_GUID ? null : base.cmidPrev,
      workstationName: base.workstationName,
      applicationId: base.appId,
      skuId: base.actId,
      productName: this.skuName.get(base.actId) ?? null,
      kmsCountedId: base.kmsId,
      protocolMajor: major,
      protocolMinor: minor,
      requiredClientCount: base.nPolicy,
      licenseStatus: base.licenseStatus,
      countReturned: count,
      outcome: hresult === null ? 'ok' : 'error',
      hresult
    }
  }

  private exchange(
    base: BaseRequest,
    major: number,
    minor: number,
    syntax: NdrSyntax,
    clientAddress: string,
    nowMs: number,
    count: number | null,
    epid: string | null,
    hresult: number | null,
    reason: string | null,
    startedAt: number
  ): LabHostExchange {
    return {
      timeMs: nowMs,
      clientAddress,
      outcome: hresult === null ? 'ok' : 'refused',
      hresult,
      reason,
      protocolMajor: major,
      protocolMinor: minor,
      syntax,
      cmid: base.cmid,
      previousCmid: base.cmidPrev === NIL_GUID ? null : base.cmidPrev,
      workstationName: base.workstationName,
      applicationId: base.appId,
      applicationName: this.appName.get(base.appId) ?? null,
      skuId: base.actId,
      productName: this.skuName.get(base.actId) ?? null,
      kmsCountedId: base.kmsId,
      kmsCountedName: this.kmsName.get(base.kmsId) ?? null,
      requiredClientCount: base.nPolicy,
      licenseStatus: base.licenseStatus,
      count,
      epid,
      durationMs: performance.now() - startedAt
    }
  }
}
