/**
 * Edges of the protocol primitives that the main tests do not pin down (found by mutation testing,
 * docs/testing.md): every field and length bound of the ePID syntax (docs/protocol.md §9.1) and how an ePID is
 * related to the product data and generated (§9.2), GUID text validation and case handling (§0), FILETIME at
 * the floor-division and Date-range boundaries, randomBelow's bound checks, the byte reader/writer's exact
 * errors, and the error classes' names.
 *
 * Expected values come from the docs and from independent arithmetic in the tests (day-of-year sums, the
 * 1601 → 1970 tick offset computed with Date.UTC, the JS Date limit of ±8.64e15 ms from ECMA-262), never from
 * the code's own output.
 */
import { describe, expect, it } from 'vitest'
import {
  bytesEqual,
  ByteReader,
  ByteWriter,
  fromHex,
  toHex,
  utf16leDecodeRange,
  utf16leEncode,
  xorBytes
} from '../../src-main/protocol/bytes'
import { explainEpid, formEpid, generateEpid, parseEpid, type EpidParts } from '../../src-main/protocol/epid'
import { ProtocolDecodeError, ProtocolEncodeError } from '../../src-main/protocol/errors'
import { dateToFileTime, fileTimeToDate, formatFileTimeUtc } from '../../src-main/protocol/filetime'
import { guidFromBytes, guidToBytes, normalizeGuid, writeGuid } from '../../src-main/protocol/guid'
import { ProductCatalog, type CsvlkGroup, type HostBuild } from '../../src-main/protocol/products'
import { randomBelow, takeRandom } from '../../src-main/protocol/random'

/** The captured ePID of docs/protocol.md §9.1. */
const CAPTURED = '03612-00206-567-887631-03-2074-14393.0000-0092024'

/** The captured ePID with its n-th dash-separated part replaced. */
function withPart(n: number, value: string): string {
  const parts = CAPTURED.split('-')
  parts[n] = value
  return parts.join('-')
}

function errorCode(epid: string): string | undefined {
  const p = parseEpid(epid)
  return p.ok ? undefined : p.error.code
}

function parts(over: Partial<EpidParts>): EpidParts {
  return {
    platformId: 3612,
    groupId: 206,
    keyId: 567887631,
    channel: 3,
    lcid: 2074,
    build: 14393,
    buildSuffix: '0000',
    activationDay: 9,
    activationYear: 2024,
    ...over
  }
}

describe('parseEpid: every field', () => {
  it('parses each field of an ePID different from the captured one', () => {
    // 55041 = Windows 7 / 2008 R2 platform, 3858 = Windows China Government group (docs/protocol.md §9.1)
    expect(parseEpid('55041-03858-015-000000-02-65535-7601.0001-0012000')).toEqual({
      ok: true,
      parts: {
        platformId: 55041,
        groupId: 3858,
        keyId: 15_000_000,
        channel: 2,
        lcid: 65535,
        build: 7601,
        buildSuffix: '0001',
        activationDay: 1,
        activationYear: 2000
      }
    })
  })

  it('accepts exactly 63 characters (PIDSize ≤ 128 = 2 × (63 + 1)) and refuses 64 as too long', () => {
    expect(errorCode('x'.repeat(63))).toBe('parts')
    expect(errorCode('x'.repeat(64))).toBe('too-long')
    const p = parseEpid('-'.repeat(64))
    expect(p.ok || p.error.message).toBe('the ePID has 64 characters; at most 63 fit')
  })

  it.each([
    [0, '036120', 'platform-id'],
    [0, 'x3612', 'platform-id'],
    [0, '3612x', 'platform-id'],
    [1, '002060', 'group-id'],
    [1, 'x0206', 'group-id'],
    [2, '5670', 'key-id'],
    [2, '56', 'key-id'],
    [2, 'x67', 'key-id'],
    [3, '8876310', 'key-id'],
    [3, '88763', 'key-id'],
    [3, 'x87631', 'key-id'],
    [4, '003', 'channel'],
    [4, 'x3', 'channel'],
    [5, '', 'lcid'],
    [5, '001033', 'lcid'],
    [5, '65536', 'lcid'],
    [5, 'x033', 'lcid'],
    [6, 'x14393.0000', 'build'],
    [6, '114393.0000', 'build'],
    [6, '143.0000', 'build'],
    [6, '14393.00001', 'build'],
    [6, '14393.0000x', 'build'],
    [7, '00092024', 'date'],
    [7, 'x092024', 'date']
  ])('part %i = "%s" → %s', (n, value, code) => {
    expect(errorCode(withPart(n, value))).toBe(code)
  })

  it('each half of the key id is checked on its own', () => {
    expect(parseEpid(withPart(2, '56a'))).toMatchObject({
      ok: false,
      error: { code: 'key-id', message: 'key id "56a-887631" is not 3 + 6 digits' }
    })
    expect(parseEpid(withPart(3, '88763a'))).toMatchObject({
      ok: false,
      error: { code: 'key-id', message: 'key id "567-88763a" is not 3 + 6 digits' }
    })
  })

  it('LCID 65535 is the largest (a u16 locale id); 5 digits with leading zeros are fine', () => {
    expect(parseEpid(withPart(5, '65535'))).toMatchObject({ ok: true, parts: { lcid: 65535 } })
    expect(parseEpid(withPart(5, '01033'))).toMatchObject({ ok: true, parts: { lcid: 1033 } })
    expect(parseEpid(withPart(5, '0'))).toMatchObject({ ok: true, parts: { lcid: 0 } })
  })

  it('builds have 4 or 5 digits before the dot', () => {
    expect(parseEpid(withPart(6, '9600.0000'))).toMatchObject({ ok: true, parts: { build: 9600 } })
    expect(parseEpid(withPart(6, '26100.0000'))).toMatchObject({ ok: true, parts: { build: 26100 } })
  })

  it('day 366 follows the Gregorian leap-year rule (÷4, except ÷100 unless ÷400)', () => {
    expect(parseEpid(withPart(7, '3662000'))).toMatchObject({ ok: true, parts: { activationDay: 366, activationYear: 2000 } })
    expect(parseEpid(withPart(7, '3662024')).ok).toBe(true)
    expect(parseEpid(withPart(7, '3662100'))).toEqual({
      ok: false,
      error: { code: 'date', message: 'day of year 366 is outside 1–365 for 2100' }
    })
    expect(errorCode(withPart(7, '3661900'))).toBe('date')
    expect(errorCode(withPart(7, '3662023'))).toBe('date')
    expect(parseEpid(withPart(7, '3652100'))).toMatchObject({ ok: true, parts: { activationDay: 365, activationYear: 2100 } })
    expect(errorCode(withPart(7, '3672000'))).toBe('date')
    expect(parseEpid(withPart(7, '0000000'))).toEqual({
      ok: false,
      error: { code: 'date', message: 'day of year 0 is outside 1–366 for 0' }
    })
  })
})

describe('explainEpid against the shipped catalog', () => {
  it('the Windows CSVLK group holds key ids 551000000–570999999 inclusive (docs/protocol.md §9.1)', () => {
    expect(explainEpid(parts({ keyId: 551_000_000 })).csvlk?.iniName).toBe('Windows')
    expect(explainEpid(parts({ keyId: 570_999_999 })).csvlk?.iniName).toBe('Windows')
    expect(explainEpid(parts({ keyId: 550_999_999 })).csvlk).toBeUndefined()
    expect(explainEpid(parts({ keyId: 571_000_000 })).csvlk).toBeUndefined()
  })

  it('names every host key whose range holds the key id (Office LTSC 2024 and Office 2019 VL share 666000000–685999999)', () => {
    // catalog.json lists both keys with group 206 and that range, LTSC 2024 first (each family newest first)
    const e = explainEpid(parts({ keyId: 666_000_000 }))
    expect(e.hostKeys.map((k) => k.name)).toEqual(['Office LTSC 2024', 'Office 2019 VL'])
    expect(e.groupName).toBe('Office LTSC 2024 / Office 2019 VL')
  })

  it('a build the data knows with another platform id does not match; channel 03 only is volume', () => {
    const e = explainEpid(parts({ platformId: 6401, channel: 2 }))
    expect(e.hostBuild?.buildNumber).toBe(14393)
    expect(e.platformMatchesBuild).toBe(false)
    expect(e.isVolumeChannel).toBe(false)
    expect(explainEpid(parts({})).isVolumeChannel).toBe(true)
  })

  it('groupKnown: a vlmcsd group, a group only host keys have, and a group nothing has', () => {
    expect(explainEpid(parts({})).groupKnown).toBe(true)
    // 4918: the Windows Server 2025 key's group in catalog.json, not one of vlmcsd's six CSVLK groups
    const ws2025 = explainEpid(parts({ groupId: 4918, keyId: 30_000 }))
    expect(ws2025).toMatchObject({
      csvlkCandidates: [],
      csvlk: undefined,
      groupKnown: true,
      keyIdInRange: true,
      groupName: 'Windows Server 2025'
    })
    expect(explainEpid(parts({ groupId: 4918, keyId: 29_999 }))).toMatchObject({ groupKnown: true, keyIdInRange: false })
    expect(explainEpid(parts({ groupId: 1 }))).toMatchObject({ groupKnown: false, keyIdInRange: false, groupName: 'unknown group 1' })
  })

  it('a key id in a host key range but outside every vlmcsd group range is still in range (Windows Server 2016)', () => {
    const e = explainEpid(parts({ keyId: 491_000_000 }))
    expect(e.csvlk).toBeUndefined()
    expect(e.hostKeys.map((k) => k.name)).toEqual(['Windows Server 2016'])
    expect(e.keyIdInRange).toBe(true)
  })
})

/** A HostBuild for a made-up catalog. */
function build(buildNumber: number, platformId: number, releaseDateUtc: string, useForEpid: boolean): HostBuild {
  return {
    index: 0,
    displayName: `build ${buildNumber}`,
    buildNumber,
    platformId,
    releaseDateUtc,
    flags: { useNdr64: false, useForEpid, mayBeServer: true }
  }
}

/** One vlmcsd-style group with a single key id, so a generated ePID depends only on the build and the date. */
const ONE_KEY_GROUP: CsvlkGroup = {
  index: 0,
  iniName: 'Windows',
  defaultEpid: '',
  releaseDateUtc: '2000-01-01',
  groupId: 206,
  minKeyId: 551_000_000,
  maxKeyId: 551_000_000,
  minActiveClients: 0
}

function catalogWith(hostBuilds: HostBuild[], csvlkGroups: CsvlkGroup[] = [ONE_KEY_GROUP]): ProductCatalog {
  return new ProductCatalog({ applications: [], csvlkGroups, hostBuilds, kmsCountedIds: [], skus: [] })
}

/** Random bytes that make every randomBelow draw 0 (the first candidate, the lowest key id, the first day). */
const zeros = (n: number): Uint8Array => new Uint8Array(n)

/** Random bytes for randomBelow draws of the given values (6 big-endian bytes each: v % n = v for v < n). */
function draws(...values: number[]): (n: number) => Uint8Array {
  const queue = [...values]
  return (n) => {
    expect(n).toBe(6)
    const v = queue.shift()
    if (v === undefined) throw new Error('no more draws')
    const out = new Uint8Array(6)
    let x = v
    for (let i = 5; i >= 0; i--) {
      out[i] = x % 256
      x = Math.floor(x / 256)
    }
    return out
  }
}

describe('explainEpid against a catalog without host keys', () => {
  it('a vlmcsd group alone makes the group known and the key id in range', () => {
    const lab: CsvlkGroup = { ...ONE_KEY_GROUP, iniName: 'Lab', groupId: 7, minKeyId: 100, maxKeyId: 200 }
    const e = explainEpid(parts({ groupId: 7, keyId: 100 }), catalogWith([], [lab]))
    expect(e).toMatchObject({ hostKeys: [], csvlk: { iniName: 'Lab' }, groupKnown: true, keyIdInRange: true, groupName: 'Lab' })
  })
})

describe('formEpid', () => {
  const key = { groupId: 206, minKeyId: 551_000_000, maxKeyId: 570_999_999, releaseDateUtc: '2018-10-02' }
  const ws2019 = build(17763, 3612, '2018-10-02', true)

  it('the top draw gives the last key id of the range and today (2018-10-05 is day 278)', () => {
    // 2018 is not a leap year: 31+28+31+30+31+30+31+31+30 = 273 days before October, + 5
    const now = new Date('2018-10-05T12:00:00Z')
    const epid = formEpid(key, ws2019, { random: draws(570_999_999 - 551_000_000, 3), now, lcid: 1033 })
    expect(epid).toBe('03612-00206-570-999999-03-1033-17763.0000-2782018')
  })

  it('the bottom draw gives the first key id and the release day; each day of the range can be drawn', () => {
    const now = new Date('2018-10-05T12:00:00Z')
    expect(formEpid(key, ws2019, { random: draws(0, 0), now, lcid: 1033 })).toBe('03612-00206-551-000000-03-1033-17763.0000-2752018')
    expect(formEpid(key, ws2019, { random: draws(0, 1), now, lcid: 1033 })).toBe('03612-00206-551-000000-03-1033-17763.0000-2762018')
  })

  it('a clock before the release dates gives the release day', () => {
    const now = new Date('2001-01-01T00:00:00Z')
    expect(formEpid(key, ws2019, { random: draws(5, 0), now, lcid: 2074 })).toBe('03612-00206-551-000005-03-2074-17763.0000-2752018')
  })
})

describe('generateEpid: which host builds it draws from', () => {
  const now = new Date('2020-06-01T00:00:00Z')

  it('only builds flagged useForEpid', () => {
    const catalog = catalogWith([build(9000, 11111, '2010-01-01', false), build(9200, 5426, '2012-10-26', true)])
    // 2012-10-26: leap year, 31+29+31+30+31+30+31+31+30 = 274, + 26 = day 300
    expect(generateEpid('unknown', { random: zeros, now, catalog, lcid: 1033 })).toBe('05426-00206-551-000000-03-1033-9200.0000-3002012')
  })

  it('only builds released by now', () => {
    const catalog = catalogWith([build(26100, 3612, '2024-11-01', true), build(9600, 6401, '2013-10-18', true)])
    // 2013-10-18: 273 + 18 = day 291
    expect(generateEpid('unknown', { random: zeros, now, catalog, lcid: 1033 })).toBe('06401-00206-551-000000-03-1033-9600.0000-2912013')
  })

  it('a build released at exactly `now` counts as released', () => {
    const catalog = catalogWith([build(26100, 3612, '2024-11-01', true), build(20348, 3612, '2020-06-01', true)])
    // 2020-06-01: leap year, 31+29+31+30+31 = 152, + 1 = day 153
    expect(generateEpid('unknown', { random: zeros, now, catalog, lcid: 1033 })).toBe('03612-00206-551-000000-03-1033-20348.0000-1532020')
  })

  it('when no useForEpid build is released yet it falls back to the unreleased useForEpid builds', () => {
    const catalog = catalogWith([build(9000, 11111, '2010-01-01', false), build(26100, 3612, '2024-11-01', true)])
    // the activation day is never before the build's release: 2024-11-01, leap year, 305 + 1 = day 306
    expect(generateEpid('unknown', { random: zeros, now: new Date('2009-01-01T00:00:00Z'), catalog, lcid: 1033 })).toBe(
      '03612-00206-551-000000-03-1033-26100.0000-3062024'
    )
  })

  it('refuses product data without a single useForEpid build', () => {
    const catalog = catalogWith([build(9000, 11111, '2010-01-01', false)])
    expect(() => generateEpid('unknown', { random: zeros, now, catalog })).toThrowError(/^product data has no host builds for ePIDs$/)
  })
})

describe('GUID text', () => {
  const G = '55c92734-d682-4d71-983e-d6ec3f16059f'
  const WIRE = '3427c95582d6714d983ed6ec3f16059f' // docs/protocol.md §0

  it('accepts upper and mixed case, writing the same bytes as lower case', () => {
    expect(toHex(guidToBytes(G.toUpperCase()))).toBe(WIRE)
    expect(toHex(guidToBytes('55C92734-d682-4D71-983e-D6EC3F16059f'))).toBe(WIRE)
    expect(toHex(guidToBytes('abcdefAB-CDEF-abcd-efAB-CDEFabcdefAB'))).toBe('abefcdabefcdcdabefabcdefabcdefab')
    expect(normalizeGuid('55C92734-D682-4d71-983E-D6EC3F16059F')).toBe(G)
  })

  it('writes at the offset and touches nothing else', () => {
    const out = new Uint8Array(20).fill(0xee)
    writeGuid(G, out, 2)
    expect(toHex(out)).toBe(`eeee${WIRE}eeee`)
  })

  it('formats from an offset, in lower case', () => {
    expect(guidFromBytes(fromHex(`ffff${WIRE}`)!, 2)).toBe(G)
    expect(guidFromBytes(fromHex('ABEFCDABEFCDCDABEFABCDEFABCDEFAB')!)).toBe('abcdefab-cdef-abcd-efab-cdefabcdefab')
  })

  /** G with the character at `i` replaced by `c`. */
  const at = (i: number, c: string): string => G.slice(0, i) + c + G.slice(i + 1)

  it.each([
    ['one character too many', G + '0'],
    ['one character too few', G.slice(0, 35)],
    ['no dash at 8', at(8, '0')],
    ['no dash at 13', at(13, '0')],
    ['no dash at 18', at(18, '0')],
    ['no dash at 23', at(23, '0')],
    ['g as a high digit', at(0, 'g')],
    ['g as a low digit', at(1, 'g')],
    ['G as a low digit of the last byte', at(35, 'G')],
    ['@ (just below A)', at(0, '@')],
    ['` (just below a)', at(1, '`')],
    ['/ (just below 0)', at(0, '/')],
    [': (just above 9)', at(1, ':')],
    ['? (0x3f)', at(34, '?')],
    ['a non-ASCII letter', at(2, 'é')],
    ['space inside', at(0, ' ')]
  ])('refuses %s with a ProtocolEncodeError naming the GUID', (_why, text) => {
    let thrown: unknown
    try {
      guidToBytes(text)
    } catch (err) {
      thrown = err
    }
    expect(thrown).toBeInstanceOf(ProtocolEncodeError)
    expect((thrown as ProtocolEncodeError).field).toBe('GUID')
    expect((thrown as ProtocolEncodeError).message).toBe(`cannot encode GUID: "${text}" is not a GUID`)
  })

  it('normalizeGuid: optional braces around the whole text only, nothing before or after', () => {
    expect(normalizeGuid(`{${G}}`)).toBe(G)
    expect(normalizeGuid(`  {${G.toUpperCase()}}\n`)).toBe(G)
    expect(normalizeGuid(`x${G}`)).toBeUndefined()
    expect(normalizeGuid(`${G}x`)).toBeUndefined()
    expect(normalizeGuid(`{${G}`)).toBeUndefined()
    expect(normalizeGuid(`${G}}`)).toBeUndefined()
    // braces that are not the first and last characters are not stripped
    expect(normalizeGuid(`${G.slice(0, 32)}{${G.slice(32)}}`)).toBeUndefined()
    expect(normalizeGuid(`{${G.slice(0, 4)}}${G.slice(4)}`)).toBeUndefined()
    expect(normalizeGuid(`{{${G}}}`)).toBeUndefined()
  })
})

describe('FILETIME boundaries', () => {
  // 100 ns ticks from 1601-01-01 to 1970-01-01 (docs/protocol.md §0), computed here from the calendar
  const EPOCH = BigInt(-Date.UTC(1601, 0, 1)) * 10_000n
  const ticksAtMs = (ms: number): bigint => BigInt(ms) * 10_000n + EPOCH
  // ECMA-262: a Date holds ±8.64e15 ms around 1970
  const DATE_MAX_MS = 8.64e15

  it('the epoch offset is the well-known 116444736000000000', () => {
    expect(EPOCH).toBe(116_444_736_000_000_000n)
    expect(dateToFileTime(new Date(0))).toBe(EPOCH)
  })

  it('rounds toward the past (floor), before 1970 too', () => {
    expect(fileTimeToDate(EPOCH)?.getTime()).toBe(0)
    expect(fileTimeToDate(EPOCH + 9_999n)?.getTime()).toBe(0)
    expect(fileTimeToDate(EPOCH + 10_000n)?.getTime()).toBe(1)
    expect(fileTimeToDate(EPOCH - 1n)?.toISOString()).toBe('1969-12-31T23:59:59.999Z')
    expect(fileTimeToDate(EPOCH - 10_000n)?.getTime()).toBe(-1)
    expect(fileTimeToDate(EPOCH - 10_001n)?.getTime()).toBe(-2)
    expect(fileTimeToDate(1n)?.toISOString()).toBe('1601-01-01T00:00:00.000Z')
  })

  it('gives a Date up to ±8.64e15 ms and undefined one millisecond beyond', () => {
    expect(fileTimeToDate(ticksAtMs(DATE_MAX_MS))?.toISOString()).toBe('+275760-09-13T00:00:00.000Z')
    expect(fileTimeToDate(ticksAtMs(DATE_MAX_MS) + 9_999n)?.getTime()).toBe(DATE_MAX_MS)
    expect(fileTimeToDate(ticksAtMs(DATE_MAX_MS) + 10_000n)).toBeUndefined()
    expect(fileTimeToDate(ticksAtMs(-DATE_MAX_MS))?.toISOString()).toBe('-271821-04-20T00:00:00.000Z')
    expect(fileTimeToDate(ticksAtMs(-DATE_MAX_MS) - 1n)).toBeUndefined()
  })

  it('prints up to the last second of year 9999, seconds truncated; later values as raw ticks', () => {
    const lastSecond = ticksAtMs(Date.UTC(9999, 11, 31, 23, 59, 59))
    expect(formatFileTimeUtc(lastSecond + 9_999_999n)).toBe('9999-12-31 23:59:59')
    const y10000 = ticksAtMs(Date.UTC(10000, 0, 1))
    expect(formatFileTimeUtc(y10000)).toBe(`FILETIME ${y10000}`)
    const beyondDate = ticksAtMs(DATE_MAX_MS) + 10_000n
    expect(formatFileTimeUtc(beyondDate)).toBe(`FILETIME ${beyondDate}`)
    expect(formatFileTimeUtc(EPOCH + 9_999_999n)).toBe('1970-01-01 00:00:00')
  })
})

describe('randomBelow and takeRandom', () => {
  const ff = (n: number): Uint8Array => new Uint8Array(n).fill(0xff)

  it.each([0, -1, 1.5, 0.5, Number.NaN, 2 ** 32 + 1])('refuses the bound %s with a TypeError', (n) => {
    expect(() => randomBelow(ff, n)).toThrowError(new TypeError(`randomBelow: bad bound ${n}`))
  })

  it('accepts 1 and 2^32, the ends of its documented range', () => {
    expect(randomBelow(ff, 1)).toBe(0)
    // 6 bytes of 0xff = 2^48 - 1 ≡ 2^32 - 1 (mod 2^32)
    expect(randomBelow(ff, 2 ** 32)).toBe(2 ** 32 - 1)
  })

  it('says how many bytes a short random source returned', () => {
    expect(() => randomBelow(() => new Uint8Array(2), 10)).toThrowError(new TypeError('random source returned 2 bytes, 6 requested'))
    expect(() => takeRandom(() => new Uint8Array(5), 4)).toThrowError('random source returned 5 bytes, 4 requested')
  })
})

describe('ByteReader / ByteWriter exact errors', () => {
  it('end() accepts a fully read buffer and names the trailing bytes otherwise', () => {
    const r = new ByteReader(fromHex('01020304')!, 10)
    r.u16('a')
    expect(() => r.end('tail')).toThrowError(new ProtocolDecodeError('tail', 12, '2 unexpected trailing byte(s)'))
    try {
      r.end('tail')
    } catch (err) {
      expect(err).toMatchObject({ field: 'tail', offset: 12, message: 'tail at offset 12: 2 unexpected trailing byte(s)' })
    }
    r.u16('b')
    expect(() => r.end('tail')).not.toThrow()
  })

  it('the writer offset follows each write', () => {
    const w = new ByteWriter(15)
    expect(w.offset).toBe(0)
    expect(w.u8(1, 'a').offset).toBe(1)
    expect(w.u16(2, 'b').offset).toBe(3)
    expect(w.u32(3, 'c').offset).toBe(7)
    expect(w.u64(4n, 'd').offset).toBe(15)
  })

  it('a write past the end is a RangeError naming field, size, offset and buffer size', () => {
    expect(() => new ByteWriter(2).u8(1, 'a').u16(5, 'len')).toThrowError(
      new RangeError('len: 2 byte(s) at offset 1 do not fit the 2-byte buffer')
    )
  })

  it('u64 takes 0..2^64-1 and names the value otherwise', () => {
    expect(toHex(new ByteWriter(8).u64(2n ** 64n - 1n, 'f').done())).toBe('ffffffffffffffff')
    expect(() => new ByteWriter(8).u64(2n ** 64n, 'f')).toThrowError(new ProtocolEncodeError('f', '18446744073709551616 is not a u64'))
    expect(() => new ByteWriter(8).u64(-1n, 'f')).toThrowError('cannot encode f: -1 is not a u64')
  })

  it('u8/u16/u32 name the value and the range', () => {
    expect(() => new ByteWriter(2).u16(0x10000, 'f')).toThrowError('cannot encode f: 65536 is out of range 0..65535')
    expect(() => new ByteWriter(1).u8(1.5, 'f')).toThrowError('cannot encode f: 1.5 is out of range 0..255')
    expect(() => new ByteWriter(4).u32(2 ** 32, 'f')).toThrowError('cannot encode f: 4294967296 is out of range 0..4294967295')
  })

  it('done() says how much was written of how much', () => {
    let thrown: unknown
    try {
      new ByteWriter(4).u16(1, 'f').done()
    } catch (err) {
      thrown = err
    }
    expect(thrown).toBeInstanceOf(ProtocolEncodeError)
    expect(thrown).toMatchObject({ field: 'buffer', message: 'cannot encode buffer: wrote 2 of 4 bytes' })
  })

  it('u16 writes exactly its two bytes', () => {
    const w = new ByteWriter(4)
    w.buffer.set([0xaa, 0xbb], 2) // bytes the caller put there through `buffer`
    w.u16(0x1234, 'f')
    expect(toHex(w.buffer)).toBe('3412aabb')
  })
})

describe('byte helpers', () => {
  it('bytesEqual needs equal length and equal bytes', () => {
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 3))).toBe(false)
    expect(bytesEqual(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2))).toBe(false)
    expect(bytesEqual(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 4))).toBe(false)
    expect(bytesEqual(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 3))).toBe(true)
    expect(bytesEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true)
  })

  it('xorBytes is as long as the shorter input', () => {
    expect(toHex(xorBytes(Uint8Array.of(0xf0, 0x0f, 0xff), Uint8Array.of(0xff)))).toBe('0f')
    expect(toHex(xorBytes(Uint8Array.of(0x01), Uint8Array.of(0x03, 0x05)))).toBe('02')
  })

  it('fromHex ignores runs of whitespace anywhere', () => {
    expect(toHex(fromHex(' 0a\t\n 0B  ff \r\n')!)).toBe('0a0bff')
  })

  it('utf16leDecodeRange decodes more than one 1024-unit chunk', () => {
    const s = 'ab\u0100\ud800'.repeat(700) // 2800 code units, a lone surrogate among them
    const bytes = utf16leEncode(`xy${s}`)
    expect(utf16leDecodeRange(bytes, 4, bytes.byteLength)).toBe(s)
    expect(utf16leDecodeRange(bytes, 4, 4)).toBe('')
  })
})

describe('error classes', () => {
  it('carry their own names, which String() and stack traces show', () => {
    const d = new ProtocolDecodeError('KmsPID', 8, 'bad')
    expect(d.name).toBe('ProtocolDecodeError')
    expect(String(d)).toBe('ProtocolDecodeError: KmsPID at offset 8: bad')
    expect(d).toMatchObject({ field: 'KmsPID', offset: 8, detail: 'bad' })
    const e = new ProtocolEncodeError('GUID', 'nope')
    expect(e.name).toBe('ProtocolEncodeError')
    expect(String(e)).toBe('ProtocolEncodeError: cannot encode GUID: nope')
  })
})
