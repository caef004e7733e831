import { execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { once } from 'node:events'
import { describe, it, expect, afterEach, vi } from 'vitest'
import { ZodError } from 'zod'
import { ClientLog, ClientLogBusyError, ClientLogFormatError, CLIENT_LOG_APPLICATION_ID, DAY_MS } from '../../src-main/storage/client-log'
import type { ClientLogEntryInput, ClientLogOptions } from '../../src-main/storage/client-log'
import { sampleLogEntry, sequentialCmid, WIN10_KMS_ID, WINDOWS_APP_ID } from '../helpers/client-log-samples'
import { useTempDirs } from './temp-dir'

const WINDOWS_APP = WINDOWS_APP_ID
const OFFICE_APP = '0ff1ce15-a989-479d-af46-f275c6370663'
const SERVER_KMS_ID = '8449b1fb-f0ea-497a-99ab-66ca96e9a0f5'
const OFFICE_KMS_ID = '86d50b16-4808-41af-b83b-b338274318b2'
const T0 = Date.UTC(2026, 0, 1)

const tempDir = useTempDirs()
const openLogs: ClientLog[] = []
afterEach(async () => {
  for (const log of openLogs.splice(0)) await log.close()
})

const cmid = sequentialCmid

function entry(fields: Partial<ClientLogEntryInput> = {}): ClientLogEntryInput {
  return sampleLogEntry({ timeMs: T0, ...fields })
}

/** A log with a settable clock. */
async function openLog(file: string, options: Partial<ClientLogOptions> & { at?: number } = {}) {
  let now = options.at ?? T0
  const log = await ClientLog.open(file, { retentionDays: 30, now: () => now, ...options })
  openLogs.push(log)
  return { log, setNow: (t: number) => (now = t) }
}

async function closeLog(log: ClientLog): Promise<void> {
  openLogs.splice(openLogs.indexOf(log), 1)
  await log.close()
}

function sqlite3(file: string, sql: string): string {
  return execFileSync('sqlite3', [file, sql], { encoding: 'utf8' }).trim()
}

describe('ClientLog schema', () => {
  it('creates a versioned schema the sqlite3 tool can read and check', async () => {
    const file = path.join(tempDir(), 'log', 'client-log.sqlite')
    const { log } = await openLog(file)
    await log.record(entry({ hresult: null }))
    await log.record(entry({ outcome: 'error', countReturned: null, hresult: 0xc004f042, cmid: cmid(2) }))
    await closeLog(log)
    expect(sqlite3(file, 'PRAGMA integrity_check')).toBe('ok')
    expect(sqlite3(file, 'PRAGMA user_version')).toBe('1')
    expect(sqlite3(file, 'PRAGMA application_id')).toBe(String(CLIENT_LOG_APPLICATION_ID))
    expect(sqlite3(file, 'SELECT count(*) FROM requests')).toBe('2')
    expect(sqlite3(file, 'SELECT time, outcome, hresult, protocol FROM requests_readable ORDER BY id')).toBe(
      '2026-01-01T00:00:00.000Z|ok||6.0\n2026-01-01T00:00:00.000Z|error|0xC004F042|6.0'
    )
    // Closed cleanly: no WAL, lock or owner file stays behind.
    expect(fs.readdirSync(path.dirname(file))).toEqual(['client-log.sqlite'])
  })

  it('reopens an existing log without migrating it again', async () => {
    const file = path.join(tempDir(), 'client-log.sqlite')
    const first = await openLog(file)
    await first.log.record(entry())
    await closeLog(first.log)
    const { log } = await openLog(file)
    expect(await log.recent(10)).toHaveLength(1)
  })

  it('refuses a database that is not a KMS Scout client log, and leaves it untouched', async () => {
    const file = path.join(tempDir(), 'other.sqlite')
    sqlite3(file, 'CREATE TABLE invoices (n INTEGER); INSERT INTO invoices VALUES (1);')
    const before = fs.readFileSync(file)
    await expect(ClientLog.open(file, { retentionDays: 30, now: () => T0 })).rejects.toThrow(ClientLogFormatError)
    expect(fs.readFileSync(file).equals(before)).toBe(true)
    expect(fs.readdirSync(path.dirname(file))).toEqual(['other.sqlite'])
  })

  it('refuses a log written by a newer schema version', async () => {
    const file = path.join(tempDir(), 'client-log.sqlite')
    const { log } = await openLog(file)
    await closeLog(log)
    sqlite3(file, 'PRAGMA user_version = 99')
    await expect(ClientLog.open(file, { retentionDays: 30, now: () => T0 })).rejects.toThrow(/schema version 99/)
  })
})

describe('ClientLog records', () => {
  it('stores every field and returns the newest rows first', async () => {
    const { log } = await openLog(path.join(tempDir(), 'client-log.sqlite'))
    const first = entry({ previousCmid: cmid(9).toUpperCase(), hresult: null })
    const second = entry({
      timeMs: T0 + 1000,
      clientAddress: '[::1]:50001',
      cmid: null,
      workstationName: null,
      applicationId: null,
      skuId: null,
      productName: null,
      kmsCountedId: null,
      protocolMajor: 7,
      protocolMinor: 0,
      requiredClientCount: null,
      licenseStatus: null,
      countReturned: null,
      outcome: 'error',
      hresult: 0x8007000d
    })
    await Promise.all([log.record(first), log.record(second)])
    const rows = await log.recent(10)
    expect(rows.map((r) => r.id)).toEqual([2, 1])
    expect(rows[0]).toEqual({ id: 2, previousCmid: null, ...second })
    expect(rows[1]).toEqual({ id: 1, ...first, previousCmid: cmid(9) })
    expect(await log.recent(1)).toHaveLength(1)
  })

  it('rejects invalid entries without writing anything', async () => {
    const { log } = await openLog(path.join(tempDir(), 'client-log.sqlite'))
    await expect(log.record(entry({ cmid: 'not-a-guid' }))).rejects.toBeInstanceOf(ZodError)
    await expect(log.record(entry({ cmid: null }))).rejects.toThrow(/required when outcome is 'ok'/)
    await expect(log.record(entry({ countReturned: -1 }))).rejects.toBeInstanceOf(ZodError)
    expect(await log.recent(10)).toEqual([])
    expect(log.distinctClients({ applicationId: WINDOWS_APP }, 0)).toBe(0)
  })

  it('commits entries recorded in the same turn as one group', async () => {
    const { log } = await openLog(path.join(tempDir(), 'client-log.sqlite'))
    const promises = Array.from({ length: 100 }, (_, i) => log.record(entry({ cmid: cmid(i) })))
    // Nothing is committed synchronously; all 100 wait for the same flush.
    expect(log.pendingCount).toBe(100)
    await Promise.all(promises)
    expect(log.pendingCount).toBe(0)
    expect(await log.recent(1000)).toHaveLength(100)
  })

  it('splits a large backlog into transactions of maxBatch rows and commits all of it', async () => {
    const { log } = await openLog(path.join(tempDir(), 'client-log.sqlite'), { maxBatch: 7 })
    await Promise.all(Array.from({ length: 50 }, (_, i) => log.record(entry({ cmid: cmid(i) }))))
    expect(await log.recent(1000)).toHaveLength(50)
  })

  it('fails only the entry SQLite refuses, commits its batch neighbours and keeps counts equal to the database', async () => {
    const file = path.join(tempDir(), 'client-log.sqlite')
    const first = await openLog(file)
    await closeLog(first.log)
    // A real database error for one particular row, injected from outside as an operator could.
    sqlite3(
      file,
      "CREATE TRIGGER refuse BEFORE INSERT ON requests WHEN NEW.workstation_name = 'boom' BEGIN SELECT RAISE(ABORT, 'refused'); END;"
    )
    const { log } = await openLog(file)
    const results = await Promise.allSettled([
      log.record(entry({ cmid: cmid(1) })),
      log.record(entry({ cmid: cmid(2), workstationName: 'boom' })),
      log.record(entry({ cmid: cmid(3) }))
    ])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(String((results[1] as PromiseRejectedResult).reason)).toContain('refused')
    expect((await log.recent(10)).map((r) => r.cmid).sort()).toEqual([cmid(1), cmid(3)])
    expect(log.distinctClients({ kmsCountedId: WIN10_KMS_ID }, 0)).toBe(2)
    await log.record(entry({ cmid: cmid(4) }))
    expect(log.distinctClients({ kmsCountedId: WIN10_KMS_ID }, 0)).toBe(3)
  })

  it('commits pending entries on close', async () => {
    const file = path.join(tempDir(), 'client-log.sqlite')
    const { log } = await openLog(file)
    const pending = log.record(entry())
    await closeLog(log)
    await pending
    expect(sqlite3(file, 'SELECT count(*) FROM requests')).toBe('1')
    await expect(log.record(entry())).rejects.toThrow(/closed/)
  })
})

describe('ClientLog counting', () => {
  it('counts distinct CMIDs per KMS counted ID and per application; errors do not count', async () => {
    const { log } = await openLog(path.join(tempDir(), 'client-log.sqlite'))
    await Promise.all([
      log.record(entry({ cmid: cmid(1) })),
      log.record(entry({ cmid: cmid(1), timeMs: T0 + 5 })),
      log.record(entry({ cmid: cmid(2) })),
      log.record(entry({ cmid: cmid(3), kmsCountedId: SERVER_KMS_ID })),
      log.record(entry({ cmid: cmid(2), kmsCountedId: SERVER_KMS_ID })),
      log.record(entry({ cmid: cmid(4), applicationId: OFFICE_APP, kmsCountedId: OFFICE_KMS_ID })),
      log.record(entry({ cmid: cmid(5), outcome: 'error', hresult: 0xc004f042, countReturned: null }))
    ])
    expect(log.distinctClients({ kmsCountedId: WIN10_KMS_ID }, T0)).toBe(2)
    expect(log.distinctClients({ kmsCountedId: SERVER_KMS_ID.toUpperCase() }, T0)).toBe(2)
    expect(log.distinctClients({ applicationId: WINDOWS_APP }, T0)).toBe(3)
    expect(log.distinctClients({ applicationId: OFFICE_APP }, T0)).toBe(1)
    expect(log.distinctClients({ kmsCountedId: WIN10_KMS_ID }, T0 + 1)).toBe(1)
    expect(log.summary(T0)).toEqual({
      byApplication: [
        { applicationId: OFFICE_APP, distinctClients: 1 },
        { applicationId: WINDOWS_APP, distinctClients: 3 }
      ],
      byKmsCountedId: [
        { kmsCountedId: WIN10_KMS_ID, distinctClients: 2 },
        { kmsCountedId: SERVER_KMS_ID, distinctClients: 2 },
        { kmsCountedId: OFFICE_KMS_ID, distinctClients: 1 }
      ].sort((a, b) => a.kmsCountedId.localeCompare(b.kmsCountedId))
    })
  })

  it('countFor includes the asking client once and honours the cap', async () => {
    const { log } = await openLog(path.join(tempDir(), 'client-log.sqlite'))
    const key = { kmsCountedId: WIN10_KMS_ID }
    expect(log.countFor(key, cmid(1), T0)).toBe(1)
    // Count, then record in the same turn, as the host does: each new client sees the earlier ones.
    const acks: Array<Promise<void>> = []
    const counts: number[] = []
    for (const n of [1, 2, 3, 2]) {
      const count = log.countFor(key, cmid(n), T0)
      counts.push(count)
      acks.push(log.record(entry({ cmid: cmid(n), countReturned: count })))
    }
    await Promise.all(acks)
    expect(counts).toEqual([1, 2, 3, 3])
    expect(log.countFor(key, cmid(3).toUpperCase(), T0)).toBe(3)
    expect(log.countFor(key, cmid(4), T0, 2)).toBe(2)
  })

  it('counts only the last 30 days (injected clock)', async () => {
    const { log, setNow } = await openLog(path.join(tempDir(), 'client-log.sqlite'), { retentionDays: 90 })
    const key = { applicationId: WINDOWS_APP }
    await Promise.all([
      log.record(entry({ cmid: cmid(1), timeMs: T0 })),
      log.record(entry({ cmid: cmid(2), timeMs: T0 + 10 * DAY_MS })),
      log.record(entry({ cmid: cmid(3), timeMs: T0 + 20 * DAY_MS }))
    ])
    const now = T0 + 31 * DAY_MS
    setNow(now)
    // Never further back than the window, even when asked (cmid 1 is 31 days old).
    expect(log.distinctClients(key, 0)).toBe(2)
    // cmid 1 was last seen 31 days ago: out of the window, so it counts as new again.
    expect(log.countFor(key, cmid(1), now)).toBe(3)
    expect(log.countFor(key, cmid(2), now)).toBe(2)
    expect(log.distinctClients(key, now - 30 * DAY_MS)).toBe(2)
    // A repeat visit moves a client's last-seen time forward.
    await log.record(entry({ cmid: cmid(2), timeMs: now }))
    // countFor counts the asking client (cmid 9, new) too.
    expect(log.countFor(key, cmid(9), T0 + 45 * DAY_MS)).toBe(3)
    expect(log.countFor(key, cmid(9), T0 + 61 * DAY_MS)).toBe(2)
    expect(log.countFor(key, cmid(9), T0 + 62 * DAY_MS)).toBe(1)
  })

  it('stays exact when the clock goes backwards', async () => {
    const { log } = await openLog(path.join(tempDir(), 'client-log.sqlite'))
    const key = { kmsCountedId: WIN10_KMS_ID }
    await log.record(entry({ cmid: cmid(1), timeMs: T0 + 10 * DAY_MS }))
    await log.record(entry({ cmid: cmid(2), timeMs: T0 + 2 * DAY_MS }))
    await log.record(entry({ cmid: cmid(3), timeMs: T0 + 5 * DAY_MS }))
    expect(log.distinctClients(key, T0 + 3 * DAY_MS)).toBe(2)
    expect(log.distinctClients(key, T0)).toBe(3)
    // Expiry after out-of-order inserts: the window start passes cmid 2 (day 2), then cmid 3 (day 5), then cmid 1.
    expect(log.countFor(key, cmid(4), T0 + 33 * DAY_MS)).toBe(3)
    expect(log.countFor(key, cmid(4), T0 + 36 * DAY_MS)).toBe(2)
    expect(log.countFor(key, cmid(4), T0 + 41 * DAY_MS)).toBe(1)
  })

  it('rebuilds the counts from the database when reopened', async () => {
    const file = path.join(tempDir(), 'client-log.sqlite')
    const first = await openLog(file, { retentionDays: 90 })
    await Promise.all([
      log1Record(first.log, 1, T0),
      log1Record(first.log, 2, T0 + DAY_MS),
      log1Record(first.log, 2, T0 + 2 * DAY_MS),
      log1Record(first.log, 3, T0 + 3 * DAY_MS, OFFICE_APP, OFFICE_KMS_ID)
    ])
    const before = first.log.summary(T0 + 3 * DAY_MS)
    await closeLog(first.log)

    const reopened = await openLog(file, { retentionDays: 90, at: T0 + 3 * DAY_MS })
    expect(reopened.log.summary(T0 + 3 * DAY_MS)).toEqual(before)
    expect(reopened.log.distinctClients({ kmsCountedId: WIN10_KMS_ID }, T0 + DAY_MS)).toBe(1)
    expect(reopened.log.countFor({ kmsCountedId: WIN10_KMS_ID }, cmid(2), T0 + 3 * DAY_MS)).toBe(2)
    await closeLog(reopened.log)

    // Reopened 30.5 days after cmid 1's visit: it is no longer counted, but its row is still in the log.
    const later = await openLog(file, { retentionDays: 90, at: T0 + 30.5 * DAY_MS })
    expect(later.log.distinctClients({ kmsCountedId: WIN10_KMS_ID }, 0)).toBe(1)
    expect(later.log.distinctClients({ applicationId: OFFICE_APP }, 0)).toBe(1)
    expect(await later.log.recent(10)).toHaveLength(4)
  })
})

function log1Record(log: ClientLog, n: number, timeMs: number, applicationId = WINDOWS_APP, kmsCountedId = WIN10_KMS_ID) {
  return log.record(entry({ cmid: cmid(n), timeMs, applicationId, kmsCountedId }))
}

describe('ClientLog retention', () => {
  it('purges rows older than a time and forgets those clients', async () => {
    const { log } = await openLog(path.join(tempDir(), 'client-log.sqlite'), { retentionDays: 90 })
    await Promise.all([
      log1Record(log, 1, T0),
      log1Record(log, 2, T0 + DAY_MS),
      log1Record(log, 2, T0 + 3 * DAY_MS),
      log1Record(log, 3, T0 + 4 * DAY_MS)
    ])
    expect(await log.purge(T0 + 2 * DAY_MS)).toBe(2)
    expect((await log.recent(10)).map((r) => r.timeMs)).toEqual([T0 + 4 * DAY_MS, T0 + 3 * DAY_MS])
    expect(log.distinctClients({ kmsCountedId: WIN10_KMS_ID }, 0)).toBe(2)
  })

  it('purges in chunks when there are many rows', async () => {
    const { log } = await openLog(path.join(tempDir(), 'client-log.sqlite'), { retentionDays: 90 })
    await Promise.all(Array.from({ length: 12_000 }, (_, i) => log1Record(log, i % 50, T0 + i)))
    expect(await log.purge(T0 + 11_000)).toBe(11_000)
    expect(await log.recent(100_000)).toHaveLength(1000)
  })

  it('applies the retention at open and with purgeExpired()', async () => {
    const file = path.join(tempDir(), 'client-log.sqlite')
    const first = await openLog(file, { retentionDays: 30 })
    await Promise.all([log1Record(first.log, 1, T0), log1Record(first.log, 2, T0 + 10 * DAY_MS)])
    first.setNow(T0 + 35 * DAY_MS)
    expect(await first.log.purgeExpired()).toBe(1)
    await log1Record(first.log, 3, T0 + 35 * DAY_MS)
    await closeLog(first.log)
    const reopened = await openLog(file, { retentionDays: 30, at: T0 + 50 * DAY_MS })
    expect((await reopened.log.recent(10)).map((r) => r.cmid)).toEqual([cmid(3)])
  })
})

describe('ClientLog integrity and sharing', () => {
  it('reports integrity ok and writes a snapshot other tools can open while the log is in use', async () => {
    const dir = tempDir()
    const { log } = await openLog(path.join(dir, 'client-log.sqlite'))
    await Promise.all(Array.from({ length: 20 }, (_, i) => log.record(entry({ cmid: cmid(i) }))))
    expect(await log.integrityCheck()).toEqual({ ok: true, messages: ['ok'] })
    const snapshot = path.join(dir, 'snapshot.sqlite')
    await log.snapshotTo(snapshot)
    expect(sqlite3(snapshot, 'PRAGMA integrity_check')).toBe('ok')
    expect(sqlite3(snapshot, 'SELECT count(DISTINCT cmid) FROM requests')).toBe('20')
  })

  it('refuses a second open of the same file in this process', async () => {
    const file = path.join(tempDir(), 'client-log.sqlite')
    await openLog(file)
    await expect(ClientLog.open(file, { retentionDays: 30, now: () => T0 })).rejects.toThrow(ClientLogBusyError)
  })

  it('refuses a log owned by another running process', async () => {
    const file = path.join(tempDir(), 'client-log.sqlite')
    const first = await openLog(file)
    await closeLog(first.log)
    // The parent of this test worker is alive for the whole test.
    fs.writeFileSync(`${file}.owner`, JSON.stringify({ pid: process.ppid, hostname: (await import('node:os')).hostname(), startedAt: 'x' }))
    fs.mkdirSync(`${file}.lock`)
    await expect(ClientLog.open(file, { retentionDays: 30, now: () => T0 })).rejects.toThrow(
      new RegExp(`in use by process ${process.ppid}`)
    )
    expect(fs.existsSync(`${file}.lock`)).toBe(true)
  })

  it('refuses a lock taken by another program (no owner file)', async () => {
    const file = path.join(tempDir(), 'client-log.sqlite')
    fs.mkdirSync(`${file}.lock`)
    await expect(ClientLog.open(file, { retentionDays: 30, now: () => T0 })).rejects.toThrow(/locked by another program/)
  })

  it('takes over a lock left by a process that no longer runs', async () => {
    const file = path.join(tempDir(), 'client-log.sqlite')
    const first = await openLog(file)
    await first.log.record(entry())
    await closeLog(first.log)
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
    await once(child, 'exit')
    fs.writeFileSync(`${file}.owner`, JSON.stringify({ pid: child.pid, hostname: (await import('node:os')).hostname(), startedAt: 'x' }))
    fs.mkdirSync(`${file}.lock`)
    const { log } = await openLog(file)
    expect(log.openWarnings).toHaveLength(1)
    expect(log.openWarnings[0]).toContain(`process ${child.pid}`)
    expect(await log.recent(10)).toHaveLength(1)
  })
})

describe('ClientLog checkpoints', () => {
  it('leaves the WAL alone while busy and copies it into the database file once idle', async () => {
    const file = path.join(tempDir(), 'log.sqlite')
    const { log } = await openLog(file, { idleCheckpointMs: 20 })
    const before = fs.statSync(file).size
    for (let i = 0; i < 200; i++) void log.record(entry({ cmid: cmid(i) }))
    await log.record(entry({ cmid: cmid(999) }))
    // committed to the WAL, not yet to the database file
    expect(log.commitsSinceCheckpoint).toBeGreaterThan(0)
    expect(fs.statSync(file).size).toBe(before)
    fs.statSync(`${file}-wal`)
    // idle for idleCheckpointMs: the timer checkpoints
    await vi.waitFor(() => expect(log.commitsSinceCheckpoint).toBe(0), { timeout: 10_000, interval: 10 })
    expect(fs.statSync(file).size).toBeGreaterThan(before)
    expect(await log.recent(1000)).toHaveLength(201)
  })

  it('checkpoint() copies the WAL at once and reports its size', async () => {
    const file = path.join(tempDir(), 'log.sqlite')
    const { log } = await openLog(file, { idleCheckpointMs: 3_600_000 })
    await log.record(entry())
    expect(log.checkpoint()).toBeGreaterThan(0)
    expect(log.commitsSinceCheckpoint).toBe(0)
    expect(log.checkpoint()).toBeGreaterThanOrEqual(0)
  })
})
