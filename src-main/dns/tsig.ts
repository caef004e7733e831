/**
 * TSIG (RFC 8945): signing a DNS message with a shared secret, and checking the server's signed answer.
 *
 * Written here rather than taken from dns-packet: dns-packet has no TSIG record type and no way to compute the
 * MAC, which covers the message bytes *before* the TSIG record is added plus the "TSIG variables" in canonical
 * form (RFC 8945 §4.3.3). The HMAC itself is node:crypto's. The record is appended to the additional section by
 * hand (the last record of the message, as §5.1 requires) and ARCOUNT is incremented.
 */
import { Buffer } from 'node:buffer'
import { createHmac, timingSafeEqual } from 'node:crypto'

/** The HMAC algorithms of RFC 8945 §6 by their DNS names, with node:crypto's digest names. */
const ALGORITHMS = {
  'hmac-md5.sig-alg.reg.int': 'md5',
  'hmac-sha1': 'sha1',
  'hmac-sha224': 'sha224',
  'hmac-sha256': 'sha256',
  'hmac-sha384': 'sha384',
  'hmac-sha512': 'sha512'
} as const

export type TsigAlgorithm = keyof typeof ALGORITHMS

/** BIND's key files say `hmac-md5` where the DNS name is `hmac-md5.sig-alg.reg.int`. */
export function tsigAlgorithmFromName(name: string): TsigAlgorithm | undefined {
  const lower = name.trim().toLowerCase().replace(/\.$/, '')
  if (lower === 'hmac-md5') return 'hmac-md5.sig-alg.reg.int'
  return lower in ALGORITHMS ? (lower as TsigAlgorithm) : undefined
}

export const TSIG_ALGORITHM_NAMES: readonly string[] = ['hmac-md5', ...Object.keys(ALGORITHMS).slice(1)]

export interface TsigKey {
  /** The key's name as both sides know it (a DNS name). */
  readonly name: string
  readonly algorithm: TsigAlgorithm
  readonly secret: Buffer
}

export const TYPE_TSIG = 250
const CLASS_ANY = 255
/** RFC 8945 §10: 300 seconds of clock difference allowed. */
const TSIG_FUDGE_S = 300

/** A DNS name in canonical wire form (RFC 4034 §6.2: lower case, uncompressed), as TSIG's MAC input needs. */
function canonicalWireName(name: string): Buffer {
  const bare = name.replace(/\.$/, '').toLowerCase()
  const labels = bare === '' ? [] : bare.split('.')
  const parts: Buffer[] = []
  for (const label of labels) {
    const bytes = Buffer.from(label, 'ascii')
    if (bytes.length === 0 || bytes.length > 63) throw new RangeError(`"${name}" is not a DNS name a TSIG key can have`)
    parts.push(Buffer.from([bytes.length]), bytes)
  }
  parts.push(Buffer.from([0]))
  return Buffer.concat(parts)
}

function uint48(seconds: number): Buffer {
  const b = Buffer.alloc(6)
  b.writeUIntBE(seconds, 0, 6)
  return b
}

function uint16(value: number): Buffer {
  const b = Buffer.alloc(2)
  b.writeUInt16BE(value)
  return b
}

interface TsigVariables {
  readonly timeSigned: number
  readonly fudge: number
  readonly error: number
  readonly otherData: Buffer
}

/** RFC 8945 §4.3.3: key name, class, TTL, algorithm, time signed, fudge, error, other len, other data. */
function tsigVariables(key: TsigKey, v: TsigVariables): Buffer {
  return Buffer.concat([
    canonicalWireName(key.name),
    uint16(CLASS_ANY),
    Buffer.alloc(4), // TTL 0
    canonicalWireName(key.algorithm),
    uint48(v.timeSigned),
    uint16(v.fudge),
    uint16(v.error),
    uint16(v.otherData.length),
    v.otherData
  ])
}

function mac(key: TsigKey, parts: readonly Buffer[]): Buffer {
  const hmac = createHmac(ALGORITHMS[key.algorithm], key.secret)
  for (const part of parts) hmac.update(part)
  return hmac.digest()
}

export interface SignedMessage {
  readonly message: Buffer
  /** The request MAC: the server's signed answer covers it (§4.3.3), so the answer is checked against it. */
  readonly mac: Buffer
}

/** Appends a TSIG record to `message` (an unsigned DNS message with its final ID). */
export function signMessage(message: Buffer, key: TsigKey, timeSignedS: number): SignedMessage {
  if (message.length < 12) throw new RangeError('a DNS message has at least a 12-byte header')
  const variables = { timeSigned: timeSignedS, fudge: TSIG_FUDGE_S, error: 0, otherData: Buffer.alloc(0) }
  const digest = mac(key, [message, tsigVariables(key, variables)])
  const rdata = Buffer.concat([
    canonicalWireName(key.algorithm),
    uint48(variables.timeSigned),
    uint16(variables.fudge),
    uint16(digest.length),
    digest,
    message.subarray(0, 2), // original ID
    uint16(0), // error
    uint16(0) // other len
  ])
  const record = Buffer.concat([
    canonicalWireName(key.name),
    uint16(TYPE_TSIG),
    uint16(CLASS_ANY),
    Buffer.alloc(4),
    uint16(rdata.length),
    rdata
  ])
  const signed = Buffer.concat([message, record])
  signed.writeUInt16BE(message.readUInt16BE(10) + 1, 10)
  return { message: signed, mac: digest }
}

/** The TSIG record of a received message, as read by {@link readTsigRecord}. */
export interface TsigRecord {
  /** Offset of the record in the message: everything before it is what the MAC covers. */
  readonly offset: number
  readonly keyName: string
  readonly algorithm: string
  readonly timeSigned: number
  readonly fudge: number
  readonly mac: Buffer
  readonly originalId: number
  readonly error: number
  readonly otherData: Buffer
}

/** Reads a name written without compression (TSIG owner and algorithm names are, §4.2); undefined if it is not. */
function readPlainName(buf: Buffer, start: number, end: number): { name: string; next: number } | undefined {
  const labels: string[] = []
  let pos = start
  for (let hops = 0; hops < 128; hops++) {
    if (pos >= end) return undefined
    const len = buf[pos]!
    if (len === 0) return { name: labels.join('.'), next: pos + 1 }
    if (len > 63 || pos + 1 + len > end) return undefined
    labels.push(buf.toString('latin1', pos + 1, pos + 1 + len).toLowerCase())
    pos += 1 + len
  }
  return undefined
}

/**
 * Parses the TSIG record that starts at `offset` and must end the message. Returns a reason string when the bytes
 * are not a TSIG record (bounded reads only: every length is checked against the buffer).
 */
export function readTsigRecord(buf: Buffer, offset: number): TsigRecord | string {
  const owner = readPlainName(buf, offset, buf.length)
  if (!owner) return 'the TSIG record has an unreadable name'
  let pos = owner.next
  if (pos + 10 > buf.length) return 'the TSIG record is cut off'
  if (buf.readUInt16BE(pos) !== TYPE_TSIG) return 'the last record is not a TSIG record'
  const rdlength = buf.readUInt16BE(pos + 8)
  pos += 10
  const end = pos + rdlength
  if (end !== buf.length) return 'the TSIG record is not the end of the message'
  const algorithm = readPlainName(buf, pos, end)
  if (!algorithm) return 'the TSIG algorithm name is unreadable'
  pos = algorithm.next
  if (pos + 10 > end) return 'the TSIG record data is cut off'
  const timeSigned = buf.readUIntBE(pos, 6)
  const fudge = buf.readUInt16BE(pos + 6)
  const macSize = buf.readUInt16BE(pos + 8)
  pos += 10
  if (pos + macSize + 6 > end) return 'the TSIG MAC is cut off'
  const macBytes = buf.subarray(pos, pos + macSize)
  pos += macSize
  const originalId = buf.readUInt16BE(pos)
  const error = buf.readUInt16BE(pos + 2)
  const otherLen = buf.readUInt16BE(pos + 4)
  pos += 6
  if (pos + otherLen !== end) return 'the TSIG other-data length does not match the record'
  return {
    offset,
    keyName: owner.name,
    algorithm: algorithm.name,
    timeSigned,
    fudge,
    mac: Buffer.from(macBytes),
    originalId,
    error,
    otherData: Buffer.from(buf.subarray(pos, end))
  }
}

export type TsigVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string }

/**
 * Checks the server's signed answer (RFC 8945 §5.3): same key and algorithm, a MAC over the request MAC, the
 * answer without its TSIG record (original ID, ARCOUNT one less) and the TSIG variables, and a time within the
 * fudge of ours.
 */
export function verifyAnswer(answer: Buffer, record: TsigRecord, key: TsigKey, requestMac: Buffer, nowS: number): TsigVerdict {
  if (record.keyName !== key.name.replace(/\.$/, '').toLowerCase())
    return { ok: false, reason: `the answer is signed with key "${record.keyName}", not ours` }
  if (tsigAlgorithmFromName(record.algorithm) !== key.algorithm)
    return { ok: false, reason: `the answer is signed with ${record.algorithm}, not ${key.algorithm}` }
  if (record.mac.length === 0) return { ok: false, reason: 'the answer carries no signature' }
  const unsigned = Buffer.from(answer.subarray(0, record.offset))
  unsigned.writeUInt16BE(record.originalId, 0)
  unsigned.writeUInt16BE(unsigned.readUInt16BE(10) - 1, 10)
  const expected = mac(key, [
    uint16(requestMac.length),
    requestMac,
    unsigned,
    tsigVariables(key, { timeSigned: record.timeSigned, fudge: record.fudge, error: record.error, otherData: record.otherData })
  ])
  if (expected.length !== record.mac.length || !timingSafeEqual(expected, record.mac)) {
    return { ok: false, reason: 'the signature of the answer does not verify with our key' }
  }
  if (Math.abs(nowS - record.timeSigned) > record.fudge) {
    return { ok: false, reason: `the answer was signed at a time ${Math.abs(nowS - record.timeSigned)} s away from our clock` }
  }
  return { ok: true }
}
