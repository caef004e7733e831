/**
 * DNS messages on the wire: building our query and deciding what a received message is.
 *
 * Encoding uses dns-packet. Decoding is split in two:
 *  1. a bounded structural walk written here (`walkMessage`) that checks every length field against the
 *     buffer before anything is decoded, and
 *  2. dns-packet's per-type codecs, called only at offsets the walk has proven sound.
 *
 * Why the hand-written walk (an exception to "prefer the library"): dns-packet's `decode()` trusts the
 * message. Its A/AAAA decoders ignore RDLENGTH, its SRV decoder reads the target past RDLENGTH, and some
 * decoders advance by content instead of RDLENGTH — so one bad record shifts every record after it, and a
 * count of 65535 just runs into a generic RangeError. The walk gives each problem a precise reason, enforces
 * backward-only compression pointers (no loops; same rule dns-packet applies, so names it accepts also decode
 * there), and lets us skip records we do not use instead of decoding them.
 */
import { Buffer } from 'node:buffer'
import * as dnsPacket from 'dns-packet'
import { dnsNamesEqual } from './names'
import { updateRcodeName } from './update-rcodes'

export type DnsQueryType = 'A' | 'AAAA' | 'CNAME' | 'SRV'

const RRTYPE: Readonly<Record<DnsQueryType, number>> = { A: 1, CNAME: 5, AAAA: 28, SRV: 33 }
const CLASS_IN = 1
const OPT_TYPE = 41
export const HEADER_BYTES = 12
/** A name has at most 127 labels, so more pointer hops than that cannot be a real name. */
const MAX_POINTER_HOPS = 127

interface RecordBase {
  /** Owner name as received (without trailing dot; compare with `dnsNamesEqual`). */
  readonly name: string
  /** Seconds; values with the top bit set count as 0 (RFC 2181 §8). */
  readonly ttl: number
}
export type DnsRecord =
  | (RecordBase & { readonly type: 'A'; readonly address: string })
  | (RecordBase & { readonly type: 'AAAA'; readonly address: string })
  | (RecordBase & { readonly type: 'CNAME'; readonly target: string })
  | (RecordBase & {
      readonly type: 'SRV'
      readonly priority: number
      readonly weight: number
      readonly port: number
      readonly target: string
    })
  /** Any other type (or class) — framing checked, content not decoded because we do not use it. */
  | (RecordBase & { readonly type: 'OTHER'; readonly rrtype: number; readonly rrclass: number })

export interface DnsReplyMessage {
  readonly id: number
  readonly rcode: 'NOERROR' | 'NXDOMAIN'
  readonly authoritative: boolean
  readonly recursionAvailable: boolean
  readonly answers: readonly DnsRecord[]
  readonly authorities: readonly DnsRecord[]
  readonly additionals: readonly DnsRecord[]
  /** Records that were framed correctly but not usable (e.g. a label containing a dot), with the reason. */
  readonly skipped: readonly string[]
  readonly bytes: number
}

export interface ExpectedReply {
  readonly id: number
  readonly qname: string
  readonly qtype: DnsQueryType
}

/** What a received message is, relative to the query we sent. */
export type ReplyVerdict =
  /** Not a reply to our query (or unreadable before we could tell): keep waiting. */
  | { readonly kind: 'ignore'; readonly reason: string }
  /** Our reply, TC set: retry over TCP. Body not decoded (a truncated body may legitimately be cut). */
  | { readonly kind: 'truncated'; readonly rcode: string; readonly authoritative: boolean; readonly bytes: number }
  /** Our reply with an error RCODE (SERVFAIL, REFUSED, FORMERR, …). */
  | { readonly kind: 'rcode-failure'; readonly rcode: string; readonly authoritative: boolean; readonly bytes: number }
  /** Our reply (ID and question match) but its records cannot be decoded safely. */
  | { readonly kind: 'malformed'; readonly reason: string; readonly bytes: number }
  | { readonly kind: 'answer'; readonly message: DnsReplyMessage }

export interface QuerySpec {
  readonly id: number
  readonly qname: string
  readonly qtype: DnsQueryType
  /** Ask the server to recurse for us (true for the OS's resolvers, which is how we use them). */
  readonly recursionDesired?: boolean
  /** Advertise an EDNS(0) UDP payload size; leave undefined to send a classic query (512-byte UDP replies). */
  readonly ednsUdpPayloadSize?: number
}

export function encodeQuery(spec: QuerySpec): Buffer {
  const packet: dnsPacket.Packet = {
    type: 'query',
    id: spec.id,
    flags: spec.recursionDesired === false ? 0 : dnsPacket.RECURSION_DESIRED,
    questions: [{ type: spec.qtype, name: spec.qname, class: 'IN' }],
    additionals: []
  }
  if (spec.ednsUdpPayloadSize !== undefined) {
    packet.additionals = [
      {
        type: 'OPT',
        name: '.',
        udpPayloadSize: spec.ednsUdpPayloadSize,
        extendedRcode: 0,
        ednsVersion: 0,
        flags: 0,
        flag_do: false,
        options: []
      }
    ]
  }
  return dnsPacket.encode(packet)
}

/** Prefixes a message with its 2-byte length for DNS over TCP (RFC 1035 §4.2.2). */
export function frameTcpMessage(message: Buffer): Buffer {
  if (message.length > 0xffff) throw new RangeError(`DNS message of ${message.length} bytes cannot be framed for TCP`)
  const framed = Buffer.alloc(message.length + 2)
  framed.writeUInt16BE(message.length, 0)
  message.copy(framed, 2)
  return framed
}

// ---------------------------------------------------------------------------------------------------------
// Structural walk

interface NameScan {
  /** Offset just after the name's in-place bytes (after the terminating zero or the first pointer). */
  readonly end: number
  /** True when a label contains a '.' byte: its text form would be ambiguous, so we never use such names. */
  readonly dottedLabel: boolean
}

/**
 * Checks one (possibly compressed) name starting at `start`. Its in-place bytes must end by `limit`; pointers
 * may only go backwards from the start of the segment they are in, which makes loops impossible.
 */
function scanName(buf: Buffer, start: number, limit: number): NameScan | string {
  let pos = start
  let segmentStart = start
  let end = -1
  let wireLength = 1 // the root label
  let hops = 0
  let dottedLabel = false
  for (;;) {
    const bound = end < 0 ? limit : buf.length
    if (pos >= bound) return `name at offset ${start} runs past the end of ${end < 0 && limit < buf.length ? 'its record' : 'the message'}`
    const len = buf[pos]!
    if (len === 0) {
      if (end < 0) end = pos + 1
      return { end, dottedLabel }
    }
    const labelType = len & 0xc0
    if (labelType === 0xc0) {
      if (pos + 2 > bound) return `compression pointer at offset ${pos} is cut off`
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!
      if (target >= segmentStart) {
        return `compression pointer at offset ${pos} points to offset ${target}, not to earlier data (a pointer loop)`
      }
      if (++hops > MAX_POINTER_HOPS) return `name at offset ${start} uses more than ${MAX_POINTER_HOPS} compression pointers`
      if (end < 0) end = pos + 2
      pos = target
      segmentStart = target
      continue
    }
    if (labelType !== 0) return `unsupported label type 0x${labelType.toString(16)} at offset ${pos}`
    if (pos + 1 + len > bound)
      return `label at offset ${pos} runs past the end of ${end < 0 && limit < buf.length ? 'its record' : 'the message'}`
    wireLength += len + 1
    if (wireLength > 255) return `name at offset ${start} is longer than 255 bytes`
    if (buf.subarray(pos + 1, pos + 1 + len).includes(0x2e)) dottedLabel = true
    pos += 1 + len
  }
}

interface RecordSlot {
  readonly nameOffset: number
  readonly nameDotted: boolean
  readonly rrtype: number
  readonly rrclass: number
  readonly ttl: number
  /** Offset of RDLENGTH (dns-packet's record codecs start there). */
  readonly rdlengthOffset: number
  readonly rdataStart: number
  readonly rdataEnd: number
  readonly targetDotted: boolean
}

type SectionName = 'answer' | 'authority' | 'additional'

function walkRecords(buf: Buffer, offset: number, count: number, section: SectionName, out: RecordSlot[]): number | string {
  for (let i = 0; i < count; i++) {
    const where = `${section} record ${i + 1} of ${count}`
    if (offset >= buf.length) return `${where}: the message ends at byte ${buf.length} (the header promised more records than it holds)`
    const name = scanName(buf, offset, buf.length)
    if (typeof name === 'string') return `${where}: ${name}`
    const fixed = name.end
    if (fixed + 10 > buf.length) return `${where}: type/class/TTL/length fields are cut off`
    const rrtype = buf.readUInt16BE(fixed)
    const rrclass = buf.readUInt16BE(fixed + 2)
    const rawTtl = buf.readUInt32BE(fixed + 4)
    const rdlength = buf.readUInt16BE(fixed + 8)
    const rdataStart = fixed + 10
    const rdataEnd = rdataStart + rdlength
    if (rdataEnd > buf.length) {
      return `${where}: RDLENGTH says ${rdlength} bytes but only ${buf.length - rdataStart} remain in the message`
    }
    let targetDotted = false
    if (rrclass === CLASS_IN || rrtype === OPT_TYPE) {
      if (rrtype === RRTYPE.A && rdlength !== 4) return `${where}: an A record must hold 4 bytes, it holds ${rdlength}`
      if (rrtype === RRTYPE.AAAA && rdlength !== 16) return `${where}: an AAAA record must hold 16 bytes, it holds ${rdlength}`
      if (rrtype === RRTYPE.SRV || rrtype === RRTYPE.CNAME) {
        const targetStart = rrtype === RRTYPE.SRV ? rdataStart + 6 : rdataStart
        if (targetStart >= rdataEnd) return `${where}: ${rrtype === RRTYPE.SRV ? 'SRV' : 'CNAME'} data is too short (${rdlength} bytes)`
        const target = scanName(buf, targetStart, rdataEnd)
        if (typeof target === 'string') return `${where}: target ${target}`
        if (target.end !== rdataEnd) return `${where}: ${rdataEnd - target.end} unexplained bytes after the target name`
        targetDotted = target.dottedLabel
      }
    }
    out.push({
      nameOffset: offset,
      nameDotted: name.dottedLabel,
      rrtype,
      rrclass,
      ttl: rawTtl > 0x7fffffff ? 0 : rawTtl,
      rdlengthOffset: fixed + 8,
      rdataStart,
      rdataEnd,
      targetDotted
    })
    offset = rdataEnd
  }
  return offset
}

// dns-packet's per-type codecs and its name codec are exported at runtime but missing from @types/dns-packet.
// This is the narrow view we use; each is called only on bytes the walk has already bounded.
interface Codec<T> {
  decode(buf: Buffer, offset: number): T
}
const runtime = dnsPacket as unknown as {
  readonly name: Codec<string>
  readonly a: Codec<string>
  readonly aaaa: Codec<string>
  readonly cname: Codec<string>
  readonly srv: Codec<{ priority: number; weight: number; port: number; target: string }>
}
// Copied out once: property reads through the ESM/CJS interop namespace are slow in a per-record loop.
const codecs = { name: runtime.name, a: runtime.a, aaaa: runtime.aaaa, cname: runtime.cname, srv: runtime.srv }

function decodeSlot(buf: Buffer, slot: RecordSlot): DnsRecord | string {
  const decodedName = codecs.name.decode(buf, slot.nameOffset)
  const name = decodedName === '.' ? '' : decodedName
  const ttl = slot.ttl
  const { rrtype, rrclass } = slot
  if (rrclass !== CLASS_IN) return { name, ttl, type: 'OTHER', rrtype, rrclass }
  const usable = rrtype === RRTYPE.A || rrtype === RRTYPE.AAAA || rrtype === RRTYPE.CNAME || rrtype === RRTYPE.SRV
  if (usable && (slot.nameDotted || slot.targetDotted)) {
    return `${name} type ${rrtype}: a label contains a "." byte, so the name is ambiguous; record not used`
  }
  switch (rrtype) {
    case RRTYPE.A:
      return { name, ttl, type: 'A', address: codecs.a.decode(buf, slot.rdlengthOffset) }
    case RRTYPE.AAAA:
      return { name, ttl, type: 'AAAA', address: codecs.aaaa.decode(buf, slot.rdlengthOffset) }
    case RRTYPE.CNAME:
      return { name, ttl, type: 'CNAME', target: codecs.cname.decode(buf, slot.rdlengthOffset) }
    case RRTYPE.SRV: {
      const srv = codecs.srv.decode(buf, slot.rdlengthOffset)
      return { name, ttl, type: 'SRV', priority: srv.priority, weight: srv.weight, port: srv.port, target: srv.target }
    }
    default:
      return { name, ttl, type: 'OTHER', rrtype, rrclass }
  }
}

/**
 * Decides what `buf` is with respect to the query described by `expected`. Never throws.
 *
 * Order of checks: header length, ID, QR, opcode, question (exactly one; name case-insensitive, type, class
 * IN) — anything failing these is ignored, because it cannot be shown to be our reply. Then TC, RCODE and
 * finally the record sections. One relaxation: an error RCODE reply with no question section but our ID is
 * accepted as that error (several servers omit the question in FORMERR/REFUSED replies); it can only make us
 * move on to the next server, never give us data.
 */
export function inspectReply(buf: Buffer, expected: ExpectedReply): ReplyVerdict {
  try {
    return inspect(buf, expected)
  } catch (error) {
    // The walk bounds every read, so this is a defect guard, not an expected path.
    return {
      kind: 'malformed',
      reason: `could not decode reply: ${error instanceof Error ? error.message : String(error)}`,
      bytes: buf.length
    }
  }
}

function inspect(buf: Buffer, expected: ExpectedReply): ReplyVerdict {
  if (buf.length < HEADER_BYTES) return { kind: 'ignore', reason: `${buf.length} bytes is shorter than a DNS header (12)` }
  const id = buf.readUInt16BE(0)
  if (id !== expected.id) return { kind: 'ignore', reason: `message ID ${id} does not match our query ID ${expected.id}` }
  const flags = buf.readUInt16BE(2)
  if ((flags & 0x8000) === 0) return { kind: 'ignore', reason: 'QR bit is 0: a query, not a response' }
  const opcode = (flags >> 11) & 0xf
  if (opcode !== 0) return { kind: 'ignore', reason: `opcode ${opcode} is not QUERY` }
  const truncated = (flags & 0x0200) !== 0
  const authoritative = (flags & 0x0400) !== 0
  const rcode = updateRcodeName(flags & 0xf)
  const qdcount = buf.readUInt16BE(4)
  const isErrorRcode = rcode !== 'NOERROR' && rcode !== 'NXDOMAIN'

  if (qdcount === 0 && isErrorRcode) return { kind: 'rcode-failure', rcode, authoritative, bytes: buf.length }
  if (qdcount !== 1) return { kind: 'ignore', reason: `reply has ${qdcount} questions, expected exactly 1` }
  const question = scanName(buf, HEADER_BYTES, buf.length)
  if (typeof question === 'string') return { kind: 'ignore', reason: `question section unreadable: ${question}` }
  if (question.end + 4 > buf.length) return { kind: 'ignore', reason: 'question section is cut off' }
  if (question.dottedLabel) return { kind: 'ignore', reason: 'question name has a label containing "."' }
  const qname = codecs.name.decode(buf, HEADER_BYTES)
  const qtype = buf.readUInt16BE(question.end)
  const qclass = buf.readUInt16BE(question.end + 2) & 0x7fff
  if (!dnsNamesEqual(qname, expected.qname) || qtype !== RRTYPE[expected.qtype] || qclass !== CLASS_IN) {
    return { kind: 'ignore', reason: `question is for ${qname} type ${qtype} class ${qclass}, not ${expected.qname} ${expected.qtype} IN` }
  }

  if (truncated) return { kind: 'truncated', rcode, authoritative, bytes: buf.length }
  if (isErrorRcode) return { kind: 'rcode-failure', rcode, authoritative, bytes: buf.length }

  const counts = [buf.readUInt16BE(6), buf.readUInt16BE(8), buf.readUInt16BE(10)] as const
  const sections: SectionName[] = ['answer', 'authority', 'additional']
  const slots: RecordSlot[][] = [[], [], []]
  let offset = question.end + 4
  for (let s = 0; s < 3; s++) {
    const next = walkRecords(buf, offset, counts[s]!, sections[s]!, slots[s]!)
    if (typeof next === 'string') return { kind: 'malformed', reason: next, bytes: buf.length }
    offset = next
  }

  const skipped: string[] = []
  const decoded = slots.map((list) => {
    const records: DnsRecord[] = []
    for (const slot of list) {
      const record = decodeSlot(buf, slot)
      if (typeof record === 'string') skipped.push(record)
      else records.push(record)
    }
    return records
  })
  return {
    kind: 'answer',
    message: {
      id,
      rcode: rcode as 'NOERROR' | 'NXDOMAIN',
      authoritative,
      recursionAvailable: (flags & 0x0080) !== 0,
      answers: decoded[0]!,
      authorities: decoded[1]!,
      additionals: decoded[2]!,
      skipped,
      bytes: buf.length
    }
  }
}
