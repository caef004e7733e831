/**
 * Sending one message (a dynamic update, or the SOA query that finds its zone) to one DNS server and waiting
 * for the answer with the same ID and opcode: UDP first, TCP when the answer is truncated or the message is too
 * big for a datagram (RFC 2136 §3.8 allows either). The sockets are those of ./exchange.ts, with the same
 * bounds (timer, TCP size cap, cap on messages that are not ours); only the reading differs: an update's answer
 * need not repeat the question, so it is read by its header (./update.ts `inspectReplyHeader`).
 */
import { Buffer } from 'node:buffer'
import {
  MAX_IGNORED_TCP_MESSAGES,
  MAX_TCP_MESSAGE_BYTES,
  sendOverTcp,
  sendOverUdp,
  type MessageOutcome,
  type MessageParams
} from './exchange'
import type { DnsServer } from './server-spec'
import { inspectReplyHeader, type UpdateReply } from './update'

export interface UpdateAnswer {
  /** The whole answer, copied out of the socket's buffer: its TSIG signature is verified over these bytes. */
  readonly bytes: Buffer
  readonly header: Extract<UpdateReply, { kind: 'reply' }>
}

export type UpdateExchangeOutcome = MessageOutcome<UpdateAnswer>

export interface UpdateExchange {
  readonly server: DnsServer
  readonly message: Buffer
  readonly id: number
  readonly opcode: number
  readonly timeoutMs: number
}

/** A classic DNS datagram; anything larger goes over TCP at once. */
const MAX_UDP_MESSAGE = 512

/** One exchange: UDP (retried once after a timeout), TCP when truncated or too large for UDP. */
export async function exchangeUpdateMessage(x: UpdateExchange): Promise<UpdateExchangeOutcome> {
  if (x.message.length > MAX_TCP_MESSAGE_BYTES)
    return { kind: 'network', reason: `a ${x.message.length}-byte message is too large for DNS` }
  const params: MessageParams<UpdateAnswer> = {
    server: x.server,
    message: x.message,
    timeoutMs: x.timeoutMs,
    read: (bytes) => {
      const header = inspectReplyHeader(bytes, x.id, x.opcode)
      return header.kind === 'reply' ? { kind: 'reply', reply: { bytes: Buffer.from(bytes), header } } : header
    }
  }
  const overTcp = (): Promise<UpdateExchangeOutcome> =>
    sendOverTcp({ ...params, maxMessageBytes: MAX_TCP_MESSAGE_BYTES, maxIgnoredMessages: MAX_IGNORED_TCP_MESSAGES })
  if (x.message.length > MAX_UDP_MESSAGE) return overTcp()
  let outcome = await sendOverUdp(params)
  if (outcome.kind === 'timeout') outcome = await sendOverUdp(params)
  if (outcome.kind === 'reply' && outcome.reply.header.truncated) return overTcp()
  return outcome
}
