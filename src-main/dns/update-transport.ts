/**
 * Sending one message (a dynamic update, or the SOA query that finds its zone) to one DNS server and waiting
 * for the answer with the same ID and opcode: UDP first, TCP when the answer is truncated or the message is too
 * big for a datagram (RFC 2136 §3.8 allows either). Every wait is bounded by `timeoutMs`; the result is a value,
 * never a rejection. The query transport of ./exchange.ts is not reused because it accepts only QUERY answers
 * that repeat the question, and an update's answer is neither.
 */
import { Buffer } from 'node:buffer'
import { createSocket } from 'node:dgram'
import { connect as tcpConnect } from 'node:net'
import { describeSocketError } from './exchange'
import type { DnsServer } from './server-spec'
import { frameTcpMessage } from './wire'
import { inspectReplyHeader, type UpdateReply } from './update'

export type MessageOutcome =
  | {
      readonly kind: 'reply'
      readonly bytes: Buffer
      readonly reply: Extract<UpdateReply, { kind: 'reply' }>
      readonly transport: 'udp' | 'tcp'
    }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'network'; readonly reason: string }

export interface MessageExchange {
  readonly server: DnsServer
  readonly message: Buffer
  readonly id: number
  readonly opcode: number
  readonly timeoutMs: number
}

/** A classic DNS datagram; anything larger goes over TCP at once. */
const MAX_UDP_MESSAGE = 512
/** The TCP length prefix is 16 bits. */
const MAX_TCP_MESSAGE = 65_535

function overUdp(x: MessageExchange): Promise<MessageOutcome> {
  return new Promise((resolve) => {
    const socket = createSocket(x.server.family === 6 ? 'udp6' : 'udp4')
    let done = false
    const finish = (outcome: MessageOutcome): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.close()
      resolve(outcome)
    }
    const timer = setTimeout(() => finish({ kind: 'timeout' }), x.timeoutMs)
    socket.on('error', (error) => finish({ kind: 'network', reason: describeSocketError(error) }))
    socket.on('message', (bytes) => {
      const reply = inspectReplyHeader(bytes, x.id, x.opcode)
      if (reply.kind === 'reply') finish({ kind: 'reply', bytes, reply, transport: 'udp' })
    })
    // connected: the kernel drops datagrams from anyone else, and ICMP "port unreachable" arrives as an error
    socket.connect(x.server.port, x.server.host, () => {
      if (!done) socket.send(x.message, (error) => error && finish({ kind: 'network', reason: describeSocketError(error) }))
    })
  })
}

function overTcp(x: MessageExchange): Promise<MessageOutcome> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: x.server.host, port: x.server.port, family: x.server.family })
    let pending = Buffer.alloc(0)
    let done = false
    const finish = (outcome: MessageOutcome): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      resolve(outcome)
    }
    const timer = setTimeout(() => finish({ kind: 'timeout' }), x.timeoutMs)
    socket.on('connect', () => socket.write(frameTcpMessage(x.message)))
    socket.on('error', (error) => finish({ kind: 'network', reason: describeSocketError(error) }))
    socket.on('close', () => finish({ kind: 'network', reason: 'the server closed the TCP connection without an answer' }))
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk])
      while (pending.length >= 2) {
        const length = pending.readUInt16BE(0)
        if (pending.length < 2 + length) return // the timer bounds the wait; the prefix bounds the size (64 KiB)
        const bytes = Buffer.from(pending.subarray(2, 2 + length))
        pending = pending.subarray(2 + length)
        const reply = inspectReplyHeader(bytes, x.id, x.opcode)
        if (reply.kind === 'reply') {
          finish({ kind: 'reply', bytes, reply, transport: 'tcp' })
          return
        }
      }
    })
  })
}

/** One exchange: UDP (retried once after a timeout), TCP when truncated or too large for UDP. */
export async function exchangeMessage(x: MessageExchange): Promise<MessageOutcome> {
  if (x.message.length > MAX_TCP_MESSAGE) return { kind: 'network', reason: `a ${x.message.length}-byte message is too large for DNS` }
  if (x.message.length > MAX_UDP_MESSAGE) return overTcp(x)
  let outcome = await overUdp(x)
  if (outcome.kind === 'timeout') outcome = await overUdp(x)
  if (outcome.kind === 'reply' && outcome.reply.truncated) return overTcp(x)
  return outcome
}
