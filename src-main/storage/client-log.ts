/**
 * The lab host's client log: one SQLite row per KMS request it handled, in a file the `sqlite3` command-line
 * tool can open. Choice of library, measurements and trade-offs: docs/sqlite-choice.md; usage: docs/storage.md.
 *
 * ClientLog is the one object the lab host uses; it composes the pieces, each in its own module:
 * - client-log-entry.ts   what a record is (zod schema), checked at record()
 * - client-log-schema.ts  the SQL: format check, pragmas (durability), migrations, row mapping, queries
 * - client-log-counts.ts  the in-memory count of distinct CMIDs in the counting window
 * - client-log-owner.ts   the owner lock: one writer per file, stale locks of killed processes removed
 * - client-log-writer.ts  group commit and checkpoints
 *
 * Durability: `record()` resolves only after the row's transaction has committed, and counts immediately (the
 * host answers each client when its record() resolves; concurrent clients see each other in the counts).
 */
import fs from 'node:fs'
import path from 'node:path'
import type { Database } from 'node-sqlite3-wasm'
import { clientLogEntrySchema } from './client-log-entry'
import type { ClientLogEntry, ClientLogEntryInput, ClientLogRow } from './client-log-entry'
import { CountingWindow, DAY_MS, DEFAULT_COUNT_WINDOW_MS } from './client-log-counts'
import type { CountKey, CountSummary } from './client-log-counts'
import { claimOwnership, releaseOwnership } from './client-log-owner'
import {
  ClientLogFormatError,
  deleteOldestRows,
  deleteRowsOlderThan,
  prepareClientLogDatabase,
  readCountedClients,
  readRecentRows,
  type CountedClient,
  rowCount,
  usedBytes
} from './client-log-schema'
import { ClientLogWriter } from './client-log-writer'

export { clientLogEntrySchema } from './client-log-entry'
export type { ClientLogEntryInput, ClientLogRow } from './client-log-entry'
export { DAY_MS } from './client-log-counts'
export type { CountKey, CountSummary } from './client-log-counts'
export { ClientLogBusyError } from './client-log-owner'
export { CLIENT_LOG_APPLICATION_ID, ClientLogFormatError } from './client-log-schema'
export type { CountedClient } from './client-log-schema'

/**
 * What the lab host needs of a client log, whether the SQLite work runs on the calling thread (ClientLog) or on a
 * writer thread of its own (ClientLogThread, client-log-threaded.ts). Counting is synchronous in both: the counts
 * live in memory on the calling thread.
 */
export interface ClientLogStore {
  readonly file: string
  readonly openWarnings: readonly string[]
  /** records not yet committed */
  readonly pendingCount: number
  /** bytes the database's pages hold (ClientLogThread: as its thread last reported, at most ~500 rows ago) */
  readonly sizeBytes: number
  record(entry: ClientLogEntryInput): Promise<void>
  distinctClients(key: CountKey, sinceMs: number): number
  countFor(key: CountKey, cmid: string, nowMs: number, cap?: number): number
  summary(nowMs: number): CountSummary
  recent(limit: number): Promise<ClientLogRow[]>
  purge(olderThanMs: number): Promise<number>
  purgeExpired(): Promise<number>
  integrityCheck(): Promise<IntegrityResult>
  close(): Promise<void>
}

export interface ClientLogOptions {
  /** rows older than this are purged at open (and by purgeExpired()) */
  retentionDays: number
  /** clock, epoch milliseconds */
  now: () => number
  /** counting window; default 30 days */
  countWindowMs?: number
  /** 'process' (default): survives kill -9 of this process; 'power': also survives power loss (fsync per commit) */
  durability?: 'process' | 'power'
  /** wait this long to collect more entries into one commit; default 0 = same event-loop turn only */
  groupWindowMs?: number
  /** at most this many rows per transaction, so one commit never blocks the event loop for long; default 2000 */
  maxBatch?: number
  /**
   * Checkpoints (copying the WAL into the database file, with an fsync) block the event loop, so they are kept out
   * of busy periods: one runs once the log has been idle for `idleCheckpointMs` (default 1000), and under sustained
   * load only when the WAL reaches `checkpointPages` pages (default 4096, 16 MiB, every few seconds at thousands of
   * requests per second). SQLite's default of 1000 pages checkpointed several times per second under load and was
   * the largest source of slow replies in bench/host.ts (p99 ≈ 19 ms → ≈ 10 ms). The cap bounds the one long
   * stall (measured in bench/host.ts: ≈ 70 ms at 16 MiB, ≈ 250 ms at 64 MiB).
   */
  idleCheckpointMs?: number
  checkpointPages?: number
  /**
   * Keep the database within this many bytes: checked every 500 rows written, and past it the oldest rows are
   * removed until it is back under 90 % of the cap (so it exceeds the cap by at most about 500 rows; the WAL,
   * bounded by `checkpointPages`, comes on top). Default: no cap.
   */
  maxSizeBytes?: number
  /** Told each time rows were removed to keep within `maxSizeBytes`. */
  onSizeCapPruned?: (info: { rows: number; capBytes: number }) => void
}

export interface IntegrityResult {
  ok: boolean
  /** 'ok', or SQLite's list of problems */
  messages: string[]
}

/** Rows deleted per statement when purging, so one DELETE never blocks the event loop for long. */
const PURGE_CHUNK_ROWS = 5000
/** The size cap is checked every this many rows written (a check reads three pragmas; 500 rows ≈ 120 KiB). */
const SIZE_CHECK_EVERY_ROWS = 500

export class ClientLog implements ClientLogStore {
  readonly file: string
  /** problems found and repaired while opening (e.g. a stale lock left by a killed process) */
  readonly openWarnings: readonly string[]
  private readonly db: Database
  private readonly writer: ClientLogWriter
  private readonly now: () => number
  private readonly retentionMs: number
  private readonly index: CountingWindow
  private readonly maxSizeBytes: number | undefined
  private readonly onSizeCapPruned: ClientLogOptions['onSizeCapPruned']
  private rowsSinceSizeCheck = 0
  private closed = false

  private constructor(file: string, db: Database, options: ClientLogOptions, openWarnings: string[]) {
    this.file = file
    this.db = db
    this.now = options.now
    this.retentionMs = options.retentionDays * DAY_MS
    this.index = new CountingWindow(options.countWindowMs ?? DEFAULT_COUNT_WINDOW_MS, this.now)
    this.openWarnings = openWarnings
    this.maxSizeBytes = options.maxSizeBytes
    this.onSizeCapPruned = options.onSizeCapPruned
    this.writer = new ClientLogWriter(db, {
      groupWindowMs: options.groupWindowMs ?? 0,
      maxBatch: options.maxBatch ?? 2000,
      idleCheckpointMs: options.idleCheckpointMs ?? 1000,
      // Failed entries were already counted; make the counts match the database again.
      onCommitFailed: () => this.rebuildIndex(),
      onCommitted: (rows) => {
        if (this.maxSizeBytes === undefined) return
        this.rowsSinceSizeCheck += rows
        if (this.rowsSinceSizeCheck >= SIZE_CHECK_EVERY_ROWS) this.keepWithinSizeCap()
      }
    })
  }

  /**
   * Removes the oldest rows while the database holds more than its cap, down to 90 % of it (a little headroom, so
   * this does not run again at the very next check). The counts are rebuilt from what remains.
   */
  keepWithinSizeCap(): number {
    this.rowsSinceSizeCheck = 0
    const cap = this.maxSizeBytes
    if (cap === undefined || usedBytes(this.db) <= cap) return 0
    let removed = 0
    for (let guard = 0; usedBytes(this.db) > cap * 0.9 && guard < 1000; guard++) {
      const rows = rowCount(this.db)
      if (rows === 0) break
      const deleted = deleteOldestRows(this.db, Math.max(1, Math.min(PURGE_CHUNK_ROWS, Math.ceil(rows / 10))))
      removed += deleted
      if (deleted === 0) break
    }
    this.rebuildIndex()
    this.onSizeCapPruned?.({ rows: removed, capBytes: cap })
    return removed
  }

  /** Bytes the database's pages hold now. */
  get sizeBytes(): number {
    this.assertOpen()
    return usedBytes(this.db)
  }

  /**
   * Opens (creating if needed) the log at `file`: takes ownership, migrates the schema, purges rows older than
   * the retention, and rebuilds the in-memory counts from the database.
   * Throws ClientLogBusyError if another live process has it open, ClientLogFormatError if it is not ours.
   */
  static async open(file: string, options: ClientLogOptions): Promise<ClientLog> {
    if (!(options.retentionDays > 0)) throw new RangeError('retentionDays must be positive')
    const resolved = path.resolve(file)
    refuseWhatIsNotALog(resolved)
    const warnings = claimOwnership(resolved)
    let db: Database | undefined
    try {
      // Loaded here, not at the top: the SQLite engine (a WebAssembly module, ~50 ms and ~12 MB to load) is needed
      // only by the process that serves the lab host, not by every CLI command that imports this module's types.
      const { default: sqlite } = await import('node-sqlite3-wasm')
      db = new sqlite.Database(resolved)
      prepareClientLogDatabase(db, resolved, options.durability ?? 'process', options.checkpointPages ?? 4096)
      const log = new ClientLog(resolved, db, options, warnings)
      log.purgeAtOpen(options.now() - log.retentionMs)
      log.rebuildIndex()
      return log
    } catch (error) {
      if (db?.isOpen) db.close()
      releaseOwnership(resolved)
      throw error
    }
  }

  /**
   * Adds one request to the log. The entry counts for distinctClients()/countFor() immediately; the promise
   * resolves once its transaction has committed (reply to the client only then). Rejects with a ZodError for an
   * invalid entry (nothing is written), or with the database error if the commit failed.
   */
  record(entry: ClientLogEntryInput): Promise<void> {
    if (this.closed) return Promise.reject(new Error('client log is closed'))
    let valid: ClientLogEntry
    try {
      valid = clientLogEntrySchema.parse(entry)
    } catch (error) {
      return Promise.reject(error)
    }
    this.index.observe(valid)
    return this.writer.enqueue(valid)
  }

  /**
   * The number of distinct CMIDs last seen for `key` at or after `sinceMs` (outcome 'ok' only, including
   * records not yet committed). Counting never reaches further back than the counting window (now −
   * countWindowMs, by the injected clock): an earlier `sinceMs` means the window start.
   */
  distinctClients(key: CountKey, sinceMs: number): number {
    return this.index.distinctClients(key, sinceMs)
  }

  /**
   * The Count to answer a client with: distinct CMIDs in the counting window ending at `nowMs`, this client
   * included, capped at `cap` (pass 2 × N_Policy, as genuine hosts do). Call it and then record() in the same
   * synchronous turn, so concurrent clients each see the others.
   */
  countFor(key: CountKey, cmid: string, nowMs: number, cap?: number): number {
    return this.index.countFor(key, cmid, nowMs, cap)
  }

  /** Distinct clients in the counting window ending at `nowMs`, per application and per KMS counted ID. */
  summary(nowMs: number): CountSummary {
    return this.index.summaryAt(nowMs)
  }

  /**
   * Every client that counts, seen since `sinceMs`, with its last-seen time, oldest first (what is pending is
   * committed first): what a writer thread hands its owner to rebuild the counts there.
   */
  async countedClients(sinceMs: number): Promise<CountedClient[]> {
    this.assertOpen()
    this.writer.flush()
    return readCountedClients(this.db, sinceMs)
  }

  /** The newest committed rows, newest first. */
  async recent(limit: number): Promise<ClientLogRow[]> {
    this.assertOpen()
    return readRecentRows(this.db, limit)
  }

  /**
   * Deletes rows older than `olderThanMs` (in chunks, yielding to the event loop between them) and forgets
   * those clients in the counts, so counts stay equal to what a reopen would rebuild. Returns rows deleted.
   */
  async purge(olderThanMs: number): Promise<number> {
    this.assertOpen()
    this.writer.flush()
    let total = 0
    for (;;) {
      const deleted = deleteRowsOlderThan(this.db, olderThanMs, PURGE_CHUNK_ROWS)
      total += deleted
      if (deleted < PURGE_CHUNK_ROWS) break
      await new Promise((resolve) => setImmediate(resolve))
      this.assertOpen()
    }
    this.index.expire(olderThanMs)
    return total
  }

  /** purge() with the configured retention and clock. */
  purgeExpired(): Promise<number> {
    return this.purge(this.now() - this.retentionMs)
  }

  /** SQLite's `PRAGMA integrity_check` (after committing what is pending). */
  async integrityCheck(): Promise<IntegrityResult> {
    this.assertOpen()
    this.writer.flush()
    const messages = this.db.all('PRAGMA integrity_check').map((row) => String(Object.values(row)[0]))
    return { ok: messages.length === 1 && messages[0] === 'ok', messages }
  }

  /**
   * Writes a consistent standalone copy (rollback-journal mode) to `targetFile`, which must not exist. While
   * the host runs, tools like `sqlite3` should open such a copy rather than the live file (docs/storage.md).
   */
  async snapshotTo(targetFile: string): Promise<void> {
    this.assertOpen()
    this.writer.flush()
    this.db.run('VACUUM INTO ?', [path.resolve(targetFile)])
  }

  /** Records not yet committed. */
  get pendingCount(): number {
    return this.writer.pendingCount
  }

  /** Checkpoints the WAL into the database file now (as the idle timer does); returns the WAL size in pages before. */
  checkpoint(): number {
    this.assertOpen()
    return this.writer.checkpoint()
  }

  /** Commits not yet checkpointed into the database file. */
  get commitsSinceCheckpoint(): number {
    return this.writer.commitsSinceCheckpoint
  }

  /** Commits what is pending, closes the database (checkpointing the WAL into the main file) and releases it. */
  async close(): Promise<void> {
    if (this.closed) return
    this.writer.flush()
    this.closed = true
    try {
      this.writer.close()
      this.db.close()
    } finally {
      releaseOwnership(this.file)
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('client log is closed')
  }

  /** At open nothing else runs yet, so the whole purge goes in one go (still chunked per statement). */
  private purgeAtOpen(olderThanMs: number): void {
    while (deleteRowsOlderThan(this.db, olderThanMs, PURGE_CHUNK_ROWS) >= PURGE_CHUNK_ROWS) {
      // keep deleting until a chunk comes back short
    }
  }

  /** Counts from the database (the source of truth) plus what is recorded but not yet committed. */
  private rebuildIndex(): void {
    this.index.rebuild(readCountedClients(this.db, this.index.startAt()), this.writer.pendingEntries())
  }
}

/** The first 16 bytes of every SQLite database file. */
const SQLITE_HEADER = 'SQLite format 3\0'

/**
 * Before anything is opened or written: a folder, or an existing file that is not an SQLite database (a text
 * file named by mistake), is refused with a clear error and left exactly as it is.
 */
function refuseWhatIsNotALog(file: string): void {
  let stat: fs.Stats
  try {
    stat = fs.statSync(file)
  } catch {
    return // does not exist yet: it will be created
  }
  if (stat.isDirectory()) throw new ClientLogFormatError(`${file} is a folder, not a client log file`)
  if (!stat.isFile()) throw new ClientLogFormatError(`${file} is not a regular file`)
  if (stat.size === 0) return
  const header = Buffer.alloc(16)
  const fd = fs.openSync(file, 'r')
  try {
    fs.readSync(fd, header, 0, 16, 0)
  } finally {
    fs.closeSync(fd)
  }
  if (header.toString('latin1') !== SQLITE_HEADER) {
    throw new ClientLogFormatError(`${file} is not an SQLite database (and so not a client log); it was left untouched`)
  }
}
