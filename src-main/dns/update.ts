/**
 * RFC 2136 dynamic update messages for `_vlmcs._tcp` SRV records, and reading the server's answer.
 *
 * An UPDATE has the layout of a query with other meanings (§2): the question section names the zone (type SOA),
 * the answer section holds prerequisites (none here), the authority section the updates. Each record is encoded
 * by dns-packet's record codec; the message is assembled here because deleting one record needs class NONE
 * (254, §2.5.4), which dns-packet's class table lacks — the class field of those records is patched after
 * encoding. Names are not compressed (the messages are a few hundred bytes).
 */
import { Buffer } from 'node:buffer'
import * as dnsPacket from 'dns-packet'
import { readTsigRecord, TYPE_TSIG, type TsigRecord } from './tsig'
import { HEADER_BYTES } from './wire'

export const OPCODE_UPDATE = 5
const CLASS_NONE = 254

export interface SrvData {
  readonly priority: number
  readonly weight: number
  readonly port: number
  readonly target: string
}

export interface SrvUpdate {
  /** Message ID. */
  readonly id: number
  /** The zone the records are in (the UPDATE's zone section). */
  readonly zone: string
  /** Owner of the records, e.g. `_vlmcs._tcp.corp.example`. */
  readonly name: string
  /** Single records to remove (§2.5.4: class NONE, TTL 0, exact data). */
  readonly remove: readonly SrvData[]
  /** Records to add (§2.5.1), with this TTL. */
  readonly add: readonly SrvData[]
  readonly ttl: number
}

// dns-packet's record codecs are exported at runtime but missing from @types/dns-packet (see wire.ts).
const codecs = dnsPacket as unknown as {
  readonly question: { encode(q: dnsPacket.Question, buf: Buffer, offset: number): unknown; encodingLength(q: dnsPacket.Question): number }
  readonly answer: { encode(a: dnsPacket.Answer): Buffer }
}

function encodeSrv(name: string, data: SrvData, ttl: number, remove: boolean): Buffer {
  const record = codecs.answer.encode({ type: 'SRV', name, class: 'IN', ttl: remove ? 0 : ttl, data: { ...data } })
  if (remove) {
    // CLASS sits right after the owner name and TYPE; the name is uncompressed, so its length is known.
    const nameBytes = (dnsPacket as unknown as { name: { encodingLength(n: string): number } }).name.encodingLength(name)
    record.writeUInt16BE(CLASS_NONE, nameBytes + 2)
  }
  return record
}

/** The zone section: one "question" naming the zone, type SOA (§2.3). */
function zoneSection(zone: string): Buffer {
  const question: dnsPacket.Question = { type: 'SOA', name: zone, class: 'IN' }
  const buf = Buffer.alloc(codecs.question.encodingLength(question))
  // question.encode returns its input, not the buffer, so it writes into one we give it
  codecs.question.encode(question, buf, 0)
  return buf
}

/** The UPDATE message (unsigned; sign it with tsig.ts). */
export function encodeSrvUpdate(update: SrvUpdate): Buffer {
  const header = Buffer.alloc(HEADER_BYTES)
  header.writeUInt16BE(update.id, 0)
  header.writeUInt16BE(OPCODE_UPDATE << 11, 2)
  header.writeUInt16BE(1, 4) // ZOCOUNT
  header.writeUInt16BE(0, 6) // PRCOUNT
  header.writeUInt16BE(update.remove.length + update.add.length, 8) // UPCOUNT
  header.writeUInt16BE(0, 10) // ADCOUNT
  return Buffer.concat([
    header,
    zoneSection(update.zone),
    ...update.remove.map((r) => encodeSrv(update.name, r, 0, true)),
    ...update.add.map((r) => encodeSrv(update.name, r, update.ttl, false))
  ])
}

export type UpdateReply =
  | { readonly kind: 'ignore'; readonly reason: string }
  | {
      readonly kind: 'reply'
      readonly rcode: number
      readonly truncated: boolean
      /** The TSIG record that ends the reply, a reason it could not be read, or undefined when there is none. */
      readonly tsig: TsigRecord | string | undefined
    }

/** Offset after the name at `pos` (compressed or not), or -1 when it runs past the message. */
function skipName(buf: Buffer, pos: number): number {
  for (let labels = 0; labels < 128; labels++) {
    if (pos >= buf.length) return -1
    const len = buf[pos]!
    if (len === 0) return pos + 1
    if ((len & 0xc0) === 0xc0) return pos + 2 <= buf.length ? pos + 2 : -1
    if ((len & 0xc0) !== 0) return -1
    pos += 1 + len
  }
  return -1
}

/** Decides whether `buf` answers our message `id` with `opcode`, and reads its RCODE and TSIG record. Never throws. */
export function inspectReplyHeader(buf: Buffer, id: number, opcode: number = OPCODE_UPDATE): UpdateReply {
  if (buf.length < HEADER_BYTES) return { kind: 'ignore', reason: `${buf.length} bytes is shorter than a DNS header` }
  if (buf.readUInt16BE(0) !== id) return { kind: 'ignore', reason: 'message ID does not match ours' }
  const flags = buf.readUInt16BE(2)
  if ((flags & 0x8000) === 0) return { kind: 'ignore', reason: 'not a response' }
  if (((flags >> 11) & 0xf) !== opcode) return { kind: 'ignore', reason: `opcode ${(flags >> 11) & 0xf} is not ours` }
  const rcode = flags & 0xf
  const truncated = (flags & 0x0200) !== 0
  const counts = [buf.readUInt16BE(4), buf.readUInt16BE(6), buf.readUInt16BE(8), buf.readUInt16BE(10)] as const
  if (counts[3] === 0) return { kind: 'reply', rcode, truncated, tsig: undefined }
  // Walk to the last additional record: the only place a TSIG record may be (RFC 8945 §5.1).
  let pos = HEADER_BYTES
  for (let q = 0; q < counts[0]; q++) {
    pos = skipName(buf, pos)
    if (pos < 0 || pos + 4 > buf.length) return { kind: 'reply', rcode, truncated, tsig: 'the reply is cut off in its zone section' }
    pos += 4
  }
  const records = counts[1] + counts[2] + counts[3]
  for (let r = 0; r < records - 1; r++) {
    pos = skipName(buf, pos)
    if (pos < 0 || pos + 10 > buf.length) return { kind: 'reply', rcode, truncated, tsig: 'the reply is cut off in its records' }
    pos += 10 + buf.readUInt16BE(pos + 8)
    if (pos > buf.length) return { kind: 'reply', rcode, truncated, tsig: 'a record of the reply runs past its end' }
  }
  const typeAt = skipName(buf, pos)
  if (typeAt < 0 || typeAt + 2 > buf.length) return { kind: 'reply', rcode, truncated, tsig: 'the last record of the reply is cut off' }
  if (buf.readUInt16BE(typeAt) !== TYPE_TSIG) return { kind: 'reply', rcode, truncated, tsig: undefined }
  return { kind: 'reply', rcode, truncated, tsig: readTsigRecord(buf, pos) }
}
