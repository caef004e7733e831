/**
 * PduFramer when a bad header follows good PDUs: the good PDUs split off a chunk are returned, the failure is
 * kept in `error` and thrown by the next push. Plus the property that the captured vectors come out byte for
 * byte whatever the chunk boundaries, and that none of them is lost when a bad header follows them.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { concatBytes, toHex } from '../../src-main/protocol/bytes'
import { ProtocolDecodeError } from '../../src-main/protocol/errors'
import { PduFramer } from '../../src-main/protocol/rpc/header'
import { MAX_CLIENT_PDU_LENGTH } from '../../src-main/protocol/session/call-outcome'
import { listPduFiles, loadPdu } from '../helpers/vectors'

/** Large enough for every captured PDU (the biggest, a v6 response, is 312 bytes). */
const LIMIT = MAX_CLIENT_PDU_LENGTH
const VECTORS = listPduFiles().map((name) => ({ name, bytes: loadPdu(name) }))

/** A copy of a valid header with frag_length set to `fragLength` (little-endian u16 at offset 8). */
function badHeader(fragLength: number): Uint8Array {
  const h = Uint8Array.from(loadPdu('v6-req').subarray(0, 16))
  h[8] = fragLength & 0xff
  h[9] = fragLength >> 8
  return h
}

/** Cuts `bytes` at the given offsets (any order, duplicates allowed) into consecutive chunks. */
function chunksAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.byteLength + 1)))].sort((a, b) => a - b)
  const out: Uint8Array[] = []
  let prev = 0
  for (const p of [...points, bytes.byteLength]) {
    out.push(bytes.subarray(prev, p))
    prev = p
  }
  return out
}

function caught(run: () => unknown): unknown {
  try {
    run()
  } catch (error) {
    return error
  }
  return undefined
}

describe('PduFramer: a bad header after good PDUs', () => {
  it('the vectors are all framable (the premise of the properties below)', () => {
    expect(VECTORS.length).toBeGreaterThan(40)
    for (const v of VECTORS) expect(new PduFramer(LIMIT).push(v.bytes).map(toHex), v.name).toEqual([toHex(v.bytes)])
  })

  it.each([
    ['shorter than the header', 8, /shorter than the 16-byte header/],
    ['above the limit', 4000, /exceeds the limit of 300/]
  ] as const)(
    'good PDU + frag_length %s in one chunk: the PDU is returned, error set, next push throws it',
    (_what, fragLength, message) => {
      const good = loadPdu('v6-bind-ack')
      const bad = badHeader(fragLength)
      const f = new PduFramer(300)
      expect(f.error).toBeUndefined()
      const got = f.push(concatBytes(good, bad, Uint8Array.of(1, 2, 3)))
      expect(got.map(toHex)).toEqual([toHex(good)])
      expect(f.error).toBeInstanceOf(ProtocolDecodeError)
      expect(f.error!.field).toBe('frag_length')
      expect(f.error!.message).toMatch(message)
      // the bad header and what followed it were received but never framed
      expect(f.pendingBytes).toBe(bad.byteLength + 3)
      const first = f.error
      expect(caught(() => f.push(loadPdu('v6-req')))).toBe(first)
      expect(caught(() => f.push(new Uint8Array(0)))).toBe(first)
      expect(f.error).toBe(first)
      expect(f.pendingBytes).toBe(bad.byteLength + 3)
    }
  )

  it('several good PDUs across chunks, the bad header in the chunk that completes the last one', () => {
    const a = loadPdu('v6-bind-ack')
    const b = loadPdu('v6-alter-resp')
    const f = new PduFramer(LIMIT)
    expect(f.push(concatBytes(a, b.subarray(0, 10)))).toEqual([a])
    expect(f.pendingBytes).toBe(10)
    const got = f.push(concatBytes(b.subarray(10), badHeader(0)))
    expect(got.map(toHex)).toEqual([toHex(b)])
    expect(f.error?.field).toBe('frag_length')
    expect(() => f.push(new Uint8Array(1))).toThrow(f.error!)
  })

  it('a bad header alone throws at once, and error is set', () => {
    const f = new PduFramer(300)
    const error = caught(() => f.push(badHeader(3)))
    expect(error).toBeInstanceOf(ProtocolDecodeError)
    expect(f.error).toBe(error)
    expect(f.pendingBytes).toBe(16)
    expect(caught(() => f.push(loadPdu('v6-req')))).toBe(error)
  })

  it('a bad header completed by a chunk that frames nothing throws at once', () => {
    const good = loadPdu('v6-alter-req')
    const bad = badHeader(2)
    const f = new PduFramer(300)
    expect(f.push(concatBytes(good, bad.subarray(0, 9))).map(toHex)).toEqual([toHex(good)])
    expect(f.error).toBeUndefined()
    expect(f.pendingBytes).toBe(9)
    const error = caught(() => f.push(bad.subarray(9)))
    expect(error).toBeInstanceOf(ProtocolDecodeError)
    expect(f.error).toBe(error)
  })

  it('a bad rpc_vers after a good PDU is handled the same way', () => {
    const good = loadPdu('v4-resp')
    const bad = Uint8Array.from(loadPdu('v4-req'))
    bad[0] = 4
    const f = new PduFramer(LIMIT)
    expect(f.push(concatBytes(good, bad)).map(toHex)).toEqual([toHex(good)])
    expect(f.error?.field).toBe('rpc_vers')
  })
})

describe('PduFramer properties over the captured vectors', () => {
  const vectors = fc.array(fc.constantFrom(...VECTORS), { minLength: 1, maxLength: 8 })
  const cuts = fc.array(fc.nat(4000), { maxLength: 12 })

  it('any sequence of vectors, cut anywhere, comes out byte-identical and in order', () => {
    fc.assert(
      fc.property(vectors, cuts, (seq, at) => {
        const stream = concatBytes(...seq.map((v) => v.bytes))
        const f = new PduFramer(LIMIT)
        const got: Uint8Array[] = []
        for (const chunk of chunksAt(stream, at)) got.push(...f.push(chunk))
        expect(got.map(toHex)).toEqual(seq.map((v) => toHex(v.bytes)))
        expect(f.pendingBytes).toBe(0)
        expect(f.error).toBeUndefined()
      }),
      { seed: 0x2001, numRuns: 1500 }
    )
  })

  it('vectors followed by a bad header: every vector is delivered before the error, none twice', () => {
    const bad = fc.oneof(fc.integer({ min: 0, max: 15 }), fc.integer({ min: LIMIT + 1, max: 0xffff })).map(badHeader)
    fc.assert(
      fc.property(vectors, bad, fc.uint8Array({ maxLength: 40 }), cuts, (seq, header, tail, at) => {
        const stream = concatBytes(...seq.map((v) => v.bytes), header, tail)
        const f = new PduFramer(LIMIT)
        const got: Uint8Array[] = []
        let thrown: unknown
        let pushed = 0
        for (const chunk of chunksAt(stream, at)) {
          // once failed, a push takes no more bytes
          if (f.error === undefined) pushed += chunk.byteLength
          try {
            got.push(...f.push(chunk))
          } catch (error) {
            thrown = error
            break
          }
        }
        expect(got.map(toHex)).toEqual(seq.map((v) => toHex(v.bytes)))
        expect(f.error).toBeInstanceOf(ProtocolDecodeError)
        if (thrown !== undefined) expect(thrown).toBe(f.error)
        // nothing received was lost: the PDUs plus what is still held make up everything pushed so far
        expect(got.reduce((n, p) => n + p.byteLength, 0) + f.pendingBytes).toBe(pushed)
        expect(caught(() => f.push(new Uint8Array(1)))).toBe(f.error)
      }),
      { seed: 0x2002, numRuns: 1500 }
    )
  })
})
