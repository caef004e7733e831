/**
 * The lab host's budget (issue 11): one client address cannot take every connection slot or send requests at any
 * speed, a client that never reads cannot make the host buffer replies, the count index and the client log stay
 * bounded whatever clients send. Real sockets on 127.0.0.1 and 127.0.0.2 (both loopback), or the host's own
 * connection code through an in-process transport where the kernel's buffers would hide what is tested.
 */
import { connect, type Socket } from 'node:net'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { MAX_CLIENTS_PER_COUNT } from '../../src-main/common/defaults'
import type { LabHostEvents } from '../../src-main/lab-host/events'
import { ClientLog } from '../../src-main/storage/client-log'
import { baseFor, expectResponse, type kmsExchange, newCmid, PRODUCT_BY_PROTOCOL, TestKmsConnection } from '../helpers/lab-host-client'
import { nextEvent, useLabHosts } from '../helpers/lab-host-fixture'
import { MemoryTransport } from '../helpers/lab-host-memory-transport'
import { loadPdu } from '../helpers/vectors'
import { sampleLogEntry } from '../helpers/client-log-samples'

const labs = useLabHosts()

function openSocket(port: number, localAddress = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress })
    socket.once('error', reject)
    socket.once('connect', () => resolve(socket))
  })
}

describe('lab host budget', () => {
  it('one address gets at most its share of connections; the rest are refused at once and logged with the address', async () => {
    const { host, port } = await labs.start({ maxConnectionsPerAddress: 4 })
    const refused: LabHostEvents['connection-refused'][] = []
    host.on('connection-refused', (e) => refused.push(e))
    const idle: Socket[] = []
    for (let i = 0; i < 4; i++) idle.push(await openSocket(port))
    await new Promise<void>((resolve) => {
      const off = host.on('connection-opened', () => {
        if (host.status().counters.connections.active < 4) return
        off()
        resolve()
      })
      if (host.status().counters.connections.active >= 4) resolve()
    })
    const refusedEvent = nextEvent(host, 'connection-refused')
    const fifth = connect({ port, host: '127.0.0.1' })
    const reset = new Promise<string>((resolve) => fifth.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? '')))
    const event = await refusedEvent
    expect(event).toMatchObject({ reason: 'per-address', active: 4, limit: 4 })
    // the address is read before the reset (it used to be logged as "?:0")
    expect(event.remoteAddress).toMatch(/^127\.0\.0\.1:\d+$/)
    expect(await reset).toBe('ECONNRESET')
    // another address is served at once, with the first one's slots all taken
    expect(expectResponse(await kmsExchangeFrom(port, '127.0.0.2')).response.base.count).toBe(1)
    expect(host.status().counters.connections.refused).toBe(1)
    for (const s of [...idle, fifth]) s.destroy()
  })

  it('an address sending requests faster than its rate has its connection closed unanswered; others are served', async () => {
    const { host, port } = await labs.start({ maxRequestsPerSecondPerAddress: 2 })
    const closed = new Promise<LabHostEvents['connection-closed']>((resolve) => {
      const off = host.on('connection-closed', (e) => {
        if (e.reason !== 'rate-limit') return
        off()
        resolve(e)
      })
    })
    // a burst of twice the rate is allowed; the fifth request in a row is not
    const c = await TestKmsConnection.open(port)
    await c.bind()
    const outcomes: string[] = []
    for (let i = 0; i < 5; i++) {
      try {
        outcomes.push((await c.request(baseFor(PRODUCT_BY_PROTOCOL[6]))).kind)
      } catch {
        outcomes.push('closed')
        break
      }
    }
    expect(outcomes).toEqual(['response', 'response', 'response', 'response', 'closed'])
    expect((await closed).remoteAddress).toMatch(/^127\.0\.0\.1:\d+$/)
    expect(host.status().counters.closes['rate-limit']).toBe(1)
    expect(expectResponse(await kmsExchangeFrom(port, '127.0.0.2')).response.base.count).toBeGreaterThanOrEqual(1)
  })

  it('a client that never reads: the host stops reading and answering until the transport drains', async () => {
    const { host } = await labs.start()
    const t = new MemoryTransport()
    host.acceptTransport(t)
    t.accepting = false // the client's receive buffer is full from the first reply on
    t.push(loadPdu('v6-two-requests-bind-req'))
    await t.writtenCount(1)
    t.push(loadPdu('v6-two-requests-alter-req'))
    t.push(loadPdu('v6-two-requests-req'))
    t.push(loadPdu('v6-two-requests-req-2'))
    // nothing more is answered, and the socket is paused, while the first reply sits unread
    expect(t.written).toHaveLength(1)
    expect(t.paused).toBe(true)
    t.drain()
    await t.writtenCount(4)
    expect(t.written).toHaveLength(4)
    t.finish()
    await t.closed
  })

  it('keeps at most 2 × 1000 clients per KMS counted ID in the count index, whatever CMIDs clients invent', async () => {
    const dir = labs.tempDir()
    let now = Date.parse('2026-11-25T10:00:00Z')
    const log = await ClientLog.open(path.join(dir, 'log.sqlite'), { retentionDays: 30, now: () => now })
    try {
      const kmsCountedId = '58e2134f-8e11-4d17-9cb2-91069c151148'
      const writes: Promise<void>[] = []
      for (let i = 0; i < MAX_CLIENTS_PER_COUNT + 500; i++) {
        now += 1
        writes.push(log.record(okEntry(newCmid(), kmsCountedId, now)))
      }
      await Promise.all(writes)
      expect(log.distinctClients({ kmsCountedId }, 0)).toBe(MAX_CLIENTS_PER_COUNT)
      // a client seen again is the most recent one, not forgotten
      const summary = log.summary(now)
      expect(summary.byKmsCountedId).toEqual([{ kmsCountedId, distinctClients: MAX_CLIENTS_PER_COUNT }])
    } finally {
      await log.close()
    }
  })

  it('keeps the client log within its size cap: the oldest rows go, and the host says so once', async () => {
    const dir = labs.tempDir()
    const cap = 256 * 1024
    const pruned: number[] = []
    let now = Date.parse('2026-11-25T10:00:00Z')
    const log = await ClientLog.open(path.join(dir, 'log.sqlite'), {
      retentionDays: 30,
      now: () => now,
      maxSizeBytes: cap,
      onSizeCapPruned: ({ rows }) => pruned.push(rows)
    })
    try {
      for (let round = 0; round < 40; round++) {
        const writes: Promise<void>[] = []
        for (let i = 0; i < 100; i++) writes.push(log.record(okEntry(newCmid(), '58e2134f-8e11-4d17-9cb2-91069c151148', ++now)))
        await Promise.all(writes)
      }
      // checked every 500 rows: at most that many rows (≈ 120 KiB) over the cap between checks
      expect(log.sizeBytes).toBeLessThanOrEqual(cap + 160 * 1024)
      log.keepWithinSizeCap()
      expect(log.sizeBytes).toBeLessThanOrEqual(cap)
      expect(pruned.length).toBeGreaterThan(0)
      const newest = await log.recent(1)
      expect(newest[0]!.timeMs).toBe(now)
    } finally {
      await log.close()
    }
    // the lab host turns the first pruning of a run into one warning
    const { host, port } = await labs.start({ maxLogBytes: 64 * 1024, maxRequestsPerSecondPerAddress: 0 })
    const warnings: string[] = []
    host.on('warning', (w) => warnings.push(w.code))
    const c = await TestKmsConnection.open(port)
    await c.bind()
    for (let i = 0; i < 400 && !warnings.includes('client-log-cap'); i++) expectResponse(await c.request(baseFor(PRODUCT_BY_PROTOCOL[6])))
    for (let i = 0; i < 200; i++) expectResponse(await c.request(baseFor(PRODUCT_BY_PROTOCOL[6])))
    c.destroy()
    expect(warnings.filter((w) => w === 'client-log-cap')).toHaveLength(1)
  })
})

async function kmsExchangeFrom(port: number, localAddress: string): ReturnType<typeof kmsExchange> {
  const c = await new Promise<TestKmsConnection>((resolve, reject) => {
    // TestKmsConnection.open connects from the default address; this one binds the client side to `localAddress`
    const socket = connect({ port, host: '127.0.0.1', localAddress, noDelay: true })
    socket.once('error', reject)
    socket.once('connect', () => resolve(TestKmsConnection.wrap(socket)))
  })
  try {
    await c.bind()
    return await c.request(baseFor(PRODUCT_BY_PROTOCOL[6]))
  } finally {
    c.destroy()
  }
}

function okEntry(cmid: string, kmsCountedId: string, timeMs: number): Parameters<ClientLog['record']>[0] {
  return sampleLogEntry({
    timeMs,
    cmid,
    kmsCountedId,
    previousCmid: null,
    workstationName: 'budget.test',
    countReturned: null,
    hresult: null
  })
}
