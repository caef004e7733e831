/**
 * A scriptable DNS server on 127.0.0.1 (UDP and TCP on the same port) for hostile-reply tests.
 *
 * Handlers get the decoded query and decide what raw bytes to send back (or nothing). Helpers build replies
 * from the query so tests can then corrupt specific bytes.
 */
import { Buffer } from 'node:buffer'
import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { createServer, type Server, type Socket as TcpSocket } from 'node:net'
import * as dnsPacket from 'dns-packet'

export interface ReceivedQuery {
  readonly id: number
  readonly name: string
  readonly type: string
  /** The whole query message as received (without the TCP length prefix). */
  readonly raw: Buffer
  readonly transport: 'udp' | 'tcp'
}

/** Send these datagrams (in order) back to the client. Returning [] sends nothing. */
export type UdpHandler = (query: ReceivedQuery) => Buffer[]
/** Full control over the TCP connection: write framed or unframed bytes, end, or leave it hanging. */
export type TcpHandler = (query: ReceivedQuery, socket: TcpSocket) => void

export interface FakeDnsServer {
  readonly host: '127.0.0.1'
  readonly port: number
  /** `127.0.0.1:<port>` for the client's server list. */
  readonly spec: string
  readonly queries: ReceivedQuery[]
  close(): Promise<void>
}

function decodeQuery(raw: Buffer, transport: 'udp' | 'tcp'): ReceivedQuery {
  const packet = dnsPacket.decode(raw)
  const question = packet.questions?.[0]
  return { id: packet.id ?? 0, name: question?.name ?? '', type: String(question?.type ?? ''), raw, transport }
}

function listenTcp(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
}

function bindUdp(socket: UdpSocket): Promise<number> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject)
      resolve(socket.address().port)
    })
  })
}

export async function startFakeDnsServer(handlers: { udp?: UdpHandler; tcp?: TcpHandler }): Promise<FakeDnsServer> {
  const queries: ReceivedQuery[] = []
  for (let tries = 0; tries < 20; tries++) {
    const udp = createSocket('udp4')
    const port = await bindUdp(udp)
    const tcp = createServer()
    const sockets = new Set<TcpSocket>()
    try {
      await listenTcp(tcp, port)
    } catch {
      udp.close()
      continue // the TCP side of this port is taken; try another ephemeral port
    }
    udp.on('message', (msg, rinfo) => {
      let query: ReceivedQuery
      try {
        query = decodeQuery(msg, 'udp')
      } catch {
        return
      }
      queries.push(query)
      for (const datagram of handlers.udp?.(query) ?? []) udp.send(datagram, rinfo.port, rinfo.address)
    })
    tcp.on('connection', (socket) => {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      socket.on('error', () => {})
      let pending = Buffer.alloc(0)
      socket.on('data', (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk])
        if (pending.length < 2 || pending.length < 2 + pending.readUInt16BE(0)) return
        const raw = pending.subarray(2, 2 + pending.readUInt16BE(0))
        pending = Buffer.alloc(0)
        let query: ReceivedQuery
        try {
          query = decodeQuery(raw, 'tcp')
        } catch {
          socket.destroy()
          return
        }
        queries.push(query)
        if (handlers.tcp) handlers.tcp(query, socket)
        else socket.destroy()
      })
    })
    return {
      host: '127.0.0.1',
      port,
      spec: `127.0.0.1:${port}`,
      queries,
      close: async () => {
        for (const socket of sockets) socket.destroy()
        await new Promise<void>((resolve) => tcp.close(() => resolve()))
        await new Promise<void>((resolve) => udp.close(() => resolve()))
      }
    }
  }
  throw new Error('could not find a port free for both UDP and TCP on 127.0.0.1')
}

// ---------------------------------------------------------------------------------------------------------
// Reply builders

export interface ReplyParts {
  readonly id?: number
  readonly flags?: number
  readonly rcode?: number
  readonly questions?: dnsPacket.Question[]
  readonly answers?: dnsPacket.Answer[]
  readonly authorities?: dnsPacket.Answer[]
  readonly additionals?: dnsPacket.Answer[]
}

/** A well-formed response to `query` (same ID and question unless overridden). */
export function buildReply(query: ReceivedQuery, parts: ReplyParts = {}): Buffer {
  const flags = (parts.flags ?? dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE) | (parts.rcode ?? 0)
  return dnsPacket.encode({
    type: 'response',
    id: parts.id ?? query.id,
    flags,
    questions: parts.questions ?? [{ name: query.name, type: query.type as dnsPacket.RecordType, class: 'IN' }],
    answers: parts.answers ?? [],
    authorities: parts.authorities ?? [],
    additionals: parts.additionals ?? []
  })
}

/**
 * The query's header and question with QR set and the given counts, ready for hand-made record bytes to be
 * appended. (Our client sends classic queries — header + one question, nothing after — so that is the raw query.)
 */
export function replyHeaderAndQuestion(
  query: ReceivedQuery,
  counts: { an?: number; ns?: number; ar?: number } = {},
  flags = 0x8180
): Buffer {
  const head = Buffer.from(query.raw)
  head.writeUInt16BE(flags, 2)
  head.writeUInt16BE(1, 4)
  head.writeUInt16BE(counts.an ?? 0, 6)
  head.writeUInt16BE(counts.ns ?? 0, 8)
  head.writeUInt16BE(counts.ar ?? 0, 10)
  return head
}

export function frameTcp(message: Buffer, declaredLength = message.length): Buffer {
  const prefix = Buffer.alloc(2)
  prefix.writeUInt16BE(declaredLength, 0)
  return Buffer.concat([prefix, message])
}

export function srvAnswer(name: string, target: string, port = 1688, priority = 0, weight = 0, ttl = 60): dnsPacket.Answer {
  return { name, type: 'SRV', class: 'IN', ttl, data: { priority, weight, port, target } }
}
