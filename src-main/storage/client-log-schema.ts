/**
 * Everything about the client log that is written in SQL: checking that a file is ours, the pragmas, the
 * migrations, the mapping between entries and rows, and the queries. Keeping it in one place means a schema
 * change touches one module, and the rest of the client log deals only in ClientLogEntry values.
 *
 * Durability: the database runs in WAL mode with `synchronous=NORMAL` (durability 'process', the default): a
 * commit is a write() of the WAL frames, which the OS keeps even if this process is killed (kill -9, crash); a
 * power loss may drop the last commits (never corrupting the file). Durability 'power' uses `synchronous=FULL`:
 * an fsync per commit.
 */
import type { Database, SQLiteValue } from 'node-sqlite3-wasm'
import type { ClientLogEntry, ClientLogRow } from './client-log-entry'

/** `PRAGMA application_id` of our files: "KMSS" (KMS Scout), so we never write into somebody else's database. */
export const CLIENT_LOG_APPLICATION_ID = 0x4b4d5353

/** The file is not a KMS Scout client log, or was written by a newer version. */
export class ClientLogFormatError extends Error {
  override name = 'ClientLogFormatError'
}

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
    `
  }
]

/** The schema version (`PRAGMA user_version`) this code writes. */
const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0

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
  'hresult'
] as const

/** Takes the values of entryToRow(), in COLUMNS order. */
export const INSERT_REQUEST_SQL = `INSERT INTO requests (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`

// ---------------------------------------------------------------------------------------------------------------
// Opening

/**
 * Makes a freshly opened connection ready for the client log: exclusive locking, format check, pragmas,
 * migrations. Throws ClientLogFormatError if the file is not ours (before anything has written to it).
 */
export function prepareClientLogDatabase(db: Database, file: string, durability: 'process' | 'power', checkpointPages: number): void {
  // Exclusive locking first: this VFS has no shared memory, so a WAL file (left by a killed process) can only
  // be read that way. Then check the file is ours before anything writes to it (switching to WAL would).
  db.exec('PRAGMA locking_mode = EXCLUSIVE')
  checkFormat(db, file)
  configure(db, durability, checkpointPages)
  migrate(db)
}

function checkFormat(db: Database, file: string): void {
  const applicationId = Number(db.get('PRAGMA application_id')?.application_id ?? 0)
  const version = Number(db.get('PRAGMA user_version')?.user_version ?? 0)
  const objects = Number(db.get('SELECT count(*) AS n FROM sqlite_schema')?.n ?? 0)
  if (applicationId !== CLIENT_LOG_APPLICATION_ID && (applicationId !== 0 || objects > 0)) {
    throw new ClientLogFormatError(`${file} is not a KMS Scout client log; refusing to modify it`)
  }
  if (version > LATEST_SCHEMA_VERSION) {
    throw new ClientLogFormatError(
      `${file} has schema version ${version}, newer than this KMS Scout understands (${LATEST_SCHEMA_VERSION}); refusing to modify it`
    )
  }
}

function configure(db: Database, durability: 'process' | 'power', checkpointPages: number): void {
  // WAL keeps its index in shared memory unless the connection holds the lock for the whole session; this VFS
  // has no shared memory, hence locking_mode=EXCLUSIVE (set before the first read).
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

// ---------------------------------------------------------------------------------------------------------------
// Rows and queries

export function entryToRow(entry: ClientLogEntry): SQLiteValue[] {
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
    entry.hresult
  ]
}

function rowToEntry(row: Record<string, SQLiteValue>): ClientLogRow {
  const text = (value: SQLiteValue | undefined): string | null => (value === null || value === undefined ? null : String(value))
  const int = (value: SQLiteValue | undefined): number | null => (value === null || value === undefined ? null : Number(value))
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
    hresult: int(row.hresult)
  }
}

/** The newest rows, newest first. */
export function readRecentRows(db: Database, limit: number): ClientLogRow[] {
  const rows = db.all('SELECT * FROM requests ORDER BY id DESC LIMIT ?', [Math.max(0, Math.floor(limit))])
  return rows.map((row) => rowToEntry(row as Record<string, SQLiteValue>))
}

/** Deletes at most `limit` rows older than `olderThanMs`; the limit keeps one statement from blocking for long. */
export function deleteRowsOlderThan(db: Database, olderThanMs: number, limit: number): number {
  return db.run('DELETE FROM requests WHERE id IN (SELECT id FROM requests WHERE time_ms < ? LIMIT ?)', [olderThanMs, limit]).changes
}

/** Deletes the `limit` oldest rows; returns how many went. */
export function deleteOldestRows(db: Database, limit: number): number {
  return db.run('DELETE FROM requests WHERE id IN (SELECT id FROM requests ORDER BY id LIMIT ?)', [limit]).changes
}

/** Bytes the database's pages hold (free pages not included; the WAL not included). */
export function usedBytes(db: Database): number {
  const pages = Number(db.get('PRAGMA page_count')?.page_count ?? 0)
  const free = Number(db.get('PRAGMA freelist_count')?.freelist_count ?? 0)
  const size = Number(db.get('PRAGMA page_size')?.page_size ?? 4096)
  return (pages - free) * size
}

/** Rows in the log. */
export function rowCount(db: Database): number {
  return Number(db.get('SELECT COUNT(*) AS n FROM requests')?.n ?? 0)
}

export interface CountedClient {
  applicationId: string
  kmsCountedId: string
  cmid: string
  lastSeenMs: number
}

/** Every client that counts (outcome 'ok') seen since `sinceMs`, with its last-seen time, oldest first. */
export function readCountedClients(db: Database, sinceMs: number): CountedClient[] {
  const rows = db.all(
    `SELECT application_id, kms_counted_id, cmid, MAX(time_ms) AS last_seen
       FROM requests
      WHERE outcome = 'ok' AND time_ms >= ?
      GROUP BY application_id, kms_counted_id, cmid
      ORDER BY last_seen`,
    [sinceMs]
  )
  return rows.map((row) => ({
    applicationId: String(row.application_id),
    kmsCountedId: String(row.kms_counted_id),
    cmid: String(row.cmid),
    lastSeenMs: Number(row.last_seen)
  }))
}
