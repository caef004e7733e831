/**
 * Bounds-checked little-endian byte reading and writing.
 *
 * `ByteReader` checks every read against the end of its view *before* touching the bytes, so a decoder built on
 * it can only fail with a `ProtocolDecodeError` that names the field and offset — never with a RangeError, and
 * never by reading past the buffer it was given. Lengths taken from the wire must be checked with
 * `reader.need()`/`reader.bytes()` (which compare them with what is actually there) before anything is sized
 * from them.
 */
import { Buffer } from 'node:buffer'
import { ProtocolDecodeError, ProtocolEncodeError } from './errors'

/**
 * Zero-filled bytes of length `n`. Taken from Node's Buffer pool: on Node 20 allocating a Uint8Array of more
 * than 64 bytes costs ~1.4 µs (a separate backing store) against ~0.3 µs for a pooled Buffer, and a KMS exchange
 * allocates a dozen such buffers. The result shares its ArrayBuffer with other pooled buffers, so code that
 * wraps `.buffer` must always pass `byteOffset`/`byteLength`.
 */
function allocBytes(n: number): Uint8Array {
  return Buffer.allocUnsafe(n).fill(0)
}

/** Like allocBytes but not zero-filled: only for buffers the caller overwrites completely. */
export function allocBytesUnsafe(n: number): Uint8Array {
  return Buffer.allocUnsafe(n)
}

/**
 * Reads with byte arithmetic (readU16LE & co.) rather than a DataView: creating the DataView was a measurable
 * share of decoding the small PDUs of a KMS exchange, and the reads are just as fast.
 */
export class ByteReader {
  private pos = 0

  /** @param base offset of `bytes[0]` within the outer buffer, added to offsets in error messages. */
  constructor(
    private readonly buf: Uint8Array,
    private readonly base = 0
  ) {}

  get offset(): number {
    return this.pos
  }

  get remaining(): number {
    return this.buf.byteLength - this.pos
  }

  get length(): number {
    return this.buf.byteLength
  }

  /** Throws unless `n` more bytes are available. `n` may come from the wire: it is only compared. */
  need(n: number, field: string): void {
    if (!Number.isSafeInteger(n) || n < 0) throw this.error(field, `invalid length ${String(n)}`)
    if (n > this.remaining) {
      throw this.error(field, `needs ${n} byte(s) but only ${this.remaining} remain (buffer is ${this.length} bytes)`)
    }
  }

  error(field: string, detail: string, at = this.pos): ProtocolDecodeError {
    return new ProtocolDecodeError(field, this.base + at, detail)
  }

  u8(field: string): number {
    this.need(1, field)
    return this.buf[this.pos++]!
  }

  u16(field: string): number {
    this.need(2, field)
    const v = readU16LE(this.buf, this.pos)
    this.pos += 2
    return v
  }

  u32(field: string): number {
    this.need(4, field)
    const v = readU32LE(this.buf, this.pos)
    this.pos += 4
    return v
  }

  u64(field: string): bigint {
    this.need(8, field)
    const v = readU64LE(this.buf, this.pos)
    this.pos += 8
    return v
  }

  /** A view (not a copy) of the next `n` bytes. */
  bytes(n: number, field: string): Uint8Array {
    this.need(n, field)
    const out = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }

  /** A view of everything that is left. */
  rest(): Uint8Array {
    const out = this.buf.subarray(this.pos)
    this.pos = this.buf.byteLength
    return out
  }

  skip(n: number, field: string): void {
    this.need(n, field)
    this.pos += n
  }

  /** Throws if bytes are left over. */
  end(field: string): void {
    if (this.remaining !== 0) throw this.error(field, `${this.remaining} unexpected trailing byte(s)`)
  }
}

/**
 * Little-endian writer into a buffer of a size known in advance (computed from values we control). Writes with
 * byte arithmetic rather than a DataView, for the same reason as ByteReader.
 */
export class ByteWriter {
  readonly buffer: Uint8Array
  private pos = 0

  constructor(size: number) {
    this.buffer = allocBytes(size)
  }

  get offset(): number {
    return this.pos
  }

  /**
   * Throws unless `n` more bytes fit: a wrong size computation must fail where it happens, as the DataView this
   * class used to write with did (a RangeError, like `bytes()` past the end).
   */
  private room(n: number, field: string): void {
    if (this.pos + n > this.buffer.byteLength) {
      throw new RangeError(`${field}: ${n} byte(s) at offset ${this.pos} do not fit the ${this.buffer.byteLength}-byte buffer`)
    }
  }

  u8(v: number, field: string): this {
    checkUint(v, 0xff, field)
    this.room(1, field)
    this.buffer[this.pos] = v
    this.pos += 1
    return this
  }

  u16(v: number, field: string): this {
    checkUint(v, 0xffff, field)
    this.room(2, field)
    writeU32Bytes(this.buffer, this.pos, v, 2)
    this.pos += 2
    return this
  }

  u32(v: number, field: string): this {
    checkUint(v, 0xffffffff, field)
    this.room(4, field)
    writeU32Bytes(this.buffer, this.pos, v, 4)
    this.pos += 4
    return this
  }

  u64(v: bigint, field: string): this {
    if (v < 0n || v > 0xffffffffffffffffn) throw new ProtocolEncodeError(field, `${v} is not a u64`)
    this.room(8, field)
    writeU32Bytes(this.buffer, this.pos, Number(v & 0xffffffffn), 4)
    writeU32Bytes(this.buffer, this.pos + 4, Number(v >> 32n), 4)
    this.pos += 8
    return this
  }

  bytes(b: Uint8Array): this {
    this.buffer.set(b, this.pos)
    this.pos += b.byteLength
    return this
  }

  zeros(n: number): this {
    this.pos += n
    return this
  }

  /** UTF-16LE code units of `s`, written in place (see utf16leEncode). */
  utf16le(s: string, field: string): this {
    this.room(2 * s.length, field)
    const out = this.buffer
    let o = this.pos
    for (let i = 0; i < s.length; i++, o += 2) {
      const c = s.charCodeAt(i)
      out[o] = c & 0xff
      out[o + 1] = c >> 8
    }
    this.pos = o
    return this
  }

  /** Advances past `n` bytes that the caller writes itself into `buffer`; returns where they start. */
  reserve(n: number, field: string): number {
    this.room(n, field)
    const at = this.pos
    this.pos += n
    return at
  }

  /** Returns the buffer after checking that exactly its size was written. */
  done(): Uint8Array {
    if (this.pos !== this.buffer.byteLength) {
      throw new ProtocolEncodeError('buffer', `wrote ${this.pos} of ${this.buffer.byteLength} bytes`)
    }
    return this.buffer
  }
}

/** The low `n` (2 or 4) bytes of the unsigned value `v`, little-endian. */
function writeU32Bytes(b: Uint8Array, off: number, v: number, n: 2 | 4): void {
  b[off] = v & 0xff
  b[off + 1] = (v >>> 8) & 0xff
  if (n === 4) {
    b[off + 2] = (v >>> 16) & 0xff
    b[off + 3] = v >>> 24
  }
}

function checkUint(v: number, max: number, field: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new ProtocolEncodeError(field, `${v} is out of range 0..${max}`)
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let total = 0
  for (const p of parts) total += p.byteLength
  const out = allocBytesUnsafe(total)
  let off = 0
  for (const p of parts) {
    out.set(p, off)
    off += p.byteLength
  }
  return out
}

/**
 * A copy of `b` in its own small Uint8Array. (`Buffer#slice` returns a view, not a copy, so `.slice()` must not
 * be relied on for values that outlive the input buffer.)
 */
export function copyBytes(b: Uint8Array): Uint8Array {
  return Uint8Array.prototype.slice.call(b)
}

/** copyBytes(b.subarray(start, end)) without the intermediate view. */
export function copyRange(b: Uint8Array, start: number, end: number): Uint8Array {
  return Uint8Array.prototype.slice.call(b, start, end)
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

export function xorBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.min(a.byteLength, b.byteLength))
  for (let i = 0; i < out.byteLength; i++) out[i] = (a[i] ?? 0) ^ (b[i] ?? 0)
  return out
}

const BYTE_HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

export function toHex(b: Uint8Array): string {
  let s = ''
  for (let i = 0; i < b.byteLength; i++) s += BYTE_HEX[b[i] ?? 0]!
  return s
}

/** Parses hex text; whitespace is ignored. Returns undefined for anything that is not whole hex bytes. */
export function fromHex(text: string): Uint8Array | undefined {
  const clean = text.replace(/\s+/g, '')
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) return undefined
  const out = new Uint8Array(clean.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16)
  return out
}

/** Little-endian u16 at `off`; the caller has checked that the bytes exist. */
export function readU16LE(b: Uint8Array, off: number): number {
  return b[off]! | (b[off + 1]! << 8)
}

/** Little-endian u32 at `off`; the caller has checked that the bytes exist. */
export function readU32LE(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0
}

/** Little-endian u64 at `off` as a bigint; the caller has checked that the bytes exist. */
export function readU64LE(b: Uint8Array, off: number): bigint {
  return (BigInt(readU32LE(b, off + 4)) << 32n) | BigInt(readU32LE(b, off))
}

/** UTF-16LE encoding of a JS string (code units as they are, like Windows WCHAR strings). */
export function utf16leEncode(s: string): Uint8Array {
  const out = allocBytesUnsafe(s.length * 2)
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    out[i * 2] = c & 0xff
    out[i * 2 + 1] = c >> 8
  }
  return out
}

/**
 * Decodes UTF-16LE code units (a trailing odd byte is ignored). Lossless for any code unit, lone surrogates
 * included — Node's 'utf16le' decoding copies code units, unlike TextDecoder, which replaces them.
 */
export function utf16leDecode(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength & ~1).toString('utf16le')
}

/** Code units per String.fromCharCode call: well below any engine's argument limit. */
const FROM_CHAR_CODE_CHUNK = 1024

/**
 * utf16leDecode of bytes[start..end) (end - start even) without making a view first: the code units go straight
 * to String.fromCharCode, which keeps lone surrogates too and, for the short strings of the protocol (≤ 64
 * characters), costs about half of a Buffer view plus toString('utf16le').
 */
export function utf16leDecodeRange(bytes: Uint8Array, start: number, end: number): string {
  const n = (end - start) >> 1
  let s = ''
  for (let at = 0; at < n; at += FROM_CHAR_CODE_CHUNK) {
    const m = Math.min(FROM_CHAR_CODE_CHUNK, n - at)
    const units = new Array<number>(m)
    for (let i = 0; i < m; i++) {
      const o = start + 2 * (at + i)
      units[i] = bytes[o]! | (bytes[o + 1]! << 8)
    }
    s += String.fromCharCode(...units)
  }
  return s
}
