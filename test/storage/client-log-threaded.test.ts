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
import { useTempDirs } from './temp-dir'

const WINDOWS_APP = '55c92734-d682-4d71-983e-d6ec3f16059f'
const WIN10_KMS_ID = '58e2134f-8e11-4d17-9cb2-91069c151148'
const T0 = Date.UTC(2026, 0, 1)

const tempDir = useTempDirs()
const open: Array<{ close: () => Promise<void> }> = []
afterEach(async () => {
  for (const log of open.splice(0)) await log.close()
})

function cmid(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`
}

function entry(n: number, fields: Partial<ClientLogEntryInput> = {}): ClientLogEntryInput {
  return {
    timeMs: T0,
    clientAddress: '127.0.0.1:50000',
    cmid: cmid(n),
    workstationName: `ws${n}.lab.example`,
    applicationId: WINDOWS_APP,
    skuId: '2de67392-b7a7-462a-b1ca-108dd189f588',
    productName: 'Windows 10 Professional',
    kmsCountedId: WIN10_KMS_ID,
    protocolMajor: 6,
    protocolMinor: 0,
    requiredClientCount: 25,
    licenseStatus: 2,
    countReturned: 1,
    outcome: 'ok',
    ...fields
  }
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
