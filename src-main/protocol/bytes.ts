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
export function allocBytes(n: number): Uint8Array {
  return Buffer.allocUnsafe(n).fill(0)
}

/** Like allocBytes but not zero-filled: only for buffers the caller overwrites completely. */
export function allocBytesUnsafe(n: number): Uint8Array {
  return Buffer.allocUnsafe(n)
}

export class ByteReader {
  private readonly view: DataView
  private pos = 0

  /** @param base offset of `bytes[0]` within the outer buffer, added to offsets in error messages. */
  constructor(
    private readonly buf: Uint8Array,
    private readonly base = 0
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  }

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
    return this.view.getUint8(this.pos++)
  }

  u16(field: string): number {
    this.need(2, field)
    const v = this.view.getUint16(this.pos, true)
    this.pos += 2
    return v
  }

  u32(field: string): number {
    this.need(4, field)
    const v = this.view.getUint32(this.pos, true)
    this.pos += 4
    return v
  }

  u64(field: string): bigint {
    this.need(8, field)
    const v = this.view.getBigUint64(this.pos, true)
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

/** Little-endian writer into a buffer of a size known in advance (computed from values we control). */
export class ByteWriter {
  readonly buffer: Uint8Array
  private readonly view: DataView
  private pos = 0

  constructor(size: number) {
    this.buffer = allocBytes(size)
    this.view = new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.byteLength)
  }

  get offset(): number {
    return this.pos
  }

  u8(v: number, field: string): this {
    checkUint(v, 0xff, field)
    this.view.setUint8(this.pos, v)
    this.pos += 1
    return this
  }

  u16(v: number, field: string): this {
    checkUint(v, 0xffff, field)
    this.view.setUint16(this.pos, v, true)
    this.pos += 2
    return this
  }

  u32(v: number, field: string): this {
    checkUint(v, 0xffffffff, field)
    this.view.setUint32(this.pos, v, true)
    this.pos += 4
    return this
  }

  u64(v: bigint, field: string): this {
    if (v < 0n || v > 0xffffffffffffffffn) throw new ProtocolEncodeError(field, `${v} is not a u64`)
    this.view.setBigUint64(this.pos, v, true)
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

  /** Returns the buffer after checking that exactly its size was written. */
  done(): Uint8Array {
    if (this.pos !== this.buffer.byteLength) {
      throw new ProtocolEncodeError('buffer', `wrote ${this.pos} of ${this.buffer.byteLength} bytes`)
    }
    return this.buffer
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
