/**
 * Every failure of queryKmsHost as its typed error (code + phase), against real loopback listeners that
 * misbehave: refuse, never answer, close, reset, answer garbage, reject the bind, fault, flip response bytes.
 *
 * Connect timeouts: a loopback connect either succeeds or is refused at once, and Node accepts connections
 * itself (a full backlog cannot be arranged from JS), so the connect-phase timeout uses an injected connect
 * function returning a socket that never connects. The bind-phase timeout uses a listener that accepts and
 * never answers.
 */
import { EventEmitter } from 'node:events'
import { Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { NCA_STATUS, productCatalog, PTYPE, type RequestIdentity } from '../../src-main/protocol'
import { CONTEXT_RESULT, PFC, PFC_FIRST_LAST, REJECT_REASON } from '../../src-main/protocol/rpc/constants'
import { decodePdu, encodePdu, rpcCommon } from '../../src-main/protocol/rpc/pdu'
import { NIL_SYNTAX } from '../../src-main/protocol/rpc/syntax'
import {
  isKmsQueryError,
  queryKmsHost,
  type KmsQueryError,
  type KmsQueryRequestParams,
  type QueryKmsHostOptions
} from '../../src-main/kms-client/kms-client'
import { PduChannel } from '../../src-main/kms-client/socket'
import { closedPort, startKmsTestHost, type KmsTestHost, type KmsTestHostOptions } from '../helpers/kms-test-host'

const CMID = '0a1b2c3d-4e5f-4a6b-8c7d-8e9fa0b1c2d3'

function identityOf(name: string): RequestIdentity {
  const found = productCatalog.findProduct(name)
  if (found.kind !== 'found') throw new Error(`no product ${name}`)
  return productCatalog.requestIdentity(found.sku)
}

function params(name = 'Windows 10 Professional'): KmsQueryRequestParams {
  return { identity: identityOf(name), cmid: CMID, workstationName: 'scout-test' }
}

const hosts: KmsTestHost[] = []
async function host(options: KmsTestHostOptions = {}): Promise<KmsTestHost> {
  const h = await startKmsTestHost(options)
  hosts.push(h)
  return h
}
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.close()))
})

async function failure(options: QueryKmsHostOptions): Promise<KmsQueryError> {
  try {
    await queryKmsHost(options)
  } catch (error) {
    if (isKmsQueryError(error)) return error
    throw error
  }
  throw new Error('the query succeeded')
}

async function against(h: KmsTestHost, extra: Partial<QueryKmsHostOptions> = {}): Promise<KmsQueryError> {
  return failure({ host: h.address, port: h.port, requests: params(), ...extra })
}

/** A socket that never connects (what a dropped SYN looks like to the caller). */
function neverConnects(made: Socket[]): QueryKmsHostOptions['connect'] {
  return () => {
    const s = new Socket()
    made.push(s)
    return s
  }
}

function bindNak(callId: number): Uint8Array {
  return encodePdu({ ...rpcCommon(callId), ptype: PTYPE.bindNak, rejectReason: 0, versions: undefined, trailer: new Uint8Array(0) })
}

function allRejected(bind: Uint8Array): Uint8Array {
  const b = decodePdu(bind)
  if (b.ptype !== PTYPE.bind) throw new Error('expected a bind')
  return encodePdu({
    ...rpcCommon(b.callId, PFC_FIRST_LAST | PFC.concMpx),
    ptype: PTYPE.bindAck,
    maxXmitFrag: 5840,
    maxRecvFrag: 5840,
    assocGroupId: 1,
    secAddr: new TextEncoder().encode('1688\0'),
    secAddrPad: new Uint8Array(1),
    reserved: 0,
    results: b.contexts.map(() => ({
      result: CONTEXT_RESULT.providerRejection,
      reason: REJECT_REASON.proposedTransferSyntaxesNotSupported,
      transferSyntax: NIL_SYNTAX
    })),
    trailer: new Uint8Array(0)
  })
}

function fault(pdu: Uint8Array, status: number): Uint8Array {
  const p = decodePdu(pdu)
  return encodePdu({
    ...rpcCommon(p.callId, PFC_FIRST_LAST | PFC.didNotExecute),
    ptype: PTYPE.fault,
    allocHint: 0,
    contextId: p.ptype === PTYPE.request ? p.contextId : 0,
    cancelCount: 0,
    reserved: 0,
    status,
    reserved2: 0,
    trailer: new Uint8Array(0)
  })
}

describe('connect phase', () => {
  it('a closed port → connection-refused', async () => {
    const port = await closedPort()
    const e = await failure({ host: '127.0.0.1', port, requests: params() })
    expect([e.code, e.phase, e.details.osCode, e.details.address]).toEqual(['connection-refused', 'connect', 'ECONNREFUSED', '127.0.0.1'])
    expect(e.progress?.attempts.map((a) => a.outcome)).toEqual(['connection-refused'])
    expect(e.progress?.bound).toBeUndefined()
  })

  it('a connection that never completes → timeout in the connect phase, the socket is destroyed', async () => {
    const made: Socket[] = []
    const e = await failure({
      host: '127.0.0.1',
      port: 1688,
      requests: params(),
      timeouts: { connectMs: 100 },
      connect: neverConnects(made)
    })
    expect([e.code, e.phase, e.details.timeoutMs]).toEqual(['timeout', 'connect', 100])
    expect(made).toHaveLength(1)
    expect(made[0]!.destroyed).toBe(true)
  })

  it('after a connect timeout on one address the next one is tried', async () => {
    const h = await host()
    const made: Socket[] = []
    const real = (t: { host: string; port: number; family: 4 | 6 }) =>
      new Socket().connect({ host: t.host, port: t.port, family: t.family })
    const result = await queryKmsHost({
      host: 'kms.scout.test',
      port: h.port,
      requests: params(),
      // generous: the live address must connect within it even on a loaded machine
      timeouts: { connectMs: 1000 },
      lookup: async () => [
        { address: '127.0.0.9', family: 4 },
        { address: '127.0.0.1', family: 4 }
      ],
      connect: (t) => (t.host === '127.0.0.9' ? neverConnects(made)!(t) : real(t))
    })
    expect(result.attempts.map((a) => [a.address, a.outcome])).toEqual([
      ['127.0.0.9', 'timeout'],
      ['127.0.0.1', 'connected']
    ])
  })
})

describe('resolve phase', () => {
  it('a name that does not exist → dns-failed', async () => {
    const e = await failure({
      host: 'nowhere.scout.test',
      requests: params(),
      lookup: () => Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.scout.test'), { code: 'ENOTFOUND' }))
    })
    expect([e.code, e.phase, e.details.osCode]).toEqual(['dns-failed', 'resolve', 'ENOTFOUND'])
    expect(e.message).toContain('does not exist')
  })

  it('a resolver that never answers → timeout in the resolve phase', async () => {
    const e = await failure({
      host: 'slow.scout.test',
      requests: params(),
      timeouts: { resolveMs: 100 },
      lookup: () => new Promise(() => {})
    })
    expect([e.code, e.phase]).toEqual(['timeout', 'resolve'])
  })

  it('a name with no addresses → dns-failed', async () => {
    const e = await failure({ host: 'empty.scout.test', requests: params(), lookup: async () => [] })
    expect([e.code, e.phase]).toEqual(['dns-failed', 'resolve'])
  })
})

describe('bind phase', () => {
  it('a host that accepts and never answers → timeout in the bind phase', async () => {
    const h = await host({ onConnect: 'silent' })
    const e = await against(h, { timeouts: { bindMs: 150 } })
    expect([e.code, e.phase, e.details.timeoutMs]).toEqual(['timeout', 'bind', 150])
    expect(e.progress?.address).toBe('127.0.0.1')
  })

  it('the host closes after reading the bind → connection-closed in the bind phase', async () => {
    const h = await host({ intercept: () => ({ close: true }) })
    const e = await against(h)
    expect([e.code, e.phase]).toEqual(['connection-closed', 'bind'])
  })

  it('the host resets the connection → connection-reset', async () => {
    const h = await host({ intercept: () => ({ reset: true }) })
    const e = await against(h)
    expect([e.code, e.phase, e.details.osCode]).toEqual(['connection-reset', 'bind', 'ECONNRESET'])
  })

  it('garbage instead of a bind_ack → protocol-violation naming the RPC field', async () => {
    const h = await host({
      intercept: () => ({ reply: new TextEncoder().encode('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n') })
    })
    const e = await against(h)
    expect([e.code, e.phase, e.details.field, e.details.offset]).toEqual(['protocol-violation', 'bind', 'rpc_vers', 0])
  })

  it('a valid PDU of the wrong type (a fault-free response) → protocol-violation on PTYPE', async () => {
    const h = await host({
      intercept: (pdu) => ({
        reply: encodePdu({
          ...rpcCommon(decodePdu(pdu).callId),
          ptype: PTYPE.response,
          allocHint: 0,
          contextId: 0,
          cancelCount: 0,
          reserved: 0,
          stub: new Uint8Array(8)
        })
      })
    })
    const e = await against(h)
    expect([e.code, e.phase, e.details.field]).toEqual(['protocol-violation', 'bind', 'PTYPE'])
  })

  it('bind_nak → bind-rejected (bind_nak)', async () => {
    const h = await host({ intercept: (pdu) => ({ reply: bindNak(decodePdu(pdu).callId) }) })
    const e = await against(h)
    expect([e.code, e.phase, e.details.bindReason]).toEqual(['bind-rejected', 'bind', 'bind_nak'])
  })

  it('every context rejected → bind-rejected (all-contexts-rejected)', async () => {
    const h = await host({ intercept: (pdu, i) => (i === 0 ? { reply: allRejected(pdu) } : undefined) })
    const e = await against(h)
    expect([e.code, e.phase, e.details.bindReason]).toEqual(['bind-rejected', 'bind', 'all-contexts-rejected'])
    expect(e.message).toContain('does not speak the KMS interface')
  })

  it('a fault in answer to the bind → rpc-fault in the bind phase', async () => {
    const h = await host({ intercept: (pdu) => ({ reply: fault(pdu, NCA_STATUS.protocolError) }) })
    const e = await against(h)
    expect([e.code, e.phase, e.details.status, e.details.statusText]).toEqual(['rpc-fault', 'bind', NCA_STATUS.protocolError, '0x1C01000B'])
    expect(e.details.statusName).toContain('nca_s_proto_error')
  })
})

describe('request phase', () => {
  it('the host binds, then never answers the request → timeout in the request phase', async () => {
    const h = await host({ intercept: (_pdu, i) => (i === 1 ? { silent: true } : undefined) })
    const e = await against(h, { ndr32Only: true, timeouts: { requestMs: 150 } })
    expect([e.code, e.phase]).toEqual(['timeout', 'request'])
    expect(e.progress?.bound).toBeDefined()
    expect(h.calls).toEqual([])
  })

  it('the host closes instead of answering the request → connection-closed in the request phase', async () => {
    const h = await host({ intercept: (_pdu, i) => (i === 2 ? { close: true } : undefined) })
    const e = await against(h)
    expect([e.code, e.phase]).toEqual(['connection-closed', 'request'])
  })

  it('a fault PDU for the request → rpc-fault with its NCA status name', async () => {
    const h = await host({ intercept: (pdu, i) => (i === 2 ? { reply: fault(pdu, NCA_STATUS.unknownInterface) } : undefined) })
    const e = await against(h)
    expect([e.code, e.phase, e.details.status, e.details.statusText, e.details.requestIndex]).toEqual([
      'rpc-fault',
      'request',
      0x1c010003,
      '0x1C010003',
      0
    ])
    expect(e.details.statusName).toContain('nca_s_unk_if')
  })

  it('a flipped V4 MAC byte → verification-failed naming v4-mac', async () => {
    const h = await host({ mutateReply: (r, kind) => (kind === 'response' ? flip(r, r.byteLength - 5) : r) })
    const e = await against(h, { requests: params('Windows 7 Professional') })
    expect([e.code, e.phase, e.details.check]).toEqual(['verification-failed', 'request', 'v4-mac'])
    expect(e.details.checks?.find((c) => c.name === 'v4-mac')?.status).toBe('fail')
    expect(e.message).toContain("'v4-mac' check failed")
  })

  it('a flipped call_id → verification-failed naming call-id', async () => {
    const h = await host({ mutateReply: (r, kind) => (kind === 'response' ? flip(r, 12) : r) })
    const e = await against(h)
    expect([e.code, e.details.check]).toEqual(['verification-failed', 'call-id'])
  })

  it('a flipped byte inside a V6 response → verification-failed with a named check', async () => {
    const h = await host({ mutateReply: (r, kind) => (kind === 'response' ? flip(r, 100) : r) })
    const e = await against(h)
    expect(e.code).toBe('verification-failed')
    expect(e.details.check).toMatch(/^(padding|hash|hmac|xored-ivs|epid-.*|cmid-echo|client-time-echo|version|length)$/)
  })

  it('garbage instead of the response → protocol-violation', async () => {
    const h = await host({ intercept: (_pdu, i) => (i === 2 ? { reply: new Uint8Array(40).fill(0x41) } : undefined) })
    const e = await against(h)
    expect([e.code, e.phase]).toEqual(['protocol-violation', 'request'])
  })
})

describe('abort and framing', () => {
  it('an AbortSignal ends a hanging query at once (aborted, in the phase it was in)', async () => {
    const h = await host({ onConnect: 'silent' })
    const controller = new AbortController()
    const pending = against(h, { signal: controller.signal, timeouts: { bindMs: 60_000 } })
    // abort once the host has the connection, i.e. while the client waits for the bind_ack
    await waitFor(() => h.connections === 1)
    controller.abort()
    const e = await pending
    expect([e.code, e.phase]).toEqual(['aborted', 'bind'])
  })

  it('an already aborted signal sends nothing', async () => {
    const h = await host()
    const e = await against(h, { signal: AbortSignal.abort() })
    expect(e.code).toBe('aborted')
    expect(h.connections).toBe(0)
  })

  it('replies written one byte per write still verify (stream framing)', async () => {
    const h = await host({ dribble: true })
    const result = await queryKmsHost({ host: h.address, port: h.port, requests: params(), count: 2 })
    expect(result.exchanges.map((e) => e.countSufficient)).toEqual([true, true])
  })

  it('PduChannel: PDUs split across and packed into chunks come out whole and in order', async () => {
    // a bind_nak and a fault, concatenated and cut at awkward places (inside the header, across the PDUs)
    const a = bindNak(2)
    const b = fault(bindNak(3), NCA_STATUS.opRangeError)
    const stream = new Uint8Array([...a, ...b])
    const fake = new EventEmitter() as unknown as Socket
    Object.assign(fake, { write: () => true, destroy: () => fake })
    const channel = new PduChannel(fake, 'fake')
    const chunks = [stream.subarray(0, 1), stream.subarray(1, 17), stream.subarray(17, a.byteLength + 3), stream.subarray(a.byteLength + 3)]
    for (const c of chunks) (fake as unknown as EventEmitter).emit('data', Buffer.from(c))
    expect(Uint8Array.from(await channel.next('bind', 1000, undefined))).toEqual(Uint8Array.from(a))
    expect(Uint8Array.from(await channel.next('bind', 1000, undefined))).toEqual(Uint8Array.from(b))
    ;(fake as unknown as EventEmitter).emit('end')
    await expect(channel.next('request', 1000, undefined)).rejects.toMatchObject({ code: 'connection-closed', phase: 'request' })
  })
})

function flip(bytes: Uint8Array, at: number): Uint8Array {
  const copy = Uint8Array.from(bytes)
  copy[at]! ^= 0x01
  return copy
}

/** Polls a condition on the event loop (no fixed sleep: checks on every turn until true). */
async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise<void>((resolve) => setImmediate(resolve))
}
