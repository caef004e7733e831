/**
 * ClientLogThread: the client log with its SQLite work on a writer thread of its own (client-log-thread.ts), so
 * the thread that serves sockets never waits for a commit, a WAL write or a checkpoint. Measured in
 * bench/host.ts: the WAL writes alone took ~70 µs of the serving thread per exchange (docs/lab-host.md,
 * "Benchmarks").
 *
 * What stays here: the in-memory counts (CountingWindow) — a request is counted synchronously, as with
 * ClientLog, so concurrent clients see each other. What goes to the thread: every entry recorded in one event-loop
 * turn, as one message (one structured clone, one commit); each record() resolves when the thread acknowledges
 * that its batch has committed. Validation of the entries runs there too (ClientLog.record), off the serving
 * thread; an entry the thread refuses rejects alone, and the counts are rebuilt from the database.
 *
 * If the thread dies, every pending and later record() rejects: the host then closes those connections unanswered
 * (never an acknowledged request that is not stored).
 */
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import { normalizeEntry, type ClientLogEntry, type ClientLogEntryInput, type ClientLogRow } from './client-log-entry'
import { CountingWindow, DAY_MS, DEFAULT_COUNT_WINDOW_MS, type CountKey, type CountSummary } from './client-log-counts'
import { ClientLogBusyError, reserveInThisProcess, unreserveInThisProcess } from './client-log-owner'
import { ClientLogFormatError } from './client-log-schema'
import type { ClientLogOptions, ClientLogStore, CountedClient, IntegrityResult } from './client-log'

/** workerData of the writer thread. */
export interface ThreadInit {
  file: string
  nowMs: number
  countWindowMs: number
  options: Omit<ClientLogOptions, 'now' | 'onSizeCapPruned'>
}

/** Owner → thread. Every message carries the owner's clock. */
export type ThreadRequest = { nowMs: number } & (
  | { type: 'batch'; id: number; entries: ClientLogEntryInput[] }
  | { type: 'recent'; id: number; limit: number }
  | { type: 'purge'; id: number; olderThanMs: number }
  | { type: 'counted'; id: number; sinceMs: number }
  | { type: 'integrity'; id: number }
  | { type: 'close'; id: number }
)

interface ErrorText {
  name: string
  message: string
}

/** Thread → owner. */
export type ThreadReply =
  | { type: 'opened'; warnings: string[]; sizeBytes: number; counted: CountedClient[] }
  | { type: 'open-failed'; error: ErrorText }
  | { type: 'ack'; id: number; failures: Array<[number, ErrorText]>; sizeBytes?: number }
  | { type: 'result'; id: number; value?: unknown; error?: ErrorText }
  | { type: 'pruned'; rows: number; capBytes: number }

interface PendingRecord {
  entry: ClientLogEntry
  resolve: () => void
  reject: (error: Error) => void
}

/**
 * An error as the thread reported it: the class does not cross threads, the name and message do — the errors
 * callers tell apart (the log is busy, the file is not ours) get their class back.
 */
function revive(error: ErrorText): Error {
  if (error.name === 'ClientLogBusyError') return new ClientLogBusyError(error.message)
  if (error.name === 'ClientLogFormatError') return new ClientLogFormatError(error.message)
  const revived = new Error(error.message)
  revived.name = error.name
  return revived
}

/**
 * The writer thread's script: the bundled out/main/client-log-thread.js next to the bundle that loaded this module
 * (which may sit in out/main/chunks/), or, when running from source (tsx, vitest), client-log-thread.ts through
 * tsx's loader.
 */
function threadScript(): { code: string; eval: true } | { file: string; eval: false } {
  const here = fileURLToPath(import.meta.url)
  if (here.endsWith('.ts')) {
    const source = pathToFileURL(path.join(path.dirname(here), 'client-log-thread.ts')).href
    // tsx's loader API as an ES module (its CommonJS entry cannot be imported from an eval'd worker)
    const tsx = import.meta.resolve('tsx/esm/api')
    return {
      eval: true,
      code: `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(source)}) })`
    }
  }
  for (const candidate of [
    path.join(path.dirname(here), 'client-log-thread.js'),
    path.join(path.dirname(here), '..', 'client-log-thread.js')
  ]) {
    if (fs.existsSync(candidate)) return { eval: false, file: candidate }
  }
  throw new Error(`the client log's writer thread (client-log-thread.js) is missing next to ${here}; rebuild with npm run build`)
}

export class ClientLogThread implements ClientLogStore {
  readonly file: string
  openWarnings: readonly string[] = []
  /** bytes the database's pages hold, as of the thread's last report (at open, then every 500 rows) */
  sizeBytes = 0
  private readonly worker: Worker
  private readonly now: () => number
  private readonly retentionMs: number
  private readonly index: CountingWindow
  private readonly onSizeCapPruned: ClientLogOptions['onSizeCapPruned']
  /** recorded this turn, posted at the next setImmediate */
  private outgoing: PendingRecord[] = []
  private postScheduled = false
  /** posted batches by id, waiting for their acknowledgement */
  private readonly inFlight = new Map<number, PendingRecord[]>()
  private inFlightRecords = 0
  private readonly calls = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>()
  private nextId = 1
  /** set once the thread is gone or closing: every later record() rejects with it */
  private failure: Error | undefined
  private closing: Promise<void> | undefined
  /** Held by the thread while the process must not exit (a batch or a call unanswered); not while idle. */
  private referenced = true
  /** settles open() */
  private opening: { resolve: () => void; reject: (error: Error) => void } | undefined

  private constructor(file: string, worker: Worker, options: ClientLogOptions) {
    this.file = file
    this.worker = worker
    this.now = options.now
    this.index = new CountingWindow(options.countWindowMs ?? DEFAULT_COUNT_WINDOW_MS, this.now)
    this.retentionMs = options.retentionDays * DAY_MS
    this.onSizeCapPruned = options.onSizeCapPruned
    worker.on('message', (reply: ThreadReply) => this.receive(reply))
    worker.on('error', (error) => this.fail(new Error(`the client log's writer thread failed: ${error.message}`)))
    worker.on('exit', () => this.fail(new Error("the client log's writer thread has ended")))
  }

  /**
   * Opens the log at `file` on a new writer thread (which takes ownership, migrates, purges and reads the counts).
   * Throws what ClientLog.open throws (ClientLogBusyError, ClientLogFormatError, …), with the same name and message.
   */
  static async open(file: string, options: ClientLogOptions): Promise<ClientLogThread> {
    if (!(options.retentionDays > 0)) throw new RangeError('retentionDays must be positive')
    const resolved = path.resolve(file)
    reserveInThisProcess(resolved)
    const { onSizeCapPruned: _pruned, now: _now, ...plain } = options
    const init: ThreadInit = {
      file: resolved,
      nowMs: options.now(),
      countWindowMs: options.countWindowMs ?? DEFAULT_COUNT_WINDOW_MS,
      options: plain
    }
    let worker: Worker
    try {
      const script = threadScript()
      worker = script.eval ? new Worker(script.code, { eval: true, workerData: init }) : new Worker(script.file, { workerData: init })
    } catch (error) {
      unreserveInThisProcess(resolved)
      throw error
    }
    const log = new ClientLogThread(resolved, worker, options)
    try {
      await new Promise<void>((resolve, reject) => {
        log.opening = { resolve, reject }
      })
    } catch (error) {
      unreserveInThisProcess(resolved)
      await worker.terminate()
      throw error
    }
    log.releaseProcessWhenIdle()
    return log
  }

  /**
   * Adds one request: counted at once, stored with the others of this event-loop turn; resolves once the thread
   * has committed it. Rejects with the thread's error if it refused the entry or the commit failed.
   */
  record(input: ClientLogEntryInput): Promise<void> {
    if (this.failure) return Promise.reject(this.failure)
    const entry = normalizeEntry(input) // counted now; the thread validates it against the schema
    this.index.observe(entry)
    return new Promise<void>((resolve, reject) => {
      this.outgoing.push({ entry, resolve, reject })
      if (this.postScheduled) return
      this.postScheduled = true
      // setImmediate runs after this turn's I/O callbacks: every request decoded in this turn joins the batch.
      setImmediate(() => this.postBatch())
    })
  }

  distinctClients(key: CountKey, sinceMs: number): number {
    return this.index.distinctClients(key, sinceMs)
  }

  countFor(key: CountKey, cmid: string, nowMs: number, cap?: number): number {
    return this.index.countFor(key, cmid, nowMs, cap)
  }

  summary(nowMs: number): CountSummary {
    return this.index.summaryAt(nowMs)
  }

  recent(limit: number): Promise<ClientLogRow[]> {
    return this.call({ type: 'recent', limit }) as Promise<ClientLogRow[]>
  }

  async purge(olderThanMs: number): Promise<number> {
    const rows = (await this.call({ type: 'purge', olderThanMs })) as number
    this.index.expire(olderThanMs)
    return rows
  }

  purgeExpired(): Promise<number> {
    return this.purge(this.now() - this.retentionMs)
  }

  integrityCheck(): Promise<IntegrityResult> {
    return this.call({ type: 'integrity' }) as Promise<IntegrityResult>
  }

  get pendingCount(): number {
    return this.outgoing.length + this.inFlightRecords
  }

  /** Commits what is pending, closes the database on the thread and ends the thread. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.postBatch()
      try {
        await this.call({ type: 'close' })
      } finally {
        this.fail(new Error('client log is closed'))
        unreserveInThisProcess(this.file)
        await this.worker.terminate()
      }
    })()
    return this.closing
  }

  private postBatch(): void {
    this.postScheduled = false
    if (this.outgoing.length === 0 || this.failure) return
    const batch = this.outgoing
    this.outgoing = []
    const id = this.nextId++
    this.inFlight.set(id, batch)
    this.inFlightRecords += batch.length
    this.holdProcess()
    this.post({ type: 'batch', id, entries: batch.map((r) => r.entry) })
  }

  private call(request: DistributiveOmit<Exclude<ThreadRequest, { type: 'batch' }>, 'id' | 'nowMs'>): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure)
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject })
      this.holdProcess()
      this.post({ ...request, id } as ThreadRequest)
    })
  }

  private post(request: DistributiveOmit<ThreadRequest, 'nowMs'>): void {
    this.worker.postMessage({ ...request, nowMs: this.now() })
  }

  private receive(reply: ThreadReply): void {
    switch (reply.type) {
      case 'opened':
        this.openWarnings = reply.warnings
        this.sizeBytes = reply.sizeBytes
        this.rebuildIndex(reply.counted)
        this.opening?.resolve()
        this.opening = undefined
        return
      case 'open-failed':
        this.opening?.reject(revive(reply.error))
        this.opening = undefined
        return
      case 'ack': {
        const batch = this.inFlight.get(reply.id)
        if (!batch) return
        this.inFlight.delete(reply.id)
        this.inFlightRecords -= batch.length
        if (reply.sizeBytes !== undefined) this.sizeBytes = reply.sizeBytes
        const failed = new Map(reply.failures)
        for (let i = 0; i < batch.length; i++) {
          const error = failed.get(i)
          if (error === undefined) batch[i]!.resolve()
          else batch[i]!.reject(revive(error))
        }
        // Refused entries were counted here already: make the counts match the database again.
        if (failed.size > 0) this.resync()
        break
      }
      case 'result': {
        const call = this.calls.get(reply.id)
        if (!call) return
        this.calls.delete(reply.id)
        if (reply.error) call.reject(revive(reply.error))
        else call.resolve(reply.value)
        break
      }
      case 'pruned':
        this.resync()
        this.onSizeCapPruned?.({ rows: reply.rows, capBytes: reply.capBytes })
        break
    }
    this.releaseProcessWhenIdle()
  }

  /** Rebuilds the counts from the database; what was posted after the question is still pending here and re-added. */
  private resync(): void {
    const since = this.index.startAt()
    this.call({ type: 'counted', sinceMs: since }).then(
      (counted) => this.rebuildIndex(counted as CountedClient[]),
      () => undefined // the thread is gone; record() rejects from now on
    )
  }

  private rebuildIndex(counted: CountedClient[]): void {
    const pending = [...[...this.inFlight.values()].flat(), ...this.outgoing].map((r) => r.entry)
    this.index.rebuild(counted, pending)
  }

  /** The thread is unreferenced while nothing is pending, so an idle open log does not keep the process alive. */
  private holdProcess(): void {
    if (this.referenced) return
    this.referenced = true
    this.worker.ref()
  }

  private releaseProcessWhenIdle(): void {
    if (!this.referenced || this.inFlight.size > 0 || this.calls.size > 0) return
    this.referenced = false
    this.worker.unref()
  }

  /** The thread is gone (or closed): every pending record and call rejects, and so does everything later. */
  private fail(error: Error): void {
    this.failure ??= error
    this.opening?.reject(error)
    this.opening = undefined
    const records = [...this.outgoing, ...[...this.inFlight.values()].flat()]
    this.outgoing = []
    this.inFlight.clear()
    this.inFlightRecords = 0
    for (const r of records) r.reject(this.failure)
    const calls = [...this.calls.values()]
    this.calls.clear()
    for (const c of calls) c.reject(this.failure)
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never
