/**
 * The lab host's log lines: one per exchange and per notable event, human or JSON, floods summarised.
 */
import { describe, expect, it } from 'vitest'
import { attachLabHostLogger } from '../../src-main/lab-host/log'
import { baseFor, expectResponse, kmsExchange, PRODUCT_BY_PROTOCOL, TestKmsConnection } from '../helpers/lab-host-client'
import { useLabHosts, waitForNoConnections } from '../helpers/lab-host-fixture'
import { MemoryTransport } from '../helpers/lab-host-memory-transport'

const labs = useLabHosts()

describe('lab host log lines', () => {
  it('writes one human line per exchange with the product, count and client', async () => {
    const { host, port } = await labs.start()
    const lines: string[] = []
    attachLabHostLogger(host, { write: (l) => lines.push(l), now: () => Date.UTC(2026, 10, 25, 10, 0, 0) })
    expectResponse(await kmsExchange(port, baseFor(PRODUCT_BY_PROTOCOL[5], { protocol: 5, workstationName: 'pc-042.lab.test' })))
    await kmsExchange(port, baseFor(PRODUCT_BY_PROTOCOL[6], { protocol: 7 }))
    await host.stop()
    expect(lines.every((l) => l.endsWith('\n') && l.indexOf('\n') === l.length - 1)).toBe(true)
    expect(lines[0]).toMatch(
      /^2026-11-25T10:00:00\.000Z 127\.0\.0\.1:\d+ v5\.0 ndr32 ok: count 1 \(N 25\) Windows 8 Professional \[Windows 8 \(Volume\)\] cmid [0-9a-f]{8} "pc-042\.lab\.test" \d+\.\d ms\n$/
    )
    expect(lines[1]).toMatch(/v7\.0 refused 0x8007000D: KMS protocol 7\.0 is not supported — Windows 10 Professional/)
    expect(lines.at(-1)).toMatch(/stopped \(all exchanges finished\): 2 requests \(v4 0, v5 1, v6 0 answered; 1 refused\)/)
  })

  it('writes JSON lines with --json-log semantics', async () => {
    const { host, port } = await labs.start()
    const lines: string[] = []
    attachLabHostLogger(host, { write: (l) => lines.push(l), json: true })
    expectResponse(await kmsExchange(port, baseFor(PRODUCT_BY_PROTOCOL[4], { protocol: 4 })))
    await host.stop()
    const objects = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(objects.map((o) => o.event)).toEqual(['request', 'stopping', 'stopped'])
    expect(objects[0]).toMatchObject({ outcome: 'ok', protocolMajor: 4, count: 1, productName: PRODUCT_BY_PROTOCOL[4] })
    expect(typeof objects[0]!.time).toBe('string')
  })

  it.each([false, true])('prints at most 20 request lines a second, then one line for the rest (json: %s)', async (json) => {
    const { host, port } = await labs.start()
    const lines: string[] = []
    // one clock second for the whole burst: every request falls into the same window
    const detach = attachLabHostLogger(host, { write: (line) => lines.push(line), json, now: () => Date.parse('2026-12-04T10:00:00Z') })
    const c = await TestKmsConnection.open(port)
    await c.bind()
    for (let i = 0; i < 25; i++) expectResponse(await c.request(baseFor(PRODUCT_BY_PROTOCOL[6])))
    c.destroy()
    detach()
    const requestLines = lines.filter((l) => (json ? l.includes('"event":"request"') : l.includes(' ok: count ')))
    expect(requestLines).toHaveLength(20)
    const summary = lines.filter((l) => (json ? l.includes('"event":"requests-summarised"') : l.includes('more requests answered')))
    expect(summary).toHaveLength(1)
    expect(summary[0]).toContain(json ? '"requests":5' : '… 5 more requests answered (not printed; every request is in the client log)')
    // the client log has all of them
    expect(await host.clientLog!.recent(100)).toHaveLength(25)
  })

  it('summarises floods: one line per kind and second, then "+N more"', async () => {
    let now = 1_000_000
    const { host } = await labs.start({ maxConnections: 1 })
    const lines: string[] = []
    attachLabHostLogger(host, { write: (l) => lines.push(l), now: () => now })
    const holder = new MemoryTransport()
    host.acceptTransport(holder)
    for (let i = 0; i < 10; i++) host.acceptTransport(new MemoryTransport())
    expect(lines.filter((l) => l.includes('connection refused'))).toHaveLength(1)
    now += 1500
    host.acceptTransport(new MemoryTransport())
    const refused = lines.filter((l) => l.includes('connection refused'))
    expect(refused).toHaveLength(2)
    expect(refused[1]).toMatch(/at the connection limit \(1 of 1 open\) \(\+9 more since the last such line\)/)
    expect(host.status().counters.connections.refused).toBe(11)

    // malformed input: a line each, throttled the same way
    holder.push(new Uint8Array([4, 0, 0, 0, 16, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0]))
    await waitForNoConnections(host)
    expect(lines.filter((l) => l.includes('malformed'))).toHaveLength(1)
    expect(lines.find((l) => l.includes('malformed'))).toMatch(/closed: malformed input \(rpc_vers at offset 0: RPC version 4 is not 5\)/)
  })
})
