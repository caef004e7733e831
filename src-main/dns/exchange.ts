/**
 * One message and its reply with one server over UDP or TCP: the transport of both the lookups (a QUERY whose
 * reply repeats the question, `exchangeUdp`/`exchangeTcp`) and the dynamic updates (./update-transport.ts, whose
 * replies are read by the header only). What differs is only how a message from the server is read, so that is
 * a parameter (`read`) of the one socket code below.
 *
 * Each exchange is bounded by its own timer: whatever the server does (silence, garbage, endless wrong-ID
 * replies, a TCP length prefix it never fulfils), the promise settles within `timeoutMs`, and the socket is
 * closed. Exchanges never reject; every outcome is a value.
 */
import { Buffer } from 'node:buffer'
import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { connect as tcpConnect } from 'node:net'
import type { DnsServer } from './server-spec'
import { frameTcpMessage, inspectReply, type DnsReplyMessage, type ExpectedReply, type ReplyVerdict } from './wire'

export type ExchangeOutcome =
  | { readonly kind: 'answer'; readonly message: DnsReplyMessage }
  | { readonly kind: 'truncated'; readonly rcode: string; readonly authoritative: boolean; readonly bytes: number }
  | { readonly kind: 'rcode-failure'; readonly rcode: string; readonly authoritative: boolean; readonly bytes: number }
  | { readonly kind: 'malformed'; readonly reason: string }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'network'; readonly reason: string }
  | { readonly kind: 'aborted' }

export interface ExchangeParams {
  readonly server: DnsServer
  readonly query: Buffer
  readonly expected: ExpectedReply
  readonly timeoutMs: number
  readonly signal?: AbortSignal | undefined
  /** Called for every message that is not accepted as our reply (for the trace). */
  readonly onIgnored: (reason: string, bytes: number) => void
}

/** The TCP length prefix is 16 bits, so no DNS message over TCP is larger, in either direction. */
export const MAX_TCP_MESSAGE_BYTES = 65_535
/** Messages on one TCP connection that are not our reply before it is given up (an honest server sends one). */
export const MAX_IGNORED_TCP_MESSAGES = 16

/** Bounds of one TCP connection, whatever the server sends. */
export interface TcpLimits {
  /** Largest DNS message accepted over TCP; a larger length prefix closes the connection. */
  readonly maxMessageBytes: number
  /** How many non-matching messages one TCP connection may deliver before we give up on it. */
  readonly maxIgnoredMessages: number
}

export interface TcpExchangeParams extends ExchangeParams, TcpLimits {}

/** What one message from the server is to an exchange: its reply, a reply it cannot use, or another message. */
export type MessageVerdict<R> =
  | { readonly kind: 'reply'; readonly reply: R }
  | { readonly kind: 'malformed'; readonly reason: string }
  | { readonly kind: 'ignore'; readonly reason: string }

export type MessageOutcome<R> =
  | { readonly kind: 'reply'; readonly reply: R; readonly transport: 'udp' | 'tcp' }
  | { readonly kind: 'malformed'; readonly reason: string }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'network'; readonly reason: string }
  | { readonly kind: 'aborted' }

export interface MessageParams<R> {
  readonly server: DnsServer
  readonly message: Buffer
  readonly timeoutMs: number
  readonly signal?: AbortSignal | undefined
  /** Reads one message from the server; called once per message, never after the exchange has ended. */
  readonly read: (message: Buffer, transport: 'udp' | 'tcp') => MessageVerdict<R>
  /** Called for every message that is not accepted as our reply (for the trace). */
  readonly onIgnored?: ((reason: string, bytes: number) => void) | undefined
}

const SOCKET_ERROR_TEXT: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused: nothing listens for DNS at that address and port',
  ECONNRESET: 'connection reset by the server',
  EHOSTUNREACH: 'no route to the server (host unreachable)',
  ENETUNREACH: 'no route to the server (network unreachable)',
  EADDRNOTAVAIL: 'the address is not usable from this machine',
  EAFNOSUPPORT: 'this machine cannot use that address family (IPv6 disabled?)',
  EPIPE: 'the server closed the connection while we were writing'
}

function describeSocketError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code && SOCKET_ERROR_TEXT[code]) return `${SOCKET_ERROR_TEXT[code]} (${code})`
    return code ? `${code}: ${error.message}` : error.message
  }
  return String(error)
}

/** Runs `body` with a settle-once callback that also clears the timer and abort listener. */
function bounded<R>(
  params: MessageParams<R>,
  body: (finish: (outcome: MessageOutcome<R>) => void) => () => void
): Promise<MessageOutcome<R>> {
  return new Promise((resolve) => {
    let settled = false
    let cleanup: () => void = () => {}
    const onAbort = (): void => finish({ kind: 'aborted' })
    const timer = setTimeout(() => finish({ kind: 'timeout' }), params.timeoutMs)
    function finish(outcome: MessageOutcome<R>): void {
      if (settled) return
      settled = true
      clearTimeout(timer)
      params.signal?.removeEventListener('abort', onAbort)
      try {
        cleanup()
      } catch {
        // Closing an already-failed socket may throw; the outcome is already decided.
      }
      resolve(outcome)
    }
    if (params.signal?.aborted) {
      finish({ kind: 'aborted' })
      return
    }
    params.signal?.addEventListener('abort', onAbort, { once: true })
    try {
      cleanup = body(finish)
    } catch (error) {
      finish({ kind: 'network', reason: describeSocketError(error) })
    }
    if (settled) {
      try {
        cleanup()
      } catch {
        // see above
      }
    }
  })
}

/** Same address, ignoring IPv6 zone and letter case (the kernel reports `::1`, we may have been given `::1`). */
function sameHost(a: string, b: string): boolean {
  const strip = (s: string): string => s.split('%')[0]!.toLowerCase()
  return strip(a) === strip(b)
}

/** Sends `message` in one datagram and waits for the datagram `read` accepts. */
export function sendOverUdp<R>(params: MessageParams<R>): Promise<MessageOutcome<R>> {
  const { server } = params
  return bounded(params, (finish) => {
    const socket: UdpSocket = createSocket(server.family === 6 ? 'udp6' : 'udp4')
    socket.on('error', (error) => finish({ kind: 'network', reason: describeSocketError(error) }))
    socket.on('message', (msg, rinfo) => {
      // The socket is connected, so the kernel already filters sources; checked again because it is cheap.
      if (!sameHost(rinfo.address, server.host) || rinfo.port !== server.port) {
        params.onIgnored?.(`datagram from ${rinfo.address}:${rinfo.port}, not from the server`, msg.length)
        return
      }
      const verdict = params.read(msg, 'udp')
      if (verdict.kind === 'ignore') params.onIgnored?.(verdict.reason, msg.length)
      else finish(verdict.kind === 'reply' ? { ...verdict, transport: 'udp' } : verdict)
    })
    // A connected UDP socket gets ICMP "port unreachable" back as ECONNREFUSED instead of a silent timeout.
    socket.connect(server.port, server.host, () => {
      try {
        socket.send(params.message, (error) => {
          if (error) finish({ kind: 'network', reason: describeSocketError(error) })
        })
      } catch (error) {
        // The exchange may already be over (timeout/abort closed the socket before connect completed).
        finish({ kind: 'network', reason: describeSocketError(error) })
      }
    })
    return () => socket.close()
  })
}

/** Sends `message` with its 2-byte length prefix and reads length-prefixed messages until `read` accepts one. */
export function sendOverTcp<R>(params: MessageParams<R> & TcpLimits): Promise<MessageOutcome<R>> {
  const { server } = params
  return bounded(params, (finish) => {
    const socket = tcpConnect({ host: server.host, port: server.port, family: server.family })
    let pending: Buffer = Buffer.alloc(0)
    let ignored = 0
    socket.setNoDelay(true)
    socket.on('connect', () => socket.write(frameTcpMessage(params.message)))
    socket.on('error', (error) => finish({ kind: 'network', reason: describeSocketError(error) }))
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
      while (pending.length >= 2) {
        const length = pending.readUInt16BE(0)
        if (length > params.maxMessageBytes) {
          finish({
            kind: 'malformed',
            reason: `server announced a ${length}-byte TCP message; the limit is ${params.maxMessageBytes} bytes`
          })
          return
        }
        if (pending.length < 2 + length) return // wait for the rest (the timer bounds the wait)
        const message = pending.subarray(2, 2 + length)
        pending = pending.subarray(2 + length)
        const verdict = params.read(message, 'tcp')
        if (verdict.kind !== 'ignore') {
          finish(verdict.kind === 'reply' ? { ...verdict, transport: 'tcp' } : verdict)
          return
        }
        params.onIgnored?.(verdict.reason, message.length)
        if (++ignored >= params.maxIgnoredMessages) {
          finish({ kind: 'malformed', reason: `${ignored} TCP messages in a row did not answer our message` })
          return
        }
      }
    })
    socket.on('end', () => {
      if (pending.length === 0) finish({ kind: 'network', reason: 'server closed the TCP connection without a reply' })
      else if (pending.length < 2)
        finish({ kind: 'malformed', reason: 'server closed the TCP connection after 1 byte of the 2-byte length prefix' })
      else {
        finish({
          kind: 'malformed',
          reason: `server closed the TCP connection in the middle of a message (${pending.length - 2} of ${pending.readUInt16BE(0)} bytes received)`
        })
      }
    })
    socket.on('close', () => finish({ kind: 'network', reason: 'TCP connection closed' }))
    return () => socket.destroy()
  })
}

/** The verdicts that end a lookup's exchange: an answer, an error RCODE, or TC set. */
type QueryReply = Exclude<ReplyVerdict, { kind: 'ignore' } | { kind: 'malformed' }>

/** Reads a QUERY reply: it must repeat our question (./wire.ts); TC has no meaning over TCP. */
function queryReader(expected: ExpectedReply): MessageParams<QueryReply>['read'] {
  return (message, transport) => {
    const verdict = inspectReply(message, expected)
    switch (verdict.kind) {
      case 'ignore':
        return verdict
      case 'malformed':
        return { kind: 'malformed', reason: verdict.reason }
      case 'truncated':
        // over TCP there is nothing larger to fall back to: the reply is unusable
        return transport === 'tcp'
          ? { kind: 'malformed', reason: 'TCP reply has the TC (truncated) flag set' }
          : { kind: 'reply', reply: verdict }
      default:
        return { kind: 'reply', reply: verdict }
    }
  }
}

function queryOutcome(outcome: MessageOutcome<QueryReply>): ExchangeOutcome {
  return outcome.kind === 'reply' ? outcome.reply : outcome
}

export async function exchangeUdp(params: ExchangeParams): Promise<ExchangeOutcome> {
  return queryOutcome(await sendOverUdp({ ...params, message: params.query, read: queryReader(params.expected) }))
}

export async function exchangeTcp(params: TcpExchangeParams): Promise<ExchangeOutcome> {
  return queryOutcome(await sendOverTcp({ ...params, message: params.query, read: queryReader(params.expected) }))
}
