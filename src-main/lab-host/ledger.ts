/**
 * The lab host's ledger: the one place that counts clients and stores requests in the client log. Every serving
 * process hands it each handled KMS request and replies to the client only when the ledger says the request is
 * stored.
 *
 * Why a separate piece: the Count must see every client of the host, and the SQLite log has one writer; with
 * worker processes (workers.ts) the connections are spread over several processes, so the count and the
 * log stay in the owning process and the workers reach them over IPC (RemoteLedger in worker-messages.ts).
 * In a single process the responder calls LocalLedger directly.
 *
 * Order per request: Count (synchronously, so concurrent clients each see the others) → row recorded (group
 * commit) → resolve with the Count → the responder builds the reply. The ledger also emits 'request-logged' once
 * the row is committed, whichever process served the client.
 */
import type { ClientLogStore, ClientLogEntryInput } from '../storage/client-log'
import type { NdrSyntax, ProductCatalog } from '../protocol/index'
import type { CountPolicy } from './count'
import type { LabHostEmitter } from './events'

/** One handled request, as the serving side hands it to the ledger (plain data: it may cross process IPC). */
export interface LedgerRequest {
  /** the log row; `countReturned` is filled in by the ledger when `counted` */
  entry: ClientLogEntryInput
  /** count this client (an accepted request): the ledger decides the Count for its KMS counted ID */
  counted: boolean
  /** for the 'request-logged' event */
  syntax: NdrSyntax
  epid: string | null
  /** why it was refused, null when answered normally */
  reason: string | null
  /** when the PDU arrived, epoch ms with sub-ms precision (performance.timeOrigin + performance.now()) */
  arrivedAtMs: number
}

export interface LabHostLedger {
  /**
   * Resolves with the Count to answer (null when not counted) once the request is in the client log; rejects with
   * LogWriteError when it could not be stored — the client must then get no reply.
   */
  store(request: LedgerRequest): Promise<number | null>
}

/** Thrown (as a rejection) when the client log did not store a request; the caller closes without replying. */
export class LogWriteError extends Error {
  override name = 'LogWriteError'
  constructor(override readonly cause: unknown) {
    super(`the client log could not store the request: ${cause instanceof Error ? cause.message : String(cause)}`)
  }
}

/** Epoch ms with sub-millisecond precision, comparable across processes (unlike performance.now()). */
function preciseNowMs(): number {
  return performance.timeOrigin + performance.now()
}

/**
 * Product names by the canonical lower-case GUID text the protocol layer decodes (catalog lookups normalise with
 * a regex each time, which showed in host profiles). Built once; unknown GUIDs miss.
 */
export class CatalogNames {
  readonly sku = new Map<string, string>()
  readonly kmsCountedId = new Map<string, string>()
  readonly application = new Map<string, string>()

  constructor(catalog: ProductCatalog) {
    for (const k of catalog.kmsCountedIds) this.kmsCountedId.set(k.guid.toLowerCase(), k.name)
    for (const s of catalog.skus) this.sku.set(s.guid.toLowerCase(), s.name)
    for (const a of catalog.applications) this.application.set(a.guid.toLowerCase(), a.name)
  }
}

/** The ledger of the process that owns the client log. */
export class LocalLedger implements LabHostLedger {
  constructor(
    private readonly log: ClientLogStore,
    private readonly policy: CountPolicy,
    private readonly names: CatalogNames,
    private readonly emitter: LabHostEmitter,
    /** epoch ms: the host's clock */
    private readonly now: () => number
  ) {}

  store(request: LedgerRequest): Promise<number | null> {
    const entry = request.entry
    // The row's time is the ledger's clock, not the serving process's: the count index keeps clients in last-seen
    // order, and times from several processes' clocks would arrive slightly out of order (costly re-sorts).
    entry.timeMs = this.now()
    if (
      request.counted &&
      entry.cmid !== null &&
      entry.kmsCountedId !== null &&
      entry.requiredClientCount !== undefined &&
      entry.requiredClientCount !== null
    ) {
      // countFor and record in the same synchronous turn: the log's index then includes this client for the next.
      entry.countReturned = this.policy.countFor(entry.kmsCountedId, entry.cmid, entry.requiredClientCount, entry.timeMs)
    }
    return this.log.record(entry).then(
      () => {
        if (this.emitter.has('request-logged')) this.emitLogged(request)
        return entry.countReturned
      },
      (err: unknown) => {
        throw new LogWriteError(err)
      }
    )
  }

  private emitLogged(request: LedgerRequest): void {
    const e = request.entry
    const hresult = e.hresult ?? null
    this.emitter.emit('request-logged', {
      timeMs: e.timeMs,
      clientAddress: e.clientAddress,
      outcome: hresult === null ? 'ok' : 'refused',
      hresult,
      reason: request.reason,
      protocolMajor: e.protocolMajor ?? 0,
      protocolMinor: e.protocolMinor ?? 0,
      syntax: request.syntax,
      cmid: e.cmid ?? '',
      previousCmid: e.previousCmid ?? null,
      workstationName: e.workstationName ?? '',
      applicationId: e.applicationId ?? '',
      applicationName: this.names.application.get(e.applicationId ?? '') ?? null,
      skuId: e.skuId ?? '',
      productName: e.productName,
      kmsCountedId: e.kmsCountedId ?? '',
      kmsCountedName: this.names.kmsCountedId.get(e.kmsCountedId ?? '') ?? null,
      requiredClientCount: e.requiredClientCount ?? 0,
      licenseStatus: e.licenseStatus ?? 0,
      count: e.countReturned,
      epid: request.epid,
      durationMs: Math.max(0, preciseNowMs() - request.arrivedAtMs)
    })
  }
}
