/**
 * The lab host with worker processes (LabHostOptions.workers): real worker processes forked from the TypeScript
 * entry point, real sockets on 127.0.0.1. Whichever process serves a client, the Count sees every client, each
 * answered request is in the one client log, counters and events reach the owner, a stop drains the workers, and a
 * worker that dies leaves the host serving.
 */
import { fileURLToPath } from 'node:url'
import { describe, expect, it, vi } from 'vitest'
import type { LabHostWorkers } from '../../src-main/lab-host/workers'
import type { LabHostEvents } from '../../src-main/lab-host/events'
import { baseFor, expectResponse, kmsExchange, newCmid, PRODUCT_BY_PROTOCOL } from '../helpers/lab-host-client'
import { nextEvent, useLabHosts } from '../helpers/lab-host-fixture'

const labs = useLabHosts()
const script = fileURLToPath(new URL('../../src-main/lab-host/worker.ts', import.meta.url))

function workers(count: number): LabHostWorkers {
  return { count, script, execArgv: ['--import', 'tsx'] }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('lab host with worker processes', () => {
  it('counts every client once across processes, logs every request and adds up the counters', async () => {
    const { host, port } = await labs.start({ workers: workers(2) })
    expect(host.status().workers).toHaveLength(2)
    const logged: LabHostEvents['request-logged'][] = []
    host.on('request-logged', (e) => logged.push(e))

    // 30 distinct Windows clients, 8 at a time, then the first 10 again: the Count rises only with new clients.
    const cmids = Array.from({ length: 30 }, newCmid)
    const counts: number[] = []
    for (let i = 0; i < cmids.length; i += 8) {
      const batch = cmids.slice(i, i + 8)
      const answers = await Promise.all(batch.map((cmid) => kmsExchange(port, baseFor(PRODUCT_BY_PROTOCOL[6], { cmid }))))
      for (const a of answers) counts.push(expectResponse(a).response.base.count)
    }
    expect(counts.sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1))
    for (const cmid of cmids.slice(0, 10)) {
      expect(expectResponse(await kmsExchange(port, baseFor(PRODUCT_BY_PROTOCOL[6], { cmid }))).response.base.count).toBe(30)
    }

    const rows = await host.clientLog!.recent(100)
    expect(rows).toHaveLength(40)
    expect(new Set(rows.map((r) => r.cmid))).toEqual(new Set(cmids))
    expect(logged).toHaveLength(40)

    await host.stop()
    const s = host.status()
    expect(s.workers).toEqual([])
    expect(s.counters.requests.v6).toEqual({ ok: 40, refused: 0 })
    expect(s.counters.connections.accepted).toBe(40)
    // every connection closed exactly once; one the client had just dropped may still have been open at the stop
    const closes = s.counters.closes
    expect(Object.values(closes).reduce((a, b) => a + b, 0)).toBe(40)
    expect(closes['client-closed'] + closes.reset + closes.stopping).toBe(40)
  })

  it("a worker's connections go through the owner's ledger: counted with everyone's, logged, events forwarded", async () => {
    const { host, port } = await labs.start({ workers: workers(1) })
    let closed = 0
    host.on('connection-closed', () => closed++)
    // The kernel decides which process accepts; send batches until the worker has served some (bounded).
    const counts: Record<4 | 5 | 6, number[]> = { 4: [], 5: [], 6: [] }
    let sent = 0
    for (let batch = 0; batch < 6 && (host.status().workers[0]?.counters.connections.accepted ?? 0) === 0; batch++) {
      const protocols = Array.from({ length: 8 }, (_, i) => ([4, 5, 6] as const)[(sent + i) % 3]!)
      const answers = await Promise.all(
        protocols.map((protocol) => kmsExchange(port, baseFor(PRODUCT_BY_PROTOCOL[protocol], { protocol })))
      )
      answers.forEach((a, i) => counts[protocols[i]!].push(expectResponse(a).response.base.count))
      sent += protocols.length
      // the worker's counters reach the owner every 250 ms: wait until every connection is accounted for
      await vi.waitFor(() => expect(host.status().counters.connections.accepted).toBe(sent), { timeout: 10_000, interval: 20 })
    }
    const worker = host.status().workers[0]!
    expect(worker.counters.connections.accepted, 'the worker served none of the connections').toBeGreaterThan(0)
    // per product (each its own KMS counted ID) the counts are 1…n whichever process answered
    for (const p of [4, 5, 6] as const) expect(counts[p].sort((x, y) => x - y)).toEqual(counts[p].map((_, i) => i + 1))
    expect(await host.clientLog!.recent(1000)).toHaveLength(sent)
    // connection-closed events from both processes reach the owner's listener
    await vi.waitFor(() => expect(closed).toBe(sent), { timeout: 10_000, interval: 20 })
  })

  it('reports a worker that dies, keeps serving, and replaces it; the totals keep its requests', async () => {
    const { host, port } = await labs.start({ workers: workers(1) })
    const pid = host.status().workers[0]!.pid
    expectResponse(await kmsExchange(port, baseFor(PRODUCT_BY_PROTOCOL[6])))
    // the worker's counters reach the owner within 250 ms; wait for them before killing it
    await vi.waitFor(() => expect(host.status().counters.connections.accepted).toBe(1), { timeout: 10_000, interval: 20 })
    const reported = nextEvent(host, 'error', (e) => e.scope === 'server')
    const restarted = nextEvent(host, 'warning', (e) => e.code === 'worker')
    process.kill(pid!, 'SIGKILL')
    expect((await reported).message).toMatch(/exited unexpectedly \(SIGKILL\)/)
    expect((await restarted).message).toMatch(/lab-host worker 1 restarted/)
    const replacement = host.status().workers[0]?.pid
    expect(replacement).toBeDefined()
    expect(replacement).not.toBe(pid)
    // the host still answers, and the count remembers the first client
    const again = expectResponse(await kmsExchange(port, baseFor(PRODUCT_BY_PROTOCOL[6])))
    expect(again.response.base.count).toBe(2)
    await host.stop()
    expect(host.status().counters.requests.v6.ok).toBe(2)
  })

  it('stops its workers with the host: the processes exit and the log closes after them', async () => {
    const { host, port } = await labs.start({ workers: workers(2) })
    const pids = host.status().workers.map((w) => w.pid)
    expectResponse(await kmsExchange(port, baseFor(PRODUCT_BY_PROTOCOL[6])))
    await host.stop()
    expect(pids.filter(isAlive)).toEqual([])
    expect(host.state).toBe('stopped')
  })

  it('rejects options the workers cannot honour', async () => {
    await expect(labs.start({ workers: workers(65) })).rejects.toThrow(/workers must be an integer/)
    await expect(labs.start({ workers: workers(1), now: () => 0 })).rejects.toThrow(/built-in catalog, clock and randomness/)
  })
})
