/**
 * LabHost lifecycle and per-connection rules: start/stop, graceful drain (and its deadline), listen failures,
 * malformed / oversized / too many PDUs, half-close, pipelining, a failing client log (never acknowledge what is
 * not stored), throwing listeners, purging, status(), and the config helpers.
 */
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { decodePdu, KmsClientSession, PTYPE } from '../../src-main/protocol/index'
import { ClientLog } from '../../src-main/storage/client-log'
import { defaultSettings } from '../../src-main/storage/settings'
import { LabHost, LabHostListenError } from '../../src-main/lab-host/lab-host'
import { isLoopback, labHostConfigFromSettings, parseListenAddress } from '../../src-main/lab-host/config'
import { formatHostPort } from '../../src-main/common/host-port'
import type { LabHostEvents } from '../../src-main/lab-host/events'
import { baseFor, cryptoRandom, expectResponse, kmsExchange, PRODUCT_BY_PROTOCOL, TestKmsConnection } from '../helpers/lab-host-client'
import { nextEvent, useLabHosts, waitForNoConnections } from '../helpers/lab-host-fixture'
import { MemoryTransport } from '../helpers/lab-host-memory-transport'

const labs = useLabHosts()

/** An NDR32-only client session and its bind PDU (no alter_context needed). */
function conversation(): { bind: Uint8Array; session: KmsClientSession } {
  const session = new KmsClientSession({ offerNdr64: false, offerBtfn: false })
  return { bind: session.bind(), session }
}

describe('lab host lifecycle', () => {
  it('is off until started, reports its state and stops idempotently', async () => {
    const dir = labs.tempDir()
    const host = new LabHost({ listen: ['127.0.0.1:0'], dbPath: path.join(dir, 'log.sqlite'), identity: await labs.identity(dir) })
    expect(host.state).toBe('stopped')
    expect(host.status()).toMatchObject({ state: 'stopped', addresses: [], startedAtMs: null })
    await host.stop() // nothing to stop
    const events: string[] = []
    for (const e of ['started', 'stopping', 'stopped'] as const) host.on(e, () => events.push(e))
    const [address] = await host.start()
    await expect(host.start()).rejects.toThrow(/while running/)
    const s = host.status()
    expect(s).toMatchObject({
      state: 'running',
      addresses: [address],
      countMode: 'real',
      activationInterval: 120,
      renewalInterval: 10080,
      limits: { maxConnections: 256, exchangeTimeoutMs: 30_000, maxPduBytes: 4096, maxPdusPerConnection: 1024 },
      clientLog: { file: path.join(dir, 'log.sqlite'), pendingWrites: 0 }
    })
    expect(s.identity.hwid).toMatch(/^[0-9A-F]{16}$/)
    await Promise.all([host.stop(), host.stop()])
    expect(host.state).toBe('stopped')
    expect(events).toEqual(['started', 'stopping', 'stopped'])
    // the log was closed: it can be opened again
    const log = await ClientLog.open(path.join(dir, 'log.sqlite'), { retentionDays: 30, now: Date.now })
    await log.close()
    // and it can start again
    await host.start()
    await host.stop()
  })

  it('graceful stop: idle connections close at once, an exchange in progress finishes first', async () => {
    const { host } = await labs.start()
    // in-process transports (the server's own code path): the host has surely buffered what we pushed
    const idle = new MemoryTransport()
    host.acceptTransport(idle)
    idle.push(conversation().bind)
    expect(idle.written).toHaveLength(1)

    const busy = new MemoryTransport()
    host.acceptTransport(busy)
    const { bind, session } = conversation()
    busy.push(bind)
    expect(session.receive(busy.written[0]!).kind).toBe('bound')
    const request = session.request(baseFor(PRODUCT_BY_PROTOCOL[6]), cryptoRandom)
    const half = Math.floor(request.byteLength / 2)
    busy.push(request.subarray(0, half))

    const stopping = nextEvent(host, 'stopping')
    const stopped = nextEvent(host, 'stopped')
    const stop = host.stop()
    expect(await stopping).toEqual({ inFlight: 1, open: 2 })
    await idle.closed
    expect(idle.closedBy).toBe('end')
    busy.push(request.subarray(half))
    await busy.closed
    expect(busy.closedBy).toBe('end') // after the reply, not destroyed
    const step = session.receive(busy.written[1]!)
    expect(step.kind === 'result' && step.outcome.kind).toBe('response')
    await stop
    const done = await stopped
    expect(done).toMatchObject({ drained: true, abandoned: 0 })
    expect(done.counters.closes.stopping).toBe(2)
    expect(done.counters.requests.v6.ok).toBe(1)
  })

  it('graceful stop cuts off exchanges that do not finish within drainTimeoutMs', async () => {
    const { host } = await labs.start({ drainTimeoutMs: 200 })
    const stuck = new MemoryTransport()
    host.acceptTransport(stuck)
    stuck.push(new Uint8Array([5, 0, 11, 3, 16, 0, 0, 0])) // half a header, never completed
    const stopped = nextEvent(host, 'stopped')
    await host.stop()
    expect(stuck.closedBy).toBe('destroy')
    const e = await stopped
    expect(e).toMatchObject({ drained: false, abandoned: 1 })
    expect(e.counters.closes.stopping).toBe(1)
  })

  it('refuses new connections once stopping', async () => {
    const { host } = await labs.start({ drainTimeoutMs: 5000 })
    const busy = new MemoryTransport()
    host.acceptTransport(busy)
    busy.push(new Uint8Array([5, 0])) // keeps the stop waiting
    const stop = host.stop()
    const late = new MemoryTransport()
    const refused = nextEvent(host, 'connection-refused')
    host.acceptTransport(late)
    expect((await refused).reason).toBe('stopping')
    expect(late.closedBy).toBe('destroy')
    busy.finish() // the client gives up: the stop completes
    await stop
  })

  it('a listen failure leaves nothing open and names the address', async () => {
    const { port } = await labs.start()
    const dir = labs.tempDir()
    const host = new LabHost({
      listen: ['127.0.0.1:0', `127.0.0.1:${port}`],
      dbPath: path.join(dir, 'log.sqlite'),
      identity: await labs.identity(dir)
    })
    const err = await host.start().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(LabHostListenError)
    expect(err).toMatchObject({ code: 'EADDRINUSE', address: `127.0.0.1:${port}` })
    expect(host.state).toBe('stopped')
    expect(host.addresses).toEqual([])
    const log = await ClientLog.open(path.join(dir, 'log.sqlite'), { retentionDays: 30, now: Date.now })
    await log.close()
  })
})

describe('lab host: per-connection limits', () => {
  it('closes a connection with malformed input, without affecting others', async () => {
    const { host, port } = await labs.start()
    const good = await TestKmsConnection.open(port)
    await good.bind()
    const bad = await TestKmsConnection.open(port)
    const closed = nextEvent(host, 'connection-closed')
    bad.send(new TextEncoder().encode('GET / HTTP/1.1\r\nHost: kms\r\n\r\n'))
    await bad.closed
    const e = await closed
    expect(e).toMatchObject({ reason: 'malformed' })
    expect(e.detail).toMatch(/RPC version/)
    expectResponse(await good.request(baseFor(PRODUCT_BY_PROTOCOL[6])))
    await good.close()
  })

  it('answers the whole PDUs that precede a bad header in the same chunk, then closes as malformed', async () => {
    const { host, port } = await labs.start()
    const c = await TestKmsConnection.open(port)
    const closed = nextEvent(host, 'connection-closed')
    const bind = c.session.bind()
    const junk = new TextEncoder().encode('GET / HTTP/1.1\r\n')
    const chunk = new Uint8Array(bind.byteLength + junk.byteLength)
    chunk.set(bind)
    chunk.set(junk, bind.byteLength)
    c.send(chunk)
    // the bind was answered before the connection closed
    expect(decodePdu(await c.nextPdu()).ptype).toBe(PTYPE.bindAck)
    await c.closed
    expect(await closed).toMatchObject({ reason: 'malformed' })
  })

  it("closes on a frag_length above maxPduBytes ('oversize') and after maxPdusPerConnection PDUs ('pdu-limit')", async () => {
    const { host, port } = await labs.start({ maxPduBytes: 1024, maxPdusPerConnection: 3 })
    const big = await TestKmsConnection.open(port)
    const header = new Uint8Array([5, 0, 11, 3, 16, 0, 0, 0, 0x01, 0x04, 0, 0, 2, 0, 0, 0]) // frag_length 1025
    const oversize = nextEvent(host, 'connection-closed')
    big.send(header)
    await big.closed
    expect((await oversize).reason).toBe('oversize')

    const chatty = await TestKmsConnection.open(port, '127.0.0.1', { offerNdr64: false, offerBtfn: false })
    await chatty.bind()
    expectResponse(await chatty.request(baseFor(PRODUCT_BY_PROTOCOL[6])))
    expectResponse(await chatty.request(baseFor(PRODUCT_BY_PROTOCOL[6])))
    const limit = nextEvent(host, 'connection-closed')
    await expect(chatty.request(baseFor(PRODUCT_BY_PROTOCOL[6]))).rejects.toThrow(/closed/)
    expect((await limit).reason).toBe('pdu-limit')
  })

  it('answers pipelined PDUs in order, and a client that half-closes after its request still gets the answer', async () => {
    const { host, port } = await labs.start()
    const c = await TestKmsConnection.open(port, '127.0.0.1', { offerNdr64: false, offerBtfn: false })
    await c.bind()
    // a request and another bind in one write, then FIN: the host answers both in order, then closes
    const request = c.session.request(baseFor(PRODUCT_BY_PROTOCOL[6]), cryptoRandom)
    c.send(new Uint8Array([...request, ...conversation().bind]))
    c.socket.end()
    const step = c.session.receive(await c.nextPdu())
    expect(step.kind === 'result' && step.outcome.kind).toBe('response')
    expect(decodePdu(await c.nextPdu()).ptype).toBe(PTYPE.bindAck)
    await c.closed
    await waitForNoConnections(host)
    expect(host.status().counters.closes['client-closed']).toBe(1)
  })

  it('never acknowledges a request the client log could not store', async () => {
    const dir = labs.tempDir()
    const log = await ClientLog.open(path.join(dir, 'log.sqlite'), { retentionDays: 30, now: Date.now })
    const { host, port } = await labs.start({ dir, clientLog: log })
    expectResponse(await kmsExchange(port, baseFor(PRODUCT_BY_PROTOCOL[6])))
    await log.close() // the log fails from now on
    const errors: LabHostEvents['connection-closed'][] = []
    host.on('connection-closed', (e) => errors.push(e))
    await expect(kmsExchange(port, baseFor(PRODUCT_BY_PROTOCOL[6]))).rejects.toThrow(/closed/)
    await waitForNoConnections(host)
    expect(errors.find((e) => e.reason === 'log-failed')?.detail).toMatch(/client log is closed/)
    expect(host.status().counters.logFailures).toBe(1)
    expect(host.status().counters.requests.v6.ok).toBe(1)
    await host.stop() // does not close a log it does not own (already closed here) and does not throw
  })

  it('keeps serving when an event listener throws', async () => {
    const { host, port } = await labs.start()
    host.on('request-logged', () => {
      throw new Error('subscriber bug')
    })
    host.on('connection-opened', () => {
      throw new Error('subscriber bug')
    })
    expectResponse(await kmsExchange(port, baseFor(PRODUCT_BY_PROTOCOL[4], { protocol: 4 })))
    expectResponse(await kmsExchange(port, baseFor(PRODUCT_BY_PROTOCOL[4], { protocol: 4 })))
  })

  it('purges records past the retention period on its timer, and the counts with them', async () => {
    let now = Date.UTC(2026, 0, 1)
    const { host, port } = await labs.start({ now: () => now, purgeIntervalMs: 1000, retentionDays: 30 })
    expectResponse(await kmsExchange(port, baseFor(PRODUCT_BY_PROTOCOL[6])))
    now += 31 * 86_400_000
    const purged = await nextEvent(host, 'log-purged')
    expect(purged.rows).toBe(1)
    expect(await host.clientLog!.recent(10)).toEqual([])
    expect(expectResponse(await kmsExchange(port, baseFor(PRODUCT_BY_PROTOCOL[6]))).response.base.count).toBe(1)
  })
})

describe('lab host config helpers', () => {
  it('parses listen addresses (port 0 allowed, IP literals only)', () => {
    expect(parseListenAddress('127.0.0.1')).toEqual({ address: '127.0.0.1', port: 1688 })
    expect(parseListenAddress('127.0.0.1:0')).toEqual({ address: '127.0.0.1', port: 0 })
    expect(parseListenAddress('::1')).toEqual({ address: '::1', port: 1688 })
    expect(parseListenAddress('[::1]:11688')).toEqual({ address: '::1', port: 11688 })
    expect(parseListenAddress('[::]')).toEqual({ address: '::', port: 1688 })
    for (const bad of ['localhost', 'kms.example.com:1688', '1.2.3.4:65536', '[127.0.0.1]:1688', '::1:1688x', '']) {
      expect(typeof parseListenAddress(bad)).toBe('string')
    }
    expect(formatHostPort('::1', 5)).toBe('[::1]:5')
    expect(formatHostPort('10.0.0.1', 5)).toBe('10.0.0.1:5')
  })

  it('knows loopback from reachable addresses', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1'].every(isLoopback)).toBe(true)
    expect(['0.0.0.0', '::', '10.0.0.5', '192.0.2.1', 'fe80::1', '::ffff:10.0.0.1'].some(isLoopback)).toBe(false)
  })

  it('turns the settings section into host configuration', () => {
    const s = defaultSettings().labHost
    const dir = path.resolve('/tmp/kms-scout-cfg')
    const c = labHostConfigFromSettings({ ...s, dbPath: 'logs/lab.sqlite', exchangeTimeoutS: 12, countMode: { fixed: 4 } }, dir)
    expect(c).toMatchObject({
      listen: [{ address: '127.0.0.1', port: 1688 }],
      dbPath: path.join(dir, 'logs', 'lab.sqlite'),
      identityFile: path.join(dir, 'lab-host-identity.json'),
      countMode: { fixed: 4 },
      exchangeTimeoutMs: 12_000,
      maxConnections: 256,
      maxPduBytes: 4096,
      retentionDays: 30
    })
    expect(labHostConfigFromSettings(s, dir).dbPath).toBe(path.join(dir, 'client-log.sqlite'))
  })
})
