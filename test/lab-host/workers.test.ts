/**
 * The lab host with worker processes (LabHostOptions.workers): real worker processes forked from the TypeScript
 * entry point, real sockets on 127.0.0.1. Whichever process serves a client, the Count sees every client, each
 * answered request is in the one client log, counters and events reach the owner, a stop drains the workers, and a
 * worker that dies leaves the host serving.
 */
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { LabHostWorkers } from '../../src-main/transport/lab-host-workers'
import type { LabHostEvents } from '../../src-main/transport/lab-host-events'
import { baseFor, expectResponse, kmsExchange, newCmid, PRODUCT_BY_PROTOCOL, TestKmsConnection } from '../helpers/lab-host-client'
import { nextEvent, useLabHosts } from '../helpers/lab-host-fixture'

const labs = useLabHosts()
const script = fileURLToPath(new URL('../../src-main/transport/lab-host-worker.ts', import.meta.url))

function workers(count: number, ownerServes = true): LabHostWorkers {
  return { count, script, execArgv: ['--import', 'tsx'], ownerServes }
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
    expect(host.status().workerPids).toHaveLength(2)
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
    expect(s.workerPids).toEqual([])
    expect(s.counters.requests.v6).toEqual({ ok: 40, refused: 0 })
    expect(s.counters.connections.accepted).toBe(40)
    // every connection closed exactly once; one the client had just dropped may still have been open at the stop
    const closes = s.counters.closes
    expect(Object.values(closes).reduce((a, b) => a + b, 0)).toBe(40)
    expect(closes['client-closed'] + closes.reset + closes.stopping).toBe(40)
  })

  it('serves through the workers alone when the owner keeps only the ledger, and forwards their events', async () => {
    const { host, port } = await labs.start({ workers: workers(1, false), maxConnections: 64 })
    const closed = nextEvent(host, 'connection-closed')
    const base = baseFor(PRODUCT_BY_PROTOCOL[4])
    const first = expectResponse(await kmsExchange(port, base))
    expect(first.response.base.count).toBe(1)
    // a connection-closed event from the worker reaches the owner's listener
    expect((await closed).reason).toBe('client-closed')

    // two requests on one connection, both through the worker's IPC ledger
    const conn = await TestKmsConnection.open(port)
    try {
      await conn.bind()
      for (const protocol of [5, 6] as const) {
        const answer = expectResponse(await conn.request(baseFor(PRODUCT_BY_PROTOCOL[protocol], { protocol })))
        expect(answer.response.majorVer).toBe(protocol)
      }
    } finally {
      await conn.close()
    }
    await host.stop()
    const s = host.status()
    expect(s.counters.requests).toMatchObject({ v4: { ok: 1, refused: 0 }, v5: { ok: 1, refused: 0 }, v6: { ok: 1, refused: 0 } })
    expect(s.counters.connections.accepted).toBe(2)
  })

  it('keeps serving and reports an error when a worker process dies', async () => {
    const { host, port } = await labs.start({ workers: workers(1) })
    const [pid] = host.status().workerPids
    const reported = nextEvent(host, 'error', (e) => e.scope === 'server')
    process.kill(pid!, 'SIGKILL')
    expect((await reported).message).toMatch(/exited unexpectedly/)
    expect(host.status().workerPids).toEqual([])
    const answer = expectResponse(await kmsExchange(port, baseFor(PRODUCT_BY_PROTOCOL[6])))
    expect(answer.response.base.count).toBe(1)
  })

  it('stops its workers with the host: the processes exit and the log closes after them', async () => {
    const { host, port } = await labs.start({ workers: workers(2, false) })
    const pids = host.status().workerPids
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
