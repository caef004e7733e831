/**
 * A small KMS client over real sockets for the lab-host tests: KmsClientSession (the protocol layer's client state
 * machine, which verifies every response) + PduFramer around a node:net socket. Not the production client
 * (src-main/kms-client/kms-client.ts); just enough to drive the host from the outside.
 */
import { randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'
import {
  dateToFileTime,
  generateCmid,
  KmsClientSession,
  makeBaseRequest,
  PduFramer,
  productCatalog,
  type BaseRequest,
  type BoundInfo,
  type KmsCallOutcome,
  type KmsClientSessionOptions,
  type RandomSource
} from '../../src-main/protocol/index'

export const cryptoRandom: RandomSource = (n) => randomBytes(n)

export function newCmid(): string {
  return generateCmid(cryptoRandom)
}

export interface BaseOptions {
  protocol?: number
  cmid?: string
  workstationName?: string
  nPolicy?: number
  clientTime?: Date
}

/** A base request for a product from products.json, by name. */
export function baseFor(productName: string, o: BaseOptions = {}): BaseRequest {
  const found = productCatalog.findProduct(productName)
  if (found.kind !== 'found') throw new Error(`no unique product "${productName}"`)
  return makeBaseRequest({
    identity: productCatalog.requestIdentity(found.sku),
    protocol: o.protocol,
    cmid: o.cmid ?? newCmid(),
    clientTime: dateToFileTime(o.clientTime ?? new Date()),
    workstationName: o.workstationName ?? 'lab-client.test',
    nPolicy: o.nPolicy
  })
}

/** The product names the tests use for each protocol version. */
export const PRODUCT_BY_PROTOCOL = { 4: 'Windows 7 Professional', 5: 'Windows 8 Professional', 6: 'Windows 10 Professional' } as const

class ConnectionClosedError extends Error {
  override name = 'ConnectionClosedError'
}

/** One client connection; every wait rejects if the host closes or resets the connection. */
export class TestKmsConnection {
  private readonly framer = new PduFramer(4096)
  private readonly inbox: Uint8Array[] = []
  private waiter: { resolve: (pdu: Uint8Array) => void; reject: (err: Error) => void } | undefined
  private ended: Error | undefined
  readonly session: KmsClientSession
  /** resolves when the socket has closed (for whatever reason) */
  readonly closed: Promise<void>

  private constructor(
    readonly socket: Socket,
    options: KmsClientSessionOptions
  ) {
    this.session = new KmsClientSession(options)
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const pdu of this.framer.push(chunk)) this.deliver(pdu)
        if (this.framer.error) this.fail(this.framer.error)
      } catch (err) {
        this.fail(err instanceof Error ? err : new Error(String(err)))
      }
    })
    socket.on('error', (err) => this.fail(err))
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.fail(new ConnectionClosedError('the host closed the connection'))
        resolve()
      })
    })
  }

  /** A connection over an already connected socket (e.g. one bound to another loopback address). */
  static wrap(socket: Socket, options: KmsClientSessionOptions = {}): TestKmsConnection {
    return new TestKmsConnection(socket, options)
  }

  static open(port: number, host = '127.0.0.1', options: KmsClientSessionOptions = {}): Promise<TestKmsConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host, noDelay: true })
      socket.once('error', reject)
      socket.once('connect', () => {
        socket.off('error', reject)
        resolve(new TestKmsConnection(socket, options))
      })
    })
  }

  private deliver(pdu: Uint8Array): void {
    if (this.waiter) {
      const w = this.waiter
      this.waiter = undefined
      w.resolve(pdu)
    } else {
      this.inbox.push(pdu)
    }
  }

  private fail(err: Error): void {
    this.ended ??= err
    if (this.waiter) {
      const w = this.waiter
      this.waiter = undefined
      w.reject(err)
    }
  }

  /** The next whole PDU from the host. */
  nextPdu(): Promise<Uint8Array> {
    const queued = this.inbox.shift()
    if (queued) return Promise.resolve(queued)
    if (this.ended) return Promise.reject(this.ended)
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject }
    })
  }

  send(bytes: Uint8Array): void {
    this.socket.write(bytes)
  }

  /** bind (and alter_context if the host wants it); rejects unless the session is bound. */
  async bind(): Promise<BoundInfo> {
    this.send(this.session.bind())
    for (;;) {
      const step = this.session.receive(await this.nextPdu())
      if (step.kind === 'bound') return step.info
      if (step.kind === 'send') {
        this.send(step.pdu)
        continue
      }
      throw new Error(`bind failed: ${JSON.stringify(step)}`)
    }
  }

  /** One request; the outcome is the protocol layer's verdict on the response (all checks of docs/protocol.md §7.5). */
  async request(base: BaseRequest, random: RandomSource = cryptoRandom): Promise<KmsCallOutcome> {
    this.send(this.session.request(base, random))
    const step = this.session.receive(await this.nextPdu())
    if (step.kind !== 'result') throw new Error(`unexpected client step ${step.kind}`)
    return step.outcome
  }

  close(): Promise<void> {
    this.socket.end()
    return this.closed
  }

  destroy(): void {
    this.socket.destroy()
  }
}

/** Connect, bind, one request, close: the outcome. */
export async function kmsExchange(
  port: number,
  base: BaseRequest,
  host = '127.0.0.1',
  options: KmsClientSessionOptions = {}
): Promise<KmsCallOutcome> {
  const c = await TestKmsConnection.open(port, host, options)
  try {
    await c.bind()
    return await c.request(base)
  } finally {
    c.destroy()
  }
}

/** The verified response of an outcome, or a thrown error describing what came back instead. */
export function expectResponse(outcome: KmsCallOutcome): Extract<KmsCallOutcome, { kind: 'response' }> {
  if (outcome.kind !== 'response')
    throw new Error(
      `expected a verified response, got ${outcome.kind}: ${'message' in outcome ? outcome.message : 'reason' in outcome ? outcome.reason : ''}`
    )
  return outcome
}
