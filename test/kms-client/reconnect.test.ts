/**
 * queryKmsHost against hosts that close the connection between requests (docs/protocol.md §1.3: py-kms after every
 * response, vlmcsd -d): the client reconnects, binds again and resends that request, once per request. A close
 * in the middle of an exchange, or of a fresh connection, stays a typed error. Real sockets on 127.0.0.1.
 */
import { randomBytes } from 'node:crypto'
import { createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import {
  concatBytes,
  generateEpid,
  KmsHostSession,
  MAX_KMS_PDU_LENGTH,
  PduFramer,
  productCatalog,
  VLMCSD_DEFAULT_HWID,
  type KmsCall,
  type RequestIdentity
} from '../../src-main/protocol'
import { queryKmsHost, type KmsQueryRequestParams } from '../../src-main/kms-client/kms-client'
import { startKmsTestHost, type KmsTestHost } from '../helpers/kms-test-host'
import { queryError } from '../helpers/kms-query-error'

const CMID = '0b1a2f3e-4d5c-4b6a-9788-a9b8c7d6e5f4'

function params(): KmsQueryRequestParams {
  const found = productCatalog.findProduct('Windows 10 Professional')
  if (found.kind !== 'found') throw new Error('no product')
  const identity: RequestIdentity = productCatalog.requestIdentity(found.sku)
  return { identity, cmid: CMID, workstationName: 'scout-reconnect.example.test' }
}

/** What one connection of the tiny host does. */
interface ConnectionPlan {
  /** close right after the bind_ack (use an NDR32-only client, whose bind is that one exchange) */
  closeAfterBind?: boolean
  /** answer this many requests, then `then` */
  answers?: number
  /** 'close': close right after the last answer; 'half-answer': send half of the next response, then close */
  then?: 'close' | 'half-answer'
  /** 'end' (FIN; later bytes are read and ignored) or 'destroy' (socket closed: later bytes get a reset) */
  closeWith?: 'end' | 'destroy'
}

interface TinyHost {
  address: string
  port: number
  /** accepted KMS requests with the 1-based connection that carried them */
  calls: { connection: number; call: KmsCall }[]
  readonly connections: number
  close(): Promise<void>
}

/** A small KMS host (protocol layer session over node:net) that closes connections as planned. */
async function startTinyHost(planFor: (connection: number) => ConnectionPlan): Promise<TinyHost> {
  const calls: TinyHost['calls'] = []
  const sockets = new Set<Socket>()
  let connections = 0
  let port = 0
  const epid = generateEpid(params().identity.kmsId, { random: (n) => randomBytes(n), now: new Date(), hostBuild: 17763, lcid: 1033 })

  const serve = (socket: Socket, connection: number, plan: ConnectionPlan): void => {
    const session = new KmsHostSession({ portSpec: String(port), assocGroupId: 0x1d2e0001 })
    const framer = new PduFramer(MAX_KMS_PDU_LENGTH)
    let answered = 0
    let done = false
    const finish = (last?: Uint8Array): void => {
      done = true
      if (plan.closeWith === 'destroy') {
        if (last === undefined) socket.destroy()
        else socket.write(last, () => socket.destroy())
      } else if (last === undefined) {
        socket.end()
      } else {
        socket.end(last)
      }
    }
    socket.on('data', (chunk: Buffer) => {
      if (done) return
      for (const pdu of framer.push(chunk)) {
        const step = session.receive(pdu)
        if (step.kind === 'close') return finish()
        if (step.kind === 'reply') {
          if (plan.closeAfterBind) return finish(step.reply)
          socket.write(step.reply)
          continue
        }
        calls.push({ connection, call: step.call })
        const reply = session.answer(
          step.call,
          { epid, hwid: VLMCSD_DEFAULT_HWID, count: 50, activationInterval: 120, renewalInterval: 10080 },
          (n) => randomBytes(n)
        )
        if (plan.answers !== undefined && answered === plan.answers) return finish(reply.subarray(0, reply.byteLength >> 1))
        answered++
        if (plan.answers !== undefined && answered === plan.answers && plan.then === 'close') return finish(reply)
        socket.write(reply)
      }
    })
  }

  const server: Server = createServer((socket) => {
    connections++
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
    serve(socket, connections, planFor(connections))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const bound = server.address()
  if (bound === null || typeof bound === 'string') throw new Error('no TCP address')
  port = bound.port
  return {
    address: '127.0.0.1',
    port,
    calls,
    get connections() {
      return connections
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })
  }
}

const opened: { close(): Promise<void> }[] = []
async function tinyHost(planFor: (connection: number) => ConnectionPlan): Promise<TinyHost> {
  const h = await startTinyHost(planFor)
  opened.push(h)
  return h
}
async function testHost(options: Parameters<typeof startKmsTestHost>[0]): Promise<KmsTestHost> {
  const h = await startKmsTestHost(options)
  opened.push(h)
  return h
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((h) => h.close()))
})

describe('reconnect when the host closed the connection between requests', () => {
  it('a host that closes after each answer (FIN): two requests are both answered, one reconnect', async () => {
    const h = await tinyHost(() => ({ answers: 1, then: 'close' }))
    const result = await queryKmsHost({ host: h.address, port: h.port, requests: params(), count: 2 })
    expect(result.reconnects).toBe(1)
    expect(result.exchanges.map((e) => [e.index, e.reconnected])).toEqual([
      [0, false],
      [1, true]
    ])
    // the resent request is the first on the new connection: call_id 2 on the NDR32 context after a new bind
    expect(result.exchanges[1]!.request).toMatchObject({ callId: 2, contextId: 0, syntax: 'ndr32' })
    for (const e of result.exchanges) {
      expect(e.checks.filter((c) => c.status === 'fail')).toEqual([])
      expect(e.response.base.cmid).toBe(CMID)
    }
    expect(result.timing.requestMs).toHaveLength(2)
    expect(h.connections).toBe(2)
    // each connection carried exactly one request, and the host saw the same CMID on both
    expect(h.calls.map((c) => [c.connection, c.call.request.base.cmid])).toEqual([
      [1, CMID],
      [2, CMID]
    ])
  })

  it('a host that closes its socket after each answer (later bytes reset): three requests, two reconnects', async () => {
    const h = await tinyHost(() => ({ answers: 1, then: 'close', closeWith: 'destroy' }))
    const result = await queryKmsHost({ host: h.address, port: h.port, requests: params(), count: 3 })
    expect(result.reconnects).toBe(2)
    expect(result.exchanges.map((e) => e.reconnected)).toEqual([false, true, true])
    expect(h.connections).toBe(3)
    expect(h.calls.map((c) => c.connection)).toEqual([1, 2, 3])
  })

  it('a host that keeps the connection open needs no reconnect', async () => {
    const h = await tinyHost(() => ({}))
    const result = await queryKmsHost({ host: h.address, port: h.port, requests: params(), count: 3 })
    expect(result.reconnects).toBe(0)
    expect(result.exchanges.map((e) => e.reconnected)).toEqual([false, false, false])
    expect(h.connections).toBe(1)
  })

  it('a host that closes every connection right after the bind: typed error, never retried', async () => {
    const h = await tinyHost(() => ({ closeAfterBind: true }))
    const error = await queryError(queryKmsHost({ host: h.address, port: h.port, requests: params(), count: 2, ndr32Only: true }))
    expect([error.code, error.phase]).toEqual(['connection-closed', 'request'])
    expect(error.progress?.bound).toBeDefined()
    expect(error.progress?.exchanges).toEqual([])
    // the connection had not answered a request yet, so the close was not "between requests"
    expect(error.progress?.reconnects).toBe(0)
    expect(h.connections).toBe(1)
  })

  it('the fresh connection also closes before answering: typed error after exactly one reconnect', async () => {
    const h = await tinyHost((n) => (n === 1 ? { answers: 1, then: 'close' } : { closeAfterBind: true }))
    const error = await queryError(queryKmsHost({ host: h.address, port: h.port, requests: params(), count: 3, ndr32Only: true }))
    expect([error.code, error.phase]).toEqual(['connection-closed', 'request'])
    expect(error.progress?.exchanges).toHaveLength(1)
    expect(error.progress?.reconnects).toBe(1)
    expect(h.connections).toBe(2)
    expect(h.calls).toHaveLength(1)
  })

  it('a host that closes in the middle of an answer: typed error, no reconnect', async () => {
    const h = await tinyHost(() => ({ answers: 1, then: 'half-answer' }))
    const error = await queryError(queryKmsHost({ host: h.address, port: h.port, requests: params(), count: 2 }))
    expect([error.code, error.phase]).toEqual(['connection-closed', 'request'])
    expect(error.progress?.exchanges).toHaveLength(1)
    expect(error.progress?.reconnects).toBe(0)
    expect(h.connections).toBe(1)
    expect(h.calls).toHaveLength(2)
  })
})

describe('a bad frame after a good one', () => {
  /** A DCE/RPC header whose frag_length (8) is shorter than the header itself. */
  const badHeader = Uint8Array.of(5, 0, 2, 3, 0x10, 0, 0, 0, 8, 0, 0, 0, 2, 0, 0, 0)

  it('after the bind_ack: the bind_ack is used, the request fails at once with protocol-violation', async () => {
    const h = await testHost({ mutateReply: (reply, kind) => (kind === 'bind' ? concatBytes(reply, badHeader) : reply) })
    const error = await queryError(
      queryKmsHost({ host: h.address, port: h.port, requests: params(), ndr32Only: true, timeouts: { requestMs: 60_000 } })
    )
    expect([error.code, error.phase, error.details.field]).toEqual(['protocol-violation', 'request', 'frag_length'])
    expect(error.progress?.bound).toMatchObject({ contextId: 0, syntax: 'ndr32' })
    expect(h.connections).toBe(1)
  })

  it('after a response: that exchange counts, the next request fails with protocol-violation (no reconnect)', async () => {
    let responses = 0
    const h = await testHost({
      mutateReply: (reply, kind) => (kind === 'response' && ++responses === 1 ? concatBytes(reply, badHeader) : reply)
    })
    const error = await queryError(
      queryKmsHost({ host: h.address, port: h.port, requests: params(), count: 2, timeouts: { requestMs: 60_000 } })
    )
    expect([error.code, error.phase]).toEqual(['protocol-violation', 'request'])
    expect(error.progress?.exchanges).toHaveLength(1)
    expect(error.progress?.reconnects).toBe(0)
    expect(h.connections).toBe(1)
  })

  it('after the last response: the query is answered (bytes after the last answer are never needed)', async () => {
    const h = await testHost({ mutateReply: (reply, kind) => (kind === 'response' ? concatBytes(reply, badHeader) : reply) })
    const result = await queryKmsHost({ host: h.address, port: h.port, requests: params() })
    expect(result.exchanges).toHaveLength(1)
    expect(result.reconnects).toBe(0)
  })
})
