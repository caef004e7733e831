/**
 * Windows GUIDs: canonical text ⇄ 16 wire bytes.
 *
 * On the wire a GUID is the Windows GUID struct: Data1 (u32 LE), Data2 (u16 LE), Data3 (u16 LE), then Data4's
 * 8 bytes as written ("mixed-endian"). `55c92734-d682-4d71-983e-d6ec3f16059f` travels as
 * `34 27 c9 55 82 d6 71 4d 98 3e d6 ec 3f 16 05 9f`. In this code base a GUID value is its canonical lower-case
 * text; that form is lossless (any 16 bytes format to one text and parse back to the same bytes).
 */
import { ProtocolEncodeError } from './errors'

export type Guid = string

export const NIL_GUID: Guid = '00000000-0000-0000-0000-000000000000'

const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
/** Wire byte position of each canonical hex byte pair (text order → wire order). */
const WIRE_INDEX = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15] as const

/** Canonical lower-case form of a GUID text, or undefined when it is not one (braces are accepted). */
export function normalizeGuid(text: string): Guid | undefined {
  const t = text.trim().replace(/^\{(.*)\}$/, '$1')
  return GUID_RE.test(t) ? t.toLowerCase() : undefined
}

/** Text position of the first hex digit of each canonical byte (dashes skipped). */
const TEXT_INDEX = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34] as const

/** Value of a hex digit's char code, or -1. */
function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  const l = c | 0x20
  return l >= 0x61 && l <= 0x66 ? l - 0x57 : -1
}

/** Writes the 16 wire bytes of `guid` into `out` at `offset`. */
export function writeGuid(guid: Guid, out: Uint8Array, offset: number): void {
  // Validated while converting (a regex per GUID showed up in host profiles).
  const ok =
    guid.length === 36 &&
    guid.charCodeAt(8) === 0x2d &&
    guid.charCodeAt(13) === 0x2d &&
    guid.charCodeAt(18) === 0x2d &&
    guid.charCodeAt(23) === 0x2d
  let bad = !ok
  for (let i = 0; i < 16 && !bad; i++) {
    const t = TEXT_INDEX[i]!
    const hi = hexDigit(guid.charCodeAt(t))
    const lo = hexDigit(guid.charCodeAt(t + 1))
    if (hi < 0 || hi > 15 || lo < 0 || lo > 15) bad = true
    else out[offset + WIRE_INDEX[i]!] = (hi << 4) | lo
  }
  if (bad) throw new ProtocolEncodeError('GUID', `"${guid}" is not a GUID`)
}

export function guidToBytes(guid: Guid): Uint8Array {
  const out = new Uint8Array(16)
  writeGuid(guid, out, 0)
  return out
}

const HEX_CODE = Array.from({ length: 16 }, (_, i) => i.toString(16).charCodeAt(0))
/**
 * Character codes of the GUID text being built, dashes pre-filled. The host formats a few GUIDs per request;
 * one String.fromCharCode over a reused array makes no intermediate strings (string concatenation made ~3 KB
 * of garbage per request, measurable in bench/protocol.ts). Safe because formatting is synchronous.
 */
const GUID_CODES: number[] = new Array<number>(36).fill(0x2d)

/** Formats 16 wire bytes at `offset` (the caller has checked they exist). */
export function guidFromBytes(bytes: Uint8Array, offset = 0): Guid {
  for (let i = 0; i < 16; i++) {
    const v = bytes[offset + WIRE_INDEX[i]!] ?? 0
    const t = TEXT_INDEX[i]!
    GUID_CODES[t] = HEX_CODE[v >> 4]!
    GUID_CODES[t + 1] = HEX_CODE[v & 15]!
  }
  return String.fromCharCode.apply(null, GUID_CODES)
}
