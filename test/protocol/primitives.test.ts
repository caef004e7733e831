import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { ByteReader, ByteWriter, fromHex, toHex, utf16leDecode, utf16leEncode } from '../../src-main/protocol/bytes'
import { ProtocolDecodeError, ProtocolEncodeError } from '../../src-main/protocol/errors'
import { dateToFileTime, fileTimeToDate, formatFileTimeUtc } from '../../src-main/protocol/filetime'
import { guidFromBytes, guidToBytes, normalizeGuid } from '../../src-main/protocol/guid'
import { randomBelow } from '../../src-main/protocol/random'

describe('ByteReader', () => {
  it('reads little-endian values and reports field and offset when data runs out', () => {
    const r = new ByteReader(fromHex('01 0203 04050607 08090a0b0c0d0e0f ff')!, 100)
    expect(r.u8('a')).toBe(1)
    expect(r.u16('b')).toBe(0x0302)
    expect(r.u32('c')).toBe(0x07060504)
    expect(r.u64('d')).toBe(0x0f0e0d0c0b0a0908n)
    try {
      r.u16('e')
      expect.unreachable()
    } catch (err) {
      expect(err).toBeInstanceOf(ProtocolDecodeError)
      const e = err as ProtocolDecodeError
      expect([e.field, e.offset]).toEqual(['e', 115])
      expect(e.message).toBe('e at offset 115: needs 2 byte(s) but only 1 remain (buffer is 16 bytes)')
    }
    expect(() => new ByteReader(new Uint8Array(4)).bytes(0xffffffff, 'len')).toThrow(ProtocolDecodeError)
    expect(() => new ByteReader(new Uint8Array(4)).bytes(-1, 'len')).toThrow(/invalid length/)
  })

  it('only sees its own view of a larger buffer', () => {
    const big = new Uint8Array(32).fill(0xee)
    big.set([1, 2, 3, 4], 8)
    const r = new ByteReader(big.subarray(8, 12))
    expect(r.u32('x')).toBe(0x04030201)
    expect(() => r.u8('y')).toThrow(ProtocolDecodeError)
  })

  it('ByteWriter refuses out-of-range values and short writes', () => {
    expect(() => new ByteWriter(2).u16(0x10000, 'f')).toThrow(ProtocolEncodeError)
    expect(() => new ByteWriter(1).u8(-1, 'f')).toThrow(ProtocolEncodeError)
    expect(() => new ByteWriter(8).u64(-1n, 'f')).toThrow(ProtocolEncodeError)
    expect(() => new ByteWriter(4).u16(1, 'f').done()).toThrow(ProtocolEncodeError)
  })

  it('hex and UTF-16LE helpers round trip', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        expect(toHex(fromHex(toHex(b))!)).toBe(toHex(b))
      }),
      { seed: 301, numRuns: 200 }
    )
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        expect(utf16leDecode(utf16leEncode(s))).toBe(s)
      }),
      { seed: 302, numRuns: 200 }
    )
    expect(fromHex('abc')).toBeUndefined()
    expect(fromHex('zz')).toBeUndefined()
  })
})

describe('GUIDs (Windows mixed-endian)', () => {
  it('the docs/protocol.md §0 example', () => {
    expect(toHex(guidToBytes('55c92734-d682-4d71-983e-d6ec3f16059f'))).toBe('3427c95582d6714d983ed6ec3f16059f')
    expect(guidFromBytes(fromHex('3427c95582d6714d983ed6ec3f16059f')!)).toBe('55c92734-d682-4d71-983e-d6ec3f16059f')
    expect(toHex(guidToBytes('51c82175-844e-4750-b0d8-ec255555bc06'))).toBe('7521c8514e845047b0d8ec255555bc06')
  })

  it('bytes → text → bytes is lossless', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
        expect(toHex(guidToBytes(guidFromBytes(b)))).toBe(toHex(b))
      }),
      { seed: 303, numRuns: 500 }
    )
  })

  it('normalizes case and braces and rejects non-GUIDs', () => {
    expect(normalizeGuid(' {55C92734-D682-4D71-983E-D6EC3F16059F} ')).toBe('55c92734-d682-4d71-983e-d6ec3f16059f')
    expect(normalizeGuid('55c92734-d682-4d71-983e-d6ec3f16059')).toBeUndefined()
    expect(() => guidToBytes('nope')).toThrow(ProtocolEncodeError)
  })
})

describe('FILETIME', () => {
  it('converts the captured ClientTime and prints it like vlmcs', () => {
    expect(formatFileTimeUtc(134400685670000000n)).toBe('2026-11-25 08:22:47')
    expect(dateToFileTime(new Date('2026-11-25T08:22:46Z'))).toBe(134400685660000000n)
    expect(fileTimeToDate(0n)?.toISOString()).toBe('1601-01-01T00:00:00.000Z')
    expect(formatFileTimeUtc(0xffffffffffffffffn)).toBe('FILETIME 18446744073709551615')
  })
})

describe('randomBelow', () => {
  it('stays in range for any random source output, including constant ones', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0x100000000 }), fc.uint8Array({ minLength: 6, maxLength: 6 }), (n, b) => {
        const v = randomBelow(() => b, n)
        expect(v >= 0 && v < n && Number.isInteger(v)).toBe(true)
      }),
      { seed: 304, numRuns: 500 }
    )
    expect(() => randomBelow(() => new Uint8Array(2), 10)).toThrow(TypeError)
  })
})
