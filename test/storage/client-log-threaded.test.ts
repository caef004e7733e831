/**
 * ClientLogThread: the client log with its SQLite work on a writer thread. Real threads, real database files; the
 * database is read back with an ordinary ClientLog after closing (the source of truth), never through the object
 * under test alone.
 */
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ClientLog, ClientLogBusyError, ClientLogFormatError, DAY_MS } from '../../src-main/storage/client-log'
import type { ClientLogEntryInput } from '../../src-main/storage/client-log'
import { ClientLogThread } from '../../src-main/storage/client-log-threaded'
import fs from 'node:fs'
import { sampleLogEntry, sequentialCmid, WIN10_KMS_ID } from '../helpers/client-log-samples'
import { useTempDirs } from './temp-dir'

const T0 = Date.UTC(2026, 0, 1)

const tempDir = useTempDirs()
const open: Array<{ close: () => Promise<void> }> = []
afterEach(async () => {
  for (const log of open.splice(0)) await log.close()
})

const cmid = sequentialCmid

function entry(n: number, fields: Partial<ClientLogEntryInput> = {}): ClientLogEntryInput {
  return sampleLogEntry({ timeMs: T0, cmid: cmid(n), workstationName: `ws${n}.lab.example`, countReturned: 1, ...fields })
}

async function openThreaded(file: string, now = () => T0): Promise<ClientLogThread> {
  const log = await ClientLogThread.open(file, { retentionDays: 30, now })
  open.push(log)
  return log
}

describe('ClientLogThread', () => {
  it('stores every recorded entry before record() resolves, in one or more batches, and counts at once', async () => {
    const file = path.join(tempDir(), 'log.sqlite')
    const log = await openThreaded(file)
    // recorded in one turn: one batch; then a second batch in a later turn
    const first = Array.from({ length: 50 }, (_, i) => log.record(entry(i + 1)))
    expect(log.distinctClients({ kmsCountedId: WIN10_KMS_ID }, 0)).toBe(50)
    expect(log.pendingCount).toBe(50)
    await Promise.all(first)
    await log.record(entry(51))
    expect(log.pendingCount).toBe(0)
    expect((await log.recent(100)).map((r) => r.cmid).sort()).toEqual(Array.from({ length: 51 }, (_, i) => cmid(i + 1)).sort())
    expect(await log.integrityCheck()).toEqual({ ok: true, messages: ['ok'] })
    await log.close()
    open.splice(0)

    const reread = await ClientLog.open(file, { retentionDays: 30, now: () => T0 })
    open.push(reread)
    expect(reread.distinctClients({ kmsCountedId: WIN10_KMS_ID }, 0)).toBe(51)
  })

  it('rebuilds the counts from the file at open, and counts a returning client once', async () => {
    const file = path.join(tempDir(), 'log.sqlite')
    const first = await openThreaded(file)
    await Promise.all([1, 2, 3].map((n) => first.record(entry(n))))
    await first.close()
    open.splice(0)

    const log = await openThreaded(file)
    expect(log.distinctClients({ kmsCountedId: WIN10_KMS_ID }, 0)).toBe(3)
    expect(log.countFor({ kmsCountedId: WIN10_KMS_ID }, cmid(2), T0)).toBe(3)
    expect(log.countFor({ kmsCountedId: WIN10_KMS_ID }, cmid(9), T0)).toBe(4)
  })

  it('rejects an entry the thread refuses on its own, stores its neighbours, and takes it out of the counts again', async () => {
    const file = path.join(tempDir(), 'log.sqlite')
    const log = await openThreaded(file)
    const results = await Promise.allSettled([log.record(entry(1)), log.record(entry(2, { cmid: 'not-a-guid' })), log.record(entry(3))])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    const refused = results[1] as PromiseRejectedResult
    expect(refused.reason).toBeInstanceOf(Error)
    expect(String((refused.reason as Error).message)).toMatch(/GUID/)
    expect((await log.recent(10)).map((r) => r.cmid).sort()).toEqual([cmid(1), cmid(3)])
    // the counts were rebuilt from the database: the refused client does not count
    expect(log.distinctClients({ kmsCountedId: WIN10_KMS_ID }, 0)).toBe(2)
  })

  it('purges by the owner clock and forgets those clients in the counts', async () => {
    const file = path.join(tempDir(), 'log.sqlite')
    let now = T0
    const log = await openThreaded(file, () => now)
    await log.record(entry(1, { timeMs: T0 }))
    now = T0 + 31 * DAY_MS
    await log.record(entry(2, { timeMs: now }))
    expect(await log.purgeExpired()).toBe(1)
    expect((await log.recent(10)).map((r) => r.cmid)).toEqual([cmid(2)])
    expect(log.distinctClients({ kmsCountedId: WIN10_KMS_ID }, 0)).toBe(1)
  })

  it('refuses a second open of the same file in this process, by either kind of log', async () => {
    const file = path.join(tempDir(), 'log.sqlite')
    await openThreaded(file)
    await expect(ClientLogThread.open(file, { retentionDays: 30, now: () => T0 })).rejects.toBeInstanceOf(ClientLogBusyError)
    await expect(ClientLog.open(file, { retentionDays: 30, now: () => T0 })).rejects.toBeInstanceOf(ClientLogBusyError)
  })

  it('reports a file that is not a client log with the same error class as ClientLog, and leaves it alone', async () => {
    const file = path.join(tempDir(), 'notes.txt')
    fs.writeFileSync(file, 'not a database\n'.repeat(100))
    await expect(ClientLogThread.open(file, { retentionDays: 30, now: () => T0 })).rejects.toBeInstanceOf(ClientLogFormatError)
    expect(fs.readFileSync(file, 'utf8')).toBe('not a database\n'.repeat(100))
    // the failed open released the file
    const log = ClientLogThread.open(path.join(path.dirname(file), 'other.sqlite'), { retentionDays: 30, now: () => T0 })
    open.push(await log)
  })

  it('rejects records after close, and close twice is harmless', async () => {
    const log = await openThreaded(path.join(tempDir(), 'log.sqlite'))
    await log.close()
    await log.close()
    await expect(log.record(entry(1))).rejects.toThrow(/closed/)
  })
})
