/**
 * What the lab host's owning process and its worker processes say to each other over the Node IPC channel
 * (workers.ts forks, worker.ts is the worker's entry point), and the worker's side of the ledger.
 *
 * Everything here is plain data (structured clone). Requests are batched per event-loop turn in both directions:
 * at thousands of exchanges per second, one IPC message per request would cost more than the request itself.
 */
import type { LabHostCounters, LabHostEventName, LabHostEvents, LabHostAddress } from './events'
import type { LabHostCountMode } from './count'
import type { SerializedIdentity } from './lab-host'
import { LogWriteError, type LabHostLedger, type LedgerRequest } from './ledger'

/** Everything a worker needs besides the listening sockets. */
export interface WorkerInit {
  t: 'init'
  /** 1-based, for messages */
  index: number
  identity: SerializedIdentity
  countMode: LabHostCountMode
  activationInterval: number
  renewalInterval: number
  /** this worker's share of the host's connection limit */
  maxConnections: number
  /** this worker's share of the per-address limits */
  maxConnectionsPerAddress: number
  maxRequestsPerSecondPerAddress: number
  exchangeTimeoutMs: number
  maxPduBytes: number
  maxPdusPerConnection: number
  drainTimeoutMs: number
  ndr64: boolean
  btfn: boolean
  /** the events the owner has listeners for; only these are forwarded (updated by 'forward' messages) */
  forward: LabHostEventName[]
}

/** The events a worker can forward (the others are the owner's own, see OWNER_ONLY_EVENTS). */
export const FORWARDABLE_EVENTS = [
  'request-rejected',
  'connection-opened',
  'connection-refused',
  'connection-closed',
  'warning',
  'error'
] as const satisfies readonly LabHostEventName[]

/** Owner → worker. A 'server' message carries a listening net.Server as its handle. */
export type OwnerMessage =
  | { t: 'server'; address: LabHostAddress }
  | WorkerInit
  | { t: 'stored'; results: StoreResult[] }
  | { t: 'forward'; names: LabHostEventName[] }
  | { t: 'stop' }

/** [request id, Count or null, null when stored or the reason it was not] */
export type StoreResult = [number, number | null, string | null]

export type ForwardedEvent = { [E in LabHostEventName]: [E, LabHostEvents[E]] }[LabHostEventName]

/** Worker → owner. */
export type WorkerMessage =
  | { t: 'ready' }
  | { t: 'failed'; message: string }
  | { t: 'store'; items: [number, LedgerRequest][] }
  | { t: 'events'; events: ForwardedEvent[] }
  | { t: 'counters'; counters: LabHostCounters }
  | { t: 'stopped'; counters: LabHostCounters; drained: boolean; abandoned: number }

/**
 * The worker's ledger: hands requests to the owner's LocalLedger, one IPC message per event-loop turn, and
 * resolves each when the owner reports it committed.
 */
export class RemoteLedger implements LabHostLedger {
  private nextId = 0
  private batch: [number, LedgerRequest][] = []
  private readonly waiting = new Map<number, { resolve: (count: number | null) => void; reject: (err: Error) => void }>()
  private scheduled = false
  private closed: string | undefined

  constructor(private readonly send: (message: WorkerMessage) => void) {}

  store(request: LedgerRequest): Promise<number | null> {
    if (this.closed !== undefined) return Promise.reject(new LogWriteError(new Error(this.closed)))
    const id = ++this.nextId
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject })
      this.batch.push([id, request])
      if (!this.scheduled) {
        this.scheduled = true
        setImmediate(() => this.flush())
      }
    })
  }

  /** The owner's answers. */
  settle(results: StoreResult[]): void {
    for (const [id, count, problem] of results) {
      const w = this.waiting.get(id)
      if (!w) continue
      this.waiting.delete(id)
      if (problem === null) w.resolve(count)
      else w.reject(new LogWriteError(new Error(problem)))
    }
  }

  /** The owner is gone: nothing can be stored any more, so nothing waiting may be acknowledged. */
  close(reason: string): void {
    this.closed = reason
    for (const [id, w] of this.waiting) {
      this.waiting.delete(id)
      w.reject(new LogWriteError(new Error(reason)))
    }
    this.batch = []
  }

  private flush(): void {
    this.scheduled = false
    const items = this.batch
    this.batch = []
    if (items.length === 0 || this.closed !== undefined) return
    try {
      this.send({ t: 'store', items })
    } catch (err) {
      this.close(`the owning process cannot be reached: ${err instanceof Error ? err.message : String(err)}`)
    }
  }
}
