/**
 * A small real KMS host for client tests: node:net + PduFramer + the protocol layer's KmsHostSession, on a
 * loopback address and an ephemeral port. It records every accepted KMS request (so tests can see the CMID
 * on the wire) and can misbehave on demand: stay silent, close, answer with other bytes, flip a byte, refuse.
 * (The production lab host is built elsewhere; this one stays small on purpose.)
 */
import { randomBytes } from 'node:crypto'
import { createServer, type Server, type Socket } from 'node:net'
import {
  generateEpid,
  HRESULT,
  KmsHostSession,
  MAX_KMS_PDU_LENGTH,
  PduFramer,
  ProtocolDecodeError,
  VLMCSD_DEFAULT_HWID,
  type HostAnswer,
  type KmsCall,
  type KmsHostSessionOptions
} from '../../src-main/protocol'

export type InterceptAction = { reply: Uint8Array } | { close: true } | { reset: true } | { silent: true }

export interface KmsTestHostOptions {
  /** '127.0.0.1' (default), '::1' or another loopback address */
  address?: string
  session?: Partial<Omit<KmsHostSessionOptions, 'portSpec' | 'assocGroupId'>>
  /** Count to report; default 2 × N_Policy like vlmcsd */
  count?: number | ((call: KmsCall) => number)
  /** ePID to answer with; default a generated one for the request's KMS ID */
  epid?: string
  hwid?: Uint8Array
  /** a legacy host: refuse requests of a higher protocol with HRESULT 0x8007000D */
  maxProtocol?: number
  /** refuse every accepted call with this HRESULT */
  refuseWith?: number
  /** what to do with a new connection: serve it (default), never answer, or close it at once */
  onConnect?: 'serve' | 'silent' | 'close'
  /** called for each whole PDU before the session sees it; undefined = handle normally */
  intercept?: (pdu: Uint8Array, index: number) => InterceptAction | undefined
  /** changes a reply before it is written */
  mutateReply?: (reply: Uint8Array, kind: 'bind' | 'response') => Uint8Array
  /** write every reply one byte per write, each after the previous one was flushed (framing tests) */
  dribble?: boolean
}

export interface KmsTestHost {
  address: string
  port: number
  /** `127.0.0.1:port` or `[::1]:port` */
  endpoint: string
  /** every KMS request the host accepted, in order */
  calls: KmsCall[]
  /** number of accepted TCP connections */
  readonly connections: number
  close(): Promise<void>
}

export async function startKmsTestHost(options: KmsTestHostOptions = {}): Promise<KmsTestHost> {
  const address = options.address ?? '127.0.0.1'
  const calls: KmsCall[] = []
  const sockets = new Set<Socket>()
  let connections = 0
  let port = 0
  const epids = new Map<string, string>()

  const answerFor = (call: KmsCall): HostAnswer => {
    const kmsId = call.request.base.kmsId
    let epid = options.epid ?? epids.get(kmsId)
    if (epid === undefined) {
      epid = generateEpid(kmsId, { random: (n) => randomBytes(n), now: new Date(), hostBuild: 17763, lcid: 1033 })
      epids.set(kmsId, epid)
    }
    const count = typeof options.count === 'function' ? options.count(call) : (options.count ?? Math.max(1, 2 * call.request.base.nPolicy))
    return { epid, hwid: options.hwid ?? VLMCSD_DEFAULT_HWID, count, activationInterval: 120, renewalInterval: 10080 }
  }

  const serve = (socket: Socket): void => {
    const session = new KmsHostSession({ portSpec: String(port), assocGroupId: 0x2f3c0001, ...options.session })
    const framer = new PduFramer(MAX_KMS_PDU_LENGTH)
    let index = 0
    let silent = false
    let writing: Promise<void> = Promise.resolve()
    const write = (bytes: Uint8Array): void => {
      if (!options.dribble) {
        socket.write(bytes)
        return
      }
      writing = writing.then(async () => {
        for (const b of bytes) {
          if (socket.destroyed) return
          await new Promise<void>((resolve) => socket.write(Uint8Array.of(b), () => setImmediate(resolve)))
        }
      })
    }
    const send = (bytes: Uint8Array, kind: 'bind' | 'response'): void => {
      write(options.mutateReply ? options.mutateReply(bytes, kind) : bytes)
    }
    socket.on('data', (chunk: Buffer) => {
      if (silent) return
      let pdus: Uint8Array[]
      try {
        pdus = framer.push(chunk)
      } catch (error) {
        if (error instanceof ProtocolDecodeError) {
          socket.destroy()
          return
        }
        throw error
      }
      for (const pdu of pdus) {
        const action = options.intercept?.(pdu, index++)
        if (action !== undefined) {
          if ('reply' in action) write(action.reply)
          else if ('close' in action) socket.end()
          else if ('reset' in action) socket.resetAndDestroy()
          else silent = true
          if (!('reply' in action)) return
          continue
        }
        const step = session.receive(pdu)
        if (step.kind === 'close') {
          socket.end()
          return
        }
        if (step.kind === 'reply') {
          send(step.reply, step.refused || step.fault ? 'response' : 'bind')
          continue
        }
        const call = step.call
        calls.push(call)
        if (options.refuseWith !== undefined) send(session.answerError(call, options.refuseWith), 'response')
        else if (options.maxProtocol !== undefined && call.request.protocol > options.maxProtocol)
          send(session.answerError(call, HRESULT.invalidData), 'response')
        else
          send(
            session.answer(call, answerFor(call), (n) => randomBytes(n)),
            'response'
          )
      }
      // a bad header after whole PDUs: those were answered above; now close, as for a bad header alone
      if (framer.error) socket.destroy()
    })
  }

  const server: Server = createServer((socket) => {
    connections++
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
    const mode = options.onConnect ?? 'serve'
    if (mode === 'close') socket.destroy()
    else if (mode === 'serve') serve(socket)
    // 'silent': accept and never read or answer
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, address, () => resolve())
  })
  const bound = server.address()
  if (bound === null || typeof bound === 'string') throw new Error('test host has no TCP address')
  port = bound.port
  return {
    address,
    port,
    endpoint: address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`,
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

/** A port on `address` with nothing listening (bound once to get a free port, then closed). */
export async function closedPort(address = '127.0.0.1'): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, address, () => resolve())
  })
  const bound = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (bound === null || typeof bound === 'string') throw new Error('no TCP address')
  return bound.port
}
