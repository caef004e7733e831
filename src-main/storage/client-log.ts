/**
 * The lab host's client log: one SQLite row per KMS request it handled, in a file the `sqlite3` command-line
 * tool can open. Choice of library, measurements and trade-offs: docs/sqlite-choice.md; usage: docs/storage.md.
 *
 * Durability: `record()` resolves only after the row's transaction has committed. The database runs in WAL mode
 * with `synchronous=NORMAL` (durability 'process', the default): a commit is a write() of the WAL frames, which
 * the OS keeps even if this process is killed (kill -9, crash); a power loss may drop the last commits (never
 * corrupting the file). Durability 'power' uses `synchronous=FULL`: an fsync per commit.
 *
 * Group commit: entries recorded in the same event-loop turn (or within `groupWindowMs`) are written in one
 * transaction, so the cost of a commit is shared; the host answers each client when its record() resolves.
 *
 * Counting: the number of distinct CMIDs per KMS counted ID / per application in the counting window (30 days)
 * comes from an in-memory index (CMID → last seen), rebuilt from the database at open and updated by record()
 * synchronously. The database stays the source of truth; the index only makes the per-request count O(1).
 *
 * Locking: node-sqlite3-wasm locks by creating the directory `<db>.lock` (the scheme SQLite's `unix-dotfile`
 * VFS uses). We hold it for the whole session (locking_mode=EXCLUSIVE, which WAL needs because this VFS has no
 * shared memory). A process killed with -9 leaves that directory behind, so we also write `<db>.owner` (pid,
 * host) and remove a lock left by an owner that is no longer running.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import sqlite from 'node-sqlite3-wasm'
import type { Database, Statement, SQLiteValue } from 'node-sqlite3-wasm'
import { z } from 'zod'

/** `PRAGMA application_id` of our files: "KMSS" (KMS Scout), so we never write into somebody else's database. */
export const CLIENT_LOG_APPLICATION_ID = 0x4b4d5353
export const DAY_MS = 86_400_000
/** A genuine host counts the distinct CMIDs of the last 30 days (PROTOCOL.md §10.1). */
export const DEFAULT_COUNT_WINDOW_MS = 30 * DAY_MS

const guidText = z
  .string()
  .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'must be a GUID')
  .transform((guid) => guid.toLowerCase())
const u32 = z.number().int().min(0).max(0xffff_ffff)
const u16 = z.number().int().min(0).max(0xffff)

/**
 * One handled request. Field names follow PROTOCOL.md §3 (vlmcsd/Wireshark names in the comments). Request
 * fields are null when the request could not be decoded far enough to know them.
 */
export const clientLogEntrySchema = z
  .object({
    /** when the host handled the request, Unix epoch milliseconds (UTC) */
    timeMs: z.number().int().min(0).max(8.64e15),
    /** peer address as `ip:port` (`[ipv6]:port`) */
    clientAddress: z.string().max(64),
    /** ClientMachineId (CMID) */
    cmid: guidText.nullable(),
    /** PreviousClientMachineId (CMID_prev); null if zero or unknown */
    previousCmid: guidText.nullable().default(null),
    /** WorkstationName */
    workstationName: z.string().max(64).nullable(),
    /** ApplicationId (AppID) */
    applicationId: guidText.nullable(),
    /** ActivationId (ActID, the SKU) */
    skuId: guidText.nullable(),
    /** the SKU's product name from products.json, null if the SKU is unknown */
    productName: z.string().max(200).nullable(),
    /** KmsCountedId (KMSID) */
    kmsCountedId: guidText.nullable(),
    /** MajorVer / MinorVer of the request */
    protocolMajor: u16.nullable(),
    protocolMinor: u16.nullable(),
    /** N_Policy (RequiredClientCount) the client asked for */
    requiredClientCount: u32.nullable().default(null),
    /** LicenseStatus (0 unlicensed, 1 licensed, 2 OOB grace, ...) */
    licenseStatus: u32.nullable(),
    /** the Count (CurrentCount) the host answered with; null for errors */
    countReturned: u32.nullable(),
    /** 'ok': a normal response was sent; 'error': an HRESULT error response, an RPC fault, or nothing */
    outcome: z.enum(['ok', 'error']),
    /** the error as an unsigned 32-bit HRESULT, e.g. 0xC004F042; null when ok or not applicable */
    hresult: u32.nullable().default(null),
  })
  .superRefine((entry, ctx) => {
    // Counting needs these; a host that answered normally has decoded them.
    if (entry.outcome === 'ok') {
      for (const key of ['cmid', 'applicationId', 'kmsCountedId'] as const) {
        if (entry[key] === null) ctx.addIssue({ code: 'custom', path: [key], message: `required when outcome is 'ok'` })
      }
    }
  })

export type ClientLogEntry = z.output<typeof clientLogEntrySchema>
/** What record() accepts (previousCmid, requiredClientCount and hresult may be left out). */
export type ClientLogEntryInput = z.input<typeof clientLogEntrySchema>
export type ClientLogRow = ClientLogEntry & { id: number }

/** Counting scope: per application (what Windows hosts do) or per KMS counted ID. */
export type CountKey = { applicationId: string } | { kmsCountedId: string }

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
}

export interface IntegrityResult {
  ok: boolean
  /** 'ok', or SQLite's list of problems */
  messages: string[]
}

export interface CountSummary {
  byApplication: Array<{ applicationId: string; distinctClients: number }>
  byKmsCountedId: Array<{ kmsCountedId: string; distinctClients: number }>
}

/** The database is used by another running process (or another ClientLog in this one). */
export class ClientLogBusyError extends Error {
  override name = 'ClientLogBusyError'
}

/** The file is not a KMS Scout client log, or was written by a newer version. */
export class ClientLogFormatError extends Error {
  override name = 'ClientLogFormatError'
}

/** Files opened by this process, to refuse a second connection (it would fight over the exclusive lock). */
const openInThisProcess = new Set<string>()

const MIGRATIONS: ReadonlyArray<{ version: number; sql: string }> = [
  {
    version: 1,
    sql: `
      CREATE TABLE requests (
        id                    INTEGER PRIMARY KEY,
        time_ms               INTEGER NOT NULL,  -- Unix epoch ms, UTC
        client_address        TEXT NOT NULL,
        cmid                  TEXT,              -- lowercase GUIDs throughout
        previous_cmid         TEXT,
        workstation_name      TEXT,
        application_id        TEXT,
        sku_id                TEXT,
        product_name          TEXT,
        kms_counted_id        TEXT,
        protocol_major        INTEGER,
        protocol_minor        INTEGER,
        required_client_count INTEGER,
        license_status        INTEGER,
        count_returned        INTEGER,
        outcome               TEXT NOT NULL CHECK (outcome IN ('ok', 'error')),
        hresult               INTEGER            -- unsigned 32-bit
      );
      -- purge, time windows, rebuilding the counts at open
      CREATE INDEX requests_by_time ON requests (time_ms);
      -- counting distinct clients per KMS counted ID in SQL; only rows that count. (Per-application counts in
      -- SQL use the time index; a third index cost about 40% of the insert rate, see docs/sqlite-choice.md.)
      CREATE INDEX requests_count_by_kms_id ON requests (kms_counted_id, time_ms) WHERE outcome = 'ok';
      -- for people using the sqlite3 tool
      CREATE VIEW requests_readable AS
        SELECT id,
               strftime('%Y-%m-%dT%H:%M:%fZ', time_ms / 1000.0, 'unixepoch') AS time,
               client_address, cmid, workstation_name, product_name, sku_id, kms_counted_id, application_id,
               protocol_major || '.' || protocol_minor AS protocol, license_status, required_client_count,
               count_returned, outcome,
               CASE WHEN hresult IS NULL THEN NULL ELSE printf('0x%08X', hresult) END AS hresult
        FROM requests;
    `,
  },
]

const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0
/** The schema version (`PRAGMA user_version`) this code writes. */
export const CLIENT_LOG_SCHEMA_VERSION = LATEST_SCHEMA_VERSION

const COLUMNS = [
  'time_ms',
  'client_address',
  'cmid',
  'previous_cmid',
  'workstation_name',
  'application_id',
  'sku_id',
  'product_name',
  'kms_counted_id',
  'protocol_major',
  'protocol_minor',
  'required_client_count',
  'license_status',
  'count_returned',
  'outcome',
  'hresult',
] as const

const INSERT_SQL = `INSERT INTO requests (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`

interface Pending {
  entry: ClientLogEntry
  resolve: () => void
  reject: (error: unknown) => void
}

export class ClientLog {
  readonly file: string
  /** problems found and repaired while opening (e.g. a stale lock left by a killed process) */
  readonly openWarnings: readonly string[]
  private readonly db: Database
  private insert: Statement
  private readonly now: () => number
  private readonly retentionMs: number
  private readonly countWindowMs: number
  private readonly groupWindowMs: number
  private readonly maxBatch: number
  private readonly index = new ClientCountIndex()
  private pending: Pending[] = []
  private flushTimer: NodeJS.Immediate | NodeJS.Timeout | undefined
  private readonly idleCheckpointMs: number
  private idleCheckpointTimer: NodeJS.Timeout | undefined
  /** commits since the last checkpoint */
  private uncheckpointed = 0
  private closed = false

  private constructor(file: string, db: Database, options: ClientLogOptions, openWarnings: string[]) {
    this.file = file
    this.db = db
    this.now = options.now
    this.retentionMs = options.retentionDays * DAY_MS
    this.countWindowMs = options.countWindowMs ?? DEFAULT_COUNT_WINDOW_MS
    this.groupWindowMs = options.groupWindowMs ?? 0
    this.idleCheckpointMs = options.idleCheckpointMs ?? 1000
    this.maxBatch = options.maxBatch ?? 2000
    this.openWarnings = openWarnings
    this.insert = db.prepare(INSERT_SQL)
  }

  /**
   * Opens (creating if needed) the log at `file`: takes ownership, migrates the schema, purges rows older than
   * the retention, and rebuilds the in-memory counts from the database.
   * Throws ClientLogBusyError if another live process has it open, ClientLogFormatError if it is not ours.
   */
  static async open(file: string, options: ClientLogOptions): Promise<ClientLog> {
    if (!(options.retentionDays > 0)) throw new RangeError('retentionDays must be positive')
    const resolved = path.resolve(file)
    if (openInThisProcess.has(resolved)) throw new ClientLogBusyError(`${resolved} is already open in this process`)
    fs.mkdirSync(path.dirname(resolved), { recursive: true })
    const warnings = takeOwnership(resolved)
    openInThisProcess.add(resolved)
    let db: Database | undefined
    try {
      db = new sqlite.Database(resolved)
      // Exclusive locking first: this VFS has no shared memory, so a WAL file (left by a killed process) can only
      // be read that way. Then check the file is ours before anything writes to it (switching to WAL would).
      db.exec('PRAGMA locking_mode = EXCLUSIVE')
      checkFormat(db, resolved)
      configure(db, options.durability ?? 'process', options.checkpointPages ?? 4096)
      migrate(db)
      const log = new ClientLog(resolved, db, options, warnings)
      log.purgeNow(options.now() - log.retentionMs)
      log.rebuildIndex()
      return log
    } catch (error) {
      if (db?.isOpen) db.close()
      openInThisProcess.delete(resolved)
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
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ entry: valid, resolve, reject })
      this.scheduleFlush()
    })
  }

  /**
   * The number of distinct CMIDs last seen for `key` at or after `sinceMs` (outcome 'ok' only, including
   * records not yet committed). Counting never reaches further back than the counting window (now −
   * countWindowMs, by the injected clock): an earlier `sinceMs` means the window start.
   */
  distinctClients(key: CountKey, sinceMs: number): number {
    const since = Math.max(sinceMs, this.now() - this.countWindowMs)
    return this.index.count(countMap(key), countKeyId(key), since)
  }

  /**
   * The Count to answer a client with: distinct CMIDs in the counting window ending at `nowMs`, this client
   * included, capped at `cap` (pass 2 × N_Policy, as genuine hosts do). Call it and then record() in the same
   * synchronous turn, so concurrent clients each see the others.
   */
  countFor(key: CountKey, cmid: string, nowMs: number, cap?: number): number {
    const map = countMap(key)
    const id = countKeyId(key)
    const since = nowMs - this.countWindowMs
    this.index.expire(since)
    const counted = this.index.count(map, id, since)
    const seen = this.index.lastSeen(map, id, cmid.toLowerCase())
    const count = counted + (seen !== undefined && seen >= since ? 0 : 1)
    return cap === undefined ? count : Math.min(count, cap)
  }

  /** Distinct clients in the counting window ending at `nowMs`, per application and per KMS counted ID. */
  summary(nowMs: number): CountSummary {
    const since = nowMs - this.countWindowMs
    return {
      byApplication: this.index
        .keys('application')
        .map((applicationId) => ({ applicationId, distinctClients: this.index.count('application', applicationId, since) })),
      byKmsCountedId: this.index
        .keys('kmsCountedId')
        .map((kmsCountedId) => ({ kmsCountedId, distinctClients: this.index.count('kmsCountedId', kmsCountedId, since) })),
    }
  }

  /** The newest committed rows, newest first. */
  async recent(limit: number): Promise<ClientLogRow[]> {
    this.assertOpen()
    const rows = this.db.all('SELECT * FROM requests ORDER BY id DESC LIMIT ?', [Math.max(0, Math.floor(limit))])
    return rows.map((row) => rowToEntry(row as Record<string, SQLiteValue>))
  }

  /**
   * Deletes rows older than `olderThanMs` (in chunks, yielding to the event loop between them) and forgets
   * those clients in the counts, so counts stay equal to what a reopen would rebuild. Returns rows deleted.
   */
  async purge(olderThanMs: number): Promise<number> {
    this.assertOpen()
    this.flushNow()
    let total = 0
    for (;;) {
      const deleted = this.purgeChunk(olderThanMs, 5000)
      total += deleted
      if (deleted < 5000) break
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
    this.flushNow()
    const messages = this.db.all('PRAGMA integrity_check').map((row) => String(Object.values(row)[0]))
    return { ok: messages.length === 1 && messages[0] === 'ok', messages }
  }

  /**
   * Writes a consistent standalone copy (rollback-journal mode) to `targetFile`, which must not exist. While
   * the host runs, tools like `sqlite3` should open such a copy rather than the live file (docs/storage.md).
   */
  async snapshotTo(targetFile: string): Promise<void> {
    this.assertOpen()
    this.flushNow()
    this.db.run('VACUUM INTO ?', [path.resolve(targetFile)])
  }

  /** Records not yet committed. */
  get pendingCount(): number {
    return this.pending.length
  }

  /** Commits what is pending, closes the database (checkpointing the WAL into the main file) and releases it. */
  async close(): Promise<void> {
    if (this.closed) return
    this.flushNow()
    this.closed = true
    clearTimeout(this.idleCheckpointTimer)
    try {
      this.insert.finalize()
      this.db.close()
    } finally {
      openInThisProcess.delete(this.file)
      releaseOwnership(this.file)
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('client log is closed')
  }

  private scheduleFlush(): void {
    if (this.flushTimer !== undefined) return
    const run = (): void => {
      this.flushTimer = undefined
      this.flushNow(true)
    }
    // setImmediate runs after this turn's I/O callbacks: every request that arrived in the same turn joins the batch.
    this.flushTimer = this.groupWindowMs > 0 ? setTimeout(run, this.groupWindowMs) : setImmediate(run)
  }

  private cancelScheduledFlush(): void {
    if (this.flushTimer === undefined) return
    clearTimeout(this.flushTimer as NodeJS.Timeout)
    clearImmediate(this.flushTimer as NodeJS.Immediate)
    this.flushTimer = undefined
  }

  /**
   * Commits what is pending, in transactions of at most maxBatch rows. From the timer (`yieldBetweenBatches`) a
   * large backlog is split across event-loop turns; close(), purge() etc. commit everything at once.
   */
  private flushNow(yieldBetweenBatches = false): void {
    this.cancelScheduledFlush()
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.maxBatch)
      const error = this.commit(batch.map((item) => item.entry))
      if (error === undefined) {
        this.noteCommit()
        for (const item of batch) item.resolve()
      } else {
        // One bad row must not fail its neighbours: retry each on its own, then settle each by its own result.
        for (const item of batch) {
          const own = batch.length === 1 ? error : this.commit([item.entry])
          if (own === undefined) item.resolve()
          else item.reject(own)
        }
        // Failed entries were already counted; make the counts match the database again. If even reading
        // fails, keep the old counts: this can run from a timer, where a throw would take the process down.
        try {
          this.rebuildIndex()
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
    this.idleCheckpointTimer = setTimeout(() => this.checkpointWhenIdle(), this.idleCheckpointMs)
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

  /** Checkpoints the WAL into the database file now (as the idle timer does); returns the WAL size in pages before. */
  checkpoint(): number {
    this.assertOpen()
    this.flushNow()
    const row = this.db.get('PRAGMA wal_checkpoint(PASSIVE)')
    this.uncheckpointed = 0
    return Number(row?.log ?? 0)
  }

  /** Commits not yet checkpointed into the database file. */
  get commitsSinceCheckpoint(): number {
    return this.uncheckpointed
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
      this.insert = this.db.prepare(INSERT_SQL)
      return error
    }
  }

  private purgeNow(olderThanMs: number): number {
    let total = 0
    for (let deleted = Infinity; deleted >= 5000; total += deleted) deleted = this.purgeChunk(olderThanMs, 5000)
    return total
  }

  private purgeChunk(olderThanMs: number, limit: number): number {
    return this.db.run('DELETE FROM requests WHERE id IN (SELECT id FROM requests WHERE time_ms < ? LIMIT ?)', [
      olderThanMs,
      limit,
    ]).changes
  }

  /** Counts from the database (the source of truth) plus what is recorded but not yet committed. */
  private rebuildIndex(): void {
    this.index.clear()
    const since = this.now() - this.countWindowMs
    const rows = this.db.all(
      `SELECT application_id, kms_counted_id, cmid, MAX(time_ms) AS last_seen
         FROM requests
        WHERE outcome = 'ok' AND time_ms >= ?
        GROUP BY application_id, kms_counted_id, cmid
        ORDER BY last_seen`,
      [since],
    )
    for (const row of rows) {
      this.index.add(
        String(row.application_id),
        String(row.kms_counted_id),
        String(row.cmid),
        Number(row.last_seen),
      )
    }
    for (const { entry } of this.pending) this.index.observe(entry)
  }
}

/** Same as ClientLog.open. */
export function openClientLog(file: string, options: ClientLogOptions): Promise<ClientLog> {
  return ClientLog.open(file, options)
}

// ---------------------------------------------------------------------------------------------------------------
// In-memory counts

type CountMapName = 'application' | 'kmsCountedId'

function countMap(key: CountKey): CountMapName {
  return 'applicationId' in key ? 'application' : 'kmsCountedId'
}

function countKeyId(key: CountKey): string {
  return ('applicationId' in key ? key.applicationId : key.kmsCountedId).toLowerCase()
}

/**
 * CMID → last seen (epoch ms) per application and per KMS counted ID. Each inner Map is kept in ascending
 * last-seen order (re-inserting moves an entry to the end), so expiring old clients and counting "since t" only
 * touch the old end. If the clock goes backwards the order breaks; the map is then marked unsorted and sorted
 * again the next time it is expired.
 */
class ClientCountIndex {
  private readonly maps: Record<CountMapName, Map<string, ClientsByLastSeen>> = {
    application: new Map(),
    kmsCountedId: new Map(),
  }

  clear(): void {
    this.maps.application.clear()
    this.maps.kmsCountedId.clear()
  }

  observe(entry: ClientLogEntry): void {
    if (entry.outcome !== 'ok' || entry.cmid === null || entry.applicationId === null || entry.kmsCountedId === null) {
      return
    }
    this.add(entry.applicationId, entry.kmsCountedId, entry.cmid, entry.timeMs)
  }

  add(applicationId: string, kmsCountedId: string, cmid: string, timeMs: number): void {
    this.group('application', applicationId).touch(cmid, timeMs)
    this.group('kmsCountedId', kmsCountedId).touch(cmid, timeMs)
  }

  count(map: CountMapName, id: string, sinceMs: number): number {
    return this.maps[map].get(id)?.countSince(sinceMs) ?? 0
  }

  lastSeen(map: CountMapName, id: string, cmid: string): number | undefined {
    return this.maps[map].get(id)?.lastSeen(cmid)
  }

  keys(map: CountMapName): string[] {
    return [...this.maps[map].keys()].sort()
  }

  /** Forgets every client last seen before `beforeMs`. */
  expire(beforeMs: number): void {
    for (const groups of Object.values(this.maps)) {
      for (const [id, clients] of groups) {
        clients.expire(beforeMs)
        if (clients.size === 0) groups.delete(id)
      }
    }
  }

  private group(map: CountMapName, id: string): ClientsByLastSeen {
    let clients = this.maps[map].get(id)
    if (!clients) {
      clients = new ClientsByLastSeen()
      this.maps[map].set(id, clients)
    }
    return clients
  }
}

class ClientsByLastSeen {
  private entries = new Map<string, number>()
  private newest = -Infinity
  private sorted = true

  get size(): number {
    return this.entries.size
  }

  lastSeen(cmid: string): number | undefined {
    return this.entries.get(cmid)
  }

  touch(cmid: string, timeMs: number): void {
    const previous = this.entries.get(cmid)
    if (previous !== undefined && previous >= timeMs) return
    this.entries.delete(cmid)
    this.entries.set(cmid, timeMs)
    if (timeMs < this.newest) this.sorted = false
    else this.newest = timeMs
  }

  countSince(sinceMs: number): number {
    let older = 0
    for (const seen of this.entries.values()) {
      if (seen >= sinceMs) {
        if (this.sorted) break
      } else {
        older += 1
      }
    }
    return this.entries.size - older
  }

  expire(beforeMs: number): void {
    if (!this.sorted) {
      this.entries = new Map([...this.entries].sort((a, b) => a[1] - b[1]))
      this.sorted = true
    }
    for (const [cmid, seen] of this.entries) {
      if (seen >= beforeMs) break
      this.entries.delete(cmid)
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Rows

function entryToRow(entry: ClientLogEntry): SQLiteValue[] {
  return [
    entry.timeMs,
    entry.clientAddress,
    entry.cmid,
    entry.previousCmid,
    entry.workstationName,
    entry.applicationId,
    entry.skuId,
    entry.productName,
    entry.kmsCountedId,
    entry.protocolMajor,
    entry.protocolMinor,
    entry.requiredClientCount,
    entry.licenseStatus,
    entry.countReturned,
    entry.outcome,
    entry.hresult,
  ]
}

function rowToEntry(row: Record<string, SQLiteValue>): ClientLogRow {
  const text = (value: SQLiteValue | undefined): string | null => (value === null || value === undefined ? null : String(value))
  const int = (value: SQLiteValue | undefined): number | null =>
    value === null || value === undefined ? null : Number(value)
  return {
    id: Number(row.id),
    timeMs: Number(row.time_ms),
    clientAddress: String(row.client_address),
    cmid: text(row.cmid),
    previousCmid: text(row.previous_cmid),
    workstationName: text(row.workstation_name),
    applicationId: text(row.application_id),
    skuId: text(row.sku_id),
    productName: text(row.product_name),
    kmsCountedId: text(row.kms_counted_id),
    protocolMajor: int(row.protocol_major),
    protocolMinor: int(row.protocol_minor),
    requiredClientCount: int(row.required_client_count),
    licenseStatus: int(row.license_status),
    countReturned: int(row.count_returned),
    outcome: row.outcome === 'ok' ? 'ok' : 'error',
    hresult: int(row.hresult),
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Opening: pragmas, schema, ownership

function checkFormat(db: Database, file: string): void {
  const applicationId = Number(db.get('PRAGMA application_id')?.application_id ?? 0)
  const version = Number(db.get('PRAGMA user_version')?.user_version ?? 0)
  const objects = Number(db.get('SELECT count(*) AS n FROM sqlite_schema')?.n ?? 0)
  if (applicationId !== CLIENT_LOG_APPLICATION_ID && (applicationId !== 0 || objects > 0)) {
    throw new ClientLogFormatError(`${file} is not a KMS Scout client log; refusing to modify it`)
  }
  if (version > LATEST_SCHEMA_VERSION) {
    throw new ClientLogFormatError(
      `${file} has schema version ${version}, newer than this KMS Scout understands (${LATEST_SCHEMA_VERSION}); refusing to modify it`,
    )
  }
}

function configure(db: Database, durability: 'process' | 'power', checkpointPages: number): void {
  // WAL keeps its index in shared memory unless the connection holds the lock for the whole session; this VFS
  // has no shared memory, hence locking_mode=EXCLUSIVE (set by the caller before the first read).
  const mode = db.get('PRAGMA journal_mode = WAL')
  if (String(mode?.journal_mode).toLowerCase() !== 'wal') {
    throw new ClientLogFormatError(`could not switch the client log to WAL mode (got ${String(mode?.journal_mode)})`)
  }
  db.exec(`PRAGMA synchronous = ${durability === 'power' ? 'FULL' : 'NORMAL'}`)
  // After a large burst the WAL is cut back to this size at the next checkpoint instead of staying large.
  db.exec('PRAGMA journal_size_limit = 16777216')
  db.exec(`PRAGMA wal_autocheckpoint = ${Math.max(0, Math.floor(checkpointPages))}`)
}

function migrate(db: Database): void {
  const version = Number(db.get('PRAGMA user_version')?.user_version ?? 0)
  for (const migration of MIGRATIONS) {
    if (migration.version <= version) continue
    db.exec('BEGIN IMMEDIATE')
    try {
      db.exec(migration.sql)
      db.exec(`PRAGMA user_version = ${migration.version}`)
      db.exec(`PRAGMA application_id = ${CLIENT_LOG_APPLICATION_ID}`)
      db.exec('COMMIT')
    } catch (error) {
      db.exec('ROLLBACK')
      throw error
    }
  }
}

interface OwnerRecord {
  pid: number
  hostname: string
  startedAt: string
}

/**
 * Claims `<db>.owner` for this process. A live owner means the log is in use (ClientLogBusyError). A dead
 * owner on this machine means it was killed: its `<db>.lock` directory (the VFS lock) is stale and removed.
 */
function takeOwnership(file: string): string[] {
  const ownerFile = `${file}.owner`
  const lockDir = `${file}.lock`
  const warnings: string[] = []
  const owner = readOwner(ownerFile)
  if (owner !== undefined) {
    if (owner !== null && owner.hostname !== os.hostname()) {
      throw new ClientLogBusyError(
        `${file} is in use by process ${owner.pid} on ${owner.hostname} (since ${owner.startedAt}). ` +
          `If that is no longer true, delete ${ownerFile} and ${lockDir}.`,
      )
    }
    if (owner !== null && isProcessAlive(owner.pid)) {
      throw new ClientLogBusyError(`${file} is in use by process ${owner.pid} (since ${owner.startedAt})`)
    }
    fs.rmSync(ownerFile, { force: true })
    if (fs.existsSync(lockDir)) {
      fs.rmdirSync(lockDir)
      warnings.push(
        `Removed the stale lock ${lockDir} left by process ${owner?.pid ?? '(unknown)'}, which is no longer running; ` +
          'its committed records are kept.',
      )
    }
  } else if (fs.existsSync(lockDir)) {
    // A lock with no owner file was not taken by KMS Scout (e.g. sqlite3 -vfs unix-dotfile holding it right now).
    throw new ClientLogBusyError(
      `${file} is locked by another program (${lockDir} exists). Close it and try again, or delete ${lockDir} if nothing uses the file.`,
    )
  }
  const record: OwnerRecord = { pid: process.pid, hostname: os.hostname(), startedAt: new Date().toISOString() }
  try {
    fs.writeFileSync(ownerFile, `${JSON.stringify(record)}\n`, { flag: 'wx' })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new ClientLogBusyError(`${file} was opened by another process at the same moment`)
    }
    throw error
  }
  return warnings
}

function releaseOwnership(file: string): void {
  const ownerFile = `${file}.owner`
  const owner = readOwner(ownerFile)
  if (owner !== undefined && owner !== null && owner.pid === process.pid) fs.rmSync(ownerFile, { force: true })
}

/** undefined: no owner file; null: a file we cannot read as an owner record (treated as stale). */
function readOwner(ownerFile: string): OwnerRecord | null | undefined {
  let text: string
  try {
    text = fs.readFileSync(ownerFile, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  try {
    const value = JSON.parse(text) as Partial<OwnerRecord>
    if (typeof value.pid === 'number' && typeof value.hostname === 'string') {
      return { pid: value.pid, hostname: value.hostname, startedAt: String(value.startedAt) }
    }
  } catch {
    // fall through
  }
  return null
}

function isProcessAlive(pid: number): boolean {
  if (pid === process.pid) return false // our own earlier session that did not close; this process owns it now
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it exists but belongs to someone else
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
