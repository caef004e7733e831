/**
 * Slow and greedy clients: 2,000 connections that send nothing or trickle a bind byte by byte must not keep a real
 * client from being served; the host closes them itself at the deadline (idle → 'idle', mid-PDU → 'deadline');
 * beyond maxConnections new connections are refused at once (reset, counted), never queued. Every client here comes
 * from 127.0.0.1, so the per-address limit is raised to the global one (it has tests of its own: budget.test.ts).
 * Everything waits on socket and host events; the only timer generates load (the trickle).
 */
import { connect, type Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import type { LabHost } from '../../src-main/lab-host/lab-host'
import { baseFor, expectResponse, kmsExchange, PRODUCT_BY_PROTOCOL } from '../helpers/lab-host-client'
import { nextEvent, useLabHosts, waitForNoConnections } from '../helpers/lab-host-fixture'

const labs = useLabHosts()
const SLOW = 2000

interface SlowClient {
  socket: Socket
  trickle: boolean
  /** resolves with the performance.now() at which the connection was seen closed */
  closed: Promise<number>
}

/** Resolves when the host has accepted `n` connections in total. */
function accepted(host: LabHost, n: number): Promise<unknown> {
  if (host.status().counters.connections.accepted >= n) return Promise.resolve()
  return nextEvent(host, 'connection-opened', () => host.status().counters.connections.accepted >= n)
}

function openSlow(port: number, trickle: boolean): Promise<SlowClient> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' })
    socket.once('error', reject)
    socket.once('connect', () => {
      socket.off('error', reject)
      socket.on('error', () => undefined)
      const closed = new Promise<number>((done) => socket.once('close', () => done(performance.now())))
      resolve({ socket, trickle, closed })
    })
  })
}

/** A connection attempt that the host is expected to refuse: resolves when it is closed, with what it saw. */
function refusedAttempt(port: number): Promise<{ gotData: boolean; error: string | undefined }> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' })
    let gotData = false
    let error: string | undefined
    socket.on('data', () => (gotData = true))
    // the reset may even arrive before 'connect' is reported (ECONNRESET from connect)
    socket.on('error', (err: NodeJS.ErrnoException) => (error = err.code))
    socket.on('close', () => resolve({ gotData, error }))
  })
}

/** Opens `count` slow clients in batches, waiting for the host to accept each batch (no listen-backlog overflow). */
async function openMany(host: LabHost, port: number, count: number): Promise<SlowClient[]> {
  const clients: SlowClient[] = []
  const base = host.status().counters.connections.accepted
  for (let i = 0; i < count; i += 200) {
    const batch = await Promise.all(Array.from({ length: Math.min(200, count - i) }, (_, j) => openSlow(port, (i + j) % 2 === 1)))
    clients.push(...batch)
    await accepted(host, base + clients.length)
  }
  return clients
}

/** Sends the next byte of a v6 bind to every trickling client every `everyMs`. */
function startTrickle(clients: SlowClient[], everyMs: number): () => void {
  const bind = new Uint8Array([5, 0, 11, 3, 16, 0, 0, 0, 160, 0, 0, 0, 2, 0, 0, 0, ...new Array<number>(144).fill(0)])
  let at = 0
  const timer = setInterval(() => {
    const byte = bind.subarray(at % bind.byteLength, (at % bind.byteLength) + 1)
    at++
    for (const c of clients) if (c.trickle && !c.socket.destroyed) c.socket.write(byte)
  }, everyMs)
  return () => clearInterval(timer)
}

describe('lab host: slow clients', () => {
  it(`keeps serving a real client while ${SLOW} connections sit idle or trickle bytes`, async () => {
    // a long deadline: the slow connections stay open for the whole phase
    const { host, port } = await labs.start({
      maxConnections: SLOW + 10,
      maxConnectionsPerAddress: SLOW + 10,
      exchangeTimeoutMs: 120_000,
      drainTimeoutMs: 100
    })
    const slow = await openMany(host, port, SLOW)
    const stop = startTrickle(slow, 100)
    try {
      expect(host.status().counters.connections.active).toBe(SLOW)
      const times: number[] = []
      for (let i = 0; i < 5; i++) {
        const started = performance.now()
        const r = expectResponse(await kmsExchange(port, baseFor(PRODUCT_BY_PROTOCOL[6])))
        times.push(performance.now() - started)
        expect(r.response.base.count).toBe(i + 1)
      }
      // while all of them were still open
      expect(host.status().counters.closes.idle + host.status().counters.closes.deadline).toBe(0)
      expect(host.status().counters.connections.active).toBeGreaterThanOrEqual(SLOW)
      console.log(`real client answered in ${times.map((t) => t.toFixed(1)).join(', ')} ms with ${SLOW} slow connections open`)
      // the real client's connections are gone before the stop
      if (host.status().counters.connections.active > SLOW)
        await nextEvent(host, 'connection-closed', () => host.status().counters.connections.active === SLOW)
    } finally {
      stop()
    }
    // a graceful stop closes the idle ones at once and cuts off the mid-PDU ones at the (short) drain deadline
    await host.stop()
    await Promise.all(slow.map((c) => c.closed))
    const c = host.status().counters
    expect(c.closes.stopping).toBe(SLOW)
    expect(c.connections.active).toBe(0)
  })

  it(`closes ${SLOW} idle and trickling connections at the deadline: 'idle' and 'deadline'`, async () => {
    const DEADLINE = 2000
    const { host, port } = await labs.start({ maxConnections: SLOW + 10, maxConnectionsPerAddress: SLOW + 10, exchangeTimeoutMs: DEADLINE })
    // The deadline runs from the host's accept, which may come well after the client's 'connect' (the listen
    // backlog), so each lifetime is measured from the host's 'connection-opened' for that client's port.
    const acceptedAt = new Map<string, number>()
    host.on('connection-opened', (e) => acceptedAt.set(e.remoteAddress, performance.now()))
    const slow = await openMany(host, port, SLOW)
    const stop = startTrickle(slow, 100)
    let lifetimes: number[]
    try {
      lifetimes = await Promise.all(
        slow.map(async (c) => {
          const accepted = acceptedAt.get(`127.0.0.1:${c.socket.localPort}`)
          if (accepted === undefined) throw new Error(`no connection-opened for 127.0.0.1:${c.socket.localPort}`)
          return (await c.closed) - accepted
        })
      )
    } finally {
      stop()
    }
    expect(acceptedAt.size).toBe(SLOW)
    await waitForNoConnections(host)
    const c = host.status().counters
    expect(c.closes.idle).toBe(SLOW / 2)
    expect(c.closes.deadline).toBe(SLOW / 2)
    expect(c.connections.active).toBe(0)
    // the host closed them, not before the deadline (a lower bound only: a slow machine closes later, never earlier;
    // the 50 ms allow for Node arming a timer from the event loop's cached time, taken before a batch of accepts)
    for (const ms of lifetimes) expect(ms).toBeGreaterThanOrEqual(DEADLINE - 50)
    // and the host still works
    expectResponse(await kmsExchange(port, baseFor(PRODUCT_BY_PROTOCOL[6])))
  })

  it('refuses connections beyond maxConnections at once and counts them; a freed slot serves again', async () => {
    const LIMIT = 50
    const { host, port } = await labs.start({
      maxConnections: LIMIT,
      maxConnectionsPerAddress: LIMIT,
      exchangeTimeoutMs: 120_000,
      drainTimeoutMs: 100
    })
    const refusedEvents: unknown[] = []
    host.on('connection-refused', (e) => refusedEvents.push(e))
    const held = await openMany(host, port, LIMIT)
    expect(host.status().counters.connections.active).toBe(LIMIT)

    // every extra one is closed by the host while all held ones are still open (refused, not queued), without a byte
    const extra = await Promise.all(Array.from({ length: 20 }, () => refusedAttempt(port)))
    expect(extra.every((e) => !e.gotData)).toBe(true)
    expect(host.status().counters.connections.refused).toBe(20)
    expect(host.status().counters.connections.active).toBe(LIMIT)
    expect(held.every((h) => !h.socket.destroyed)).toBe(true)
    expect(refusedEvents).toHaveLength(20)
    expect(refusedEvents[0]).toMatchObject({ reason: 'capacity', active: LIMIT, limit: LIMIT })

    // a real client is refused too while the host is full …
    await expect(kmsExchange(port, baseFor(PRODUCT_BY_PROTOCOL[6]))).rejects.toThrow()
    // … and served once a slot is free
    const freed = nextEvent(host, 'connection-closed')
    held[0]!.socket.destroy()
    await freed
    expectResponse(await kmsExchange(port, baseFor(PRODUCT_BY_PROTOCOL[6])))
    expect(host.status().counters.connections.peak).toBe(LIMIT)
  })
})
