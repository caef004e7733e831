/**
 * The client log's writer: group commit and checkpoints. A commit costs about the same for one row as for a
 * thousand, so entries enqueued in the same event-loop turn (or within `groupWindowMs`) are written in one
 * transaction and each enqueue() resolves when its transaction has committed. Transactions are capped at
 * `maxBatch` rows so one commit never blocks the event loop for long, and WAL checkpoints (which block too) are
 * moved to idle periods (see ClientLogOptions in client-log.ts for the measurements behind the defaults).
 */
import type { Database, Statement } from 'node-sqlite3-wasm'
import type { ClientLogEntry } from './client-log-entry'
import { entryToRow, INSERT_REQUEST_SQL } from './client-log-schema'

export interface ClientLogWriterOptions {
  /** wait this long to collect more entries into one commit; 0 = same event-loop turn only */
  groupWindowMs: number
  /** at most this many rows per transaction */
  maxBatch: number
  /** checkpoint once no commit has happened for this long */
  idleCheckpointMs: number
  /**
   * Called (synchronously, during the flush) after a batch failed and its rows were retried one by one: entries
   * already counted may now be missing from the database. An exception it throws is swallowed, because a flush
   * can run from a timer, where a throw would take the process down.
   */
  onCommitFailed: () => void
  /** Called (synchronously) after each successful commit with its row count, e.g. to keep the file within a size cap. */
  onCommitted?: (rows: number) => void
}

interface PendingEntry {
  entry: ClientLogEntry
  resolve: () => void
  reject: (error: unknown) => void
}

export class ClientLogWriter {
  private readonly db: Database
  private readonly options: ClientLogWriterOptions
  private insert: Statement
  private pending: PendingEntry[] = []
  private flushTimer: NodeJS.Immediate | NodeJS.Timeout | undefined
  private idleCheckpointTimer: NodeJS.Timeout | undefined
  /** commits since the last checkpoint */
  private uncheckpointed = 0
  private closed = false

  constructor(db: Database, options: ClientLogWriterOptions) {
    this.db = db
    this.options = options
    this.insert = db.prepare(INSERT_REQUEST_SQL)
  }

  /** Queues `entry` for the next group commit; resolves once it has committed, rejects with the commit error. */
  enqueue(entry: ClientLogEntry): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ entry, resolve, reject })
      this.scheduleFlush()
    })
  }

  /** Entries queued but not yet committed, oldest first. */
  pendingEntries(): ClientLogEntry[] {
    return this.pending.map(({ entry }) => entry)
  }

  get pendingCount(): number {
    return this.pending.length
  }

  /** Commits not yet checkpointed into the database file. */
  get commitsSinceCheckpoint(): number {
    return this.uncheckpointed
  }

  /**
   * Commits what is pending, in transactions of at most maxBatch rows. From the timer (`yieldBetweenBatches`) a
   * large backlog is split across event-loop turns; close(), purge() etc. commit everything at once.
   */
  flush(yieldBetweenBatches = false): void {
    this.cancelScheduledFlush()
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.options.maxBatch)
      const error = this.commit(batch.map((item) => item.entry))
      if (error === undefined) {
        this.noteCommit()
        for (const item of batch) item.resolve()
        this.options.onCommitted?.(batch.length)
      } else {
        // One bad row must not fail its neighbours: retry each on its own, then settle each by its own result.
        for (const item of batch) {
          const own = batch.length === 1 ? error : this.commit([item.entry])
          if (own === undefined) item.resolve()
          else item.reject(own)
        }
        try {
          this.options.onCommitFailed()
        } catch {
          // the commit errors already went to their callers
        }
      }
      // Give the event loop a turn before the next chunk of a large backlog.
      if (yieldBetweenBatches && this.pending.length > 0) {
        this.scheduleFlush()
        return
      }
    }
  }

  /** Checkpoints the WAL into the database file now (after committing what is pending); returns the WAL size in pages before. */
  checkpoint(): number {
    this.flush()
    const row = this.db.get('PRAGMA wal_checkpoint(PASSIVE)')
    this.uncheckpointed = 0
    return Number(row?.log ?? 0)
  }

  /** Stops the idle checkpoint and frees the insert statement; the caller has flushed and closes the database. */
  close(): void {
    this.closed = true
    clearTimeout(this.idleCheckpointTimer)
    this.insert.finalize()
  }

  private scheduleFlush(): void {
    if (this.flushTimer !== undefined) return
    const run = (): void => {
      this.flushTimer = undefined
      this.flush(true)
    }
    // setImmediate runs after this turn's I/O callbacks: every request that arrived in the same turn joins the batch.
    this.flushTimer = this.options.groupWindowMs > 0 ? setTimeout(run, this.options.groupWindowMs) : setImmediate(run)
  }

  private cancelScheduledFlush(): void {
    if (this.flushTimer === undefined) return
    clearTimeout(this.flushTimer as NodeJS.Timeout)
    clearImmediate(this.flushTimer as NodeJS.Immediate)
    this.flushTimer = undefined
  }

  /** (Re)arms the idle checkpoint: it runs once no commit has happened for idleCheckpointMs. */
  private noteCommit(): void {
    this.uncheckpointed++
    this.armIdleCheckpoint()
  }

  private armIdleCheckpoint(): void {
    if (this.idleCheckpointTimer) {
      this.idleCheckpointTimer.refresh()
      return
    }
    this.idleCheckpointTimer = setTimeout(() => this.checkpointWhenIdle(), this.options.idleCheckpointMs)
    this.idleCheckpointTimer.unref()
  }

  private checkpointWhenIdle(): void {
    this.idleCheckpointTimer = undefined
    if (this.closed || this.uncheckpointed === 0) return
    if (this.pending.length > 0) {
      this.armIdleCheckpoint()
      return
    }
    try {
      this.checkpoint()
    } catch {
      // not fatal: the WAL keeps the data; the next idle period (or close) checkpoints it
    }
  }

  /** One transaction; returns the error instead of throwing, after rolling back. */
  private commit(entries: ClientLogEntry[]): unknown {
    try {
      this.db.exec('BEGIN IMMEDIATE')
      for (const entry of entries) this.insert.run(entryToRow(entry))
      this.db.exec('COMMIT')
      return undefined
    } catch (error) {
      if (this.db.inTransaction) {
        try {
          this.db.exec('ROLLBACK')
        } catch {
          // the original error is the one to report
        }
      }
      // node-sqlite3-wasm resets a statement before each use and treats the error that sqlite3_reset reports
      // for the previous failed step as fatal, so a statement that failed once fails the next run too. Start over
      // with a fresh one (finalize reports the same old error; it still frees the statement).
      try {
        this.insert.finalize()
      } catch {
        // see above
      }
      this.insert = this.db.prepare(INSERT_REQUEST_SQL)
      return error
    }
  }
}
