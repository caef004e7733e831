/**
 * The seeded generator and integer helpers used for SRV selection (src-main/discovery/srv-prng.ts,
 * docs/srv-selection.md): exact sequences, the rejection sampling of `uniformInt` at each boundary, the float
 * adapter's clamping, and coarse distribution checks.
 *
 * Where the expected values come from:
 * - the first outputs for seeds 0, 42 and -1 were produced by a small C program outside this repository: Vigna's
 *   reference xoshiro128** `next()` (prng.di.unimi.it/xoshiro128starstar.c) with its state filled by four
 *   SplitMix32 steps as the module documents (s += 0x9e3779b9, then the 0x85ebca6b / 0xc2b2ae35 mix);
 * - longer sequences are checked against `reference()` below, the same algorithm written with BigInt arithmetic
 *   modulo 2^32 (no Math.imul, no 32-bit shifts), which reproduces the C values;
 * - rejection-sampling limits are worked out by hand in the comments (2^32 mod n, 2^52 mod n).
 */
import { describe, expect, it } from 'vitest'
import { createSeededRandom, randomIntFromFloat, uniformInt } from '../../src-main/discovery/srv-prng'

const M32 = 0xffff_ffffn

/** xoshiro128** seeded by SplitMix32, in BigInt arithmetic: the independent reference. */
function reference(seed: number): { uint32(): number; float(): number } {
  let sm = BigInt.asUintN(32, BigInt(seed))
  const splitMix = (): bigint => {
    sm = (sm + 0x9e3779b9n) & M32
    let z = sm
    z = ((z ^ (z >> 16n)) * 0x85ebca6bn) & M32
    z = ((z ^ (z >> 13n)) * 0xc2b2ae35n) & M32
    return z ^ (z >> 16n)
  }
  const s = [splitMix(), splitMix(), splitMix(), splitMix()]
  if ((s[0]! | s[1]! | s[2]! | s[3]!) === 0n) s[0] = 1n // the all-zero state is a fixed point
  const rotl = (x: bigint, k: bigint): bigint => ((x << k) | (x >> (32n - k))) & M32
  const uint32 = (): number => {
    const [s0, s1, s2, s3] = s as [bigint, bigint, bigint, bigint]
    const result = (rotl((s1 * 5n) & M32, 7n) * 9n) & M32
    const t = (s1 << 9n) & M32
    const n2 = s2 ^ s0
    const n3 = s3 ^ s1
    const n1 = s1 ^ n2
    const n0 = s0 ^ n3
    s[0] = n0
    s[1] = n1
    s[2] = n2 ^ t
    s[3] = rotl(n3, 11n)
    return Number(result)
  }
  // 27 high bits of one output and 26 of the next make a 53-bit fraction
  const float = (): number => Number(((BigInt(uint32()) >> 5n) << 26n) | (BigInt(uint32()) >> 6n)) / 2 ** 53
  return { uint32, float }
}

/** A uint32 source that hands out the given values and counts how many were taken. */
function script(...values: number[]): { next: () => number; taken: () => number } {
  let i = 0
  return {
    next: () => {
      if (i >= values.length) throw new Error('source exhausted')
      return values[i++]!
    },
    taken: () => i
  }
}

const never = (): number => {
  throw new Error('no random number should be needed')
}

describe('createSeededRandom: exact sequences', () => {
  it.each([
    [0, [3809008728, 1133695204, 53579671, 2891528803, 139681546, 2203266335, 104831812, 1587294886], 0.61231244365522453],
    [42, [2837322924, 544945897, 479756282, 3500138142, 339756180, 113173290, 65323186, 1112262688], 0.88068708274502538],
    [-1, [835879718, 1921286648, 2356205009, 1885780724, 980451116, 1053911718, 3677392737, 2464361898], 0.84931466560242741]
  ])('seed %i gives the reference C output', (seed, expected, float) => {
    const rng = createSeededRandom(seed)
    expect(Array.from({ length: 8 }, () => rng.uint32())).toEqual(expected)
    expect(rng.float()).toBe(float)
  })

  it('the BigInt reference reproduces the C output', () => {
    const ref = reference(42)
    expect([ref.uint32(), ref.uint32(), ref.uint32()]).toEqual([2837322924, 544945897, 479756282])
  })

  it.each([1, 7, 2782, 0x7fffffff, -123456789])('seed %i matches the reference for 2,000 outputs and 500 floats', (seed) => {
    const rng = createSeededRandom(seed)
    const ref = reference(seed)
    const take = (f: () => number, n: number): number[] => Array.from({ length: n }, f)
    expect(take(rng.uint32, 2000)).toEqual(take(ref.uint32, 2000))
    expect(take(rng.float, 500)).toEqual(take(ref.float, 500))
  })

  it('the seed is floored and taken modulo 2^32', () => {
    const first = (seed: number): number[] => {
      const rng = createSeededRandom(seed)
      return [rng.uint32(), rng.uint32()]
    }
    expect(first(42.9)).toEqual(first(42))
    expect(first(2 ** 32 + 42)).toEqual(first(42))
    expect(first(2 ** 32 - 1)).toEqual(first(-1))
  })

  it('int draws from the same stream: one output per draw below 2^32, two above', () => {
    const rng = createSeededRandom(5)
    const ref = reference(5)
    expect(rng.int(1000)).toBe(ref.uint32() % 1000) // 2^32 mod 1000 = 296: only outputs ≥ 4294967000 are redrawn
    const hi = ref.uint32() & 0xfffff
    const lo = ref.uint32()
    expect(rng.int(2 ** 40)).toBe((hi * 2 ** 32 + lo) % 2 ** 40)
    expect(rng.uint32()).toBe(ref.uint32())
  })
})

describe('uniformInt up to 2^32: one 32-bit draw, rejection above the largest multiple of n', () => {
  it('uses a single draw for n = 10 and n = 2^32', () => {
    const s = script(13, 4)
    expect(uniformInt(s.next, 10)).toBe(3)
    expect(s.taken()).toBe(1)
    const t = script(7, 9)
    expect(uniformInt(t.next, 2 ** 32)).toBe(7)
    expect(t.taken()).toBe(1)
    const u = script(0xffffffff)
    expect(uniformInt(u.next, 2 ** 32)).toBe(0xffffffff) // 2^32 is a multiple of itself: nothing is rejected
  })

  it('n = 6: 2^32 mod 6 = 4, so 4294967292..4294967295 are redrawn and 4294967291 is kept', () => {
    const s = script(4294967292, 4294967295, 4294967291)
    expect(uniformInt(s.next, 6)).toBe(4294967291 % 6)
    expect(s.taken()).toBe(3)
  })

  it('n = 1 needs no randomness at all', () => {
    expect(uniformInt(never, 1)).toBe(0)
    expect(createSeededRandom(3).int(1)).toBe(0)
  })

  it.each([0, -1, 2.5, Number.NaN, 2 ** 53])('refuses n = %s', (n) => {
    expect(() => uniformInt(never, n)).toThrowError(new RangeError(`random range must be a safe integer ≥ 1, got ${n}`))
  })
})

describe('uniformInt above 2^32: 20 + 32 bits, rejection above the largest multiple of n below 2^52', () => {
  it('n = 2^32 + 1 combines the low 20 bits of the first draw with the second draw', () => {
    const s = script(0xfff12345, 0x9abcdef0)
    const x = 0x12345n * 2n ** 32n + 0x9abcdef0n
    expect(uniformInt(s.next, 2 ** 32 + 1)).toBe(Number(x % (2n ** 32n + 1n)))
    expect(s.taken()).toBe(2)
  })

  it('n = 2^52 is the largest range: every 52-bit value is kept as it is', () => {
    const s = script(0xabcde, 0x12345678)
    expect(uniformInt(s.next, 2 ** 52)).toBe(0xabcde * 2 ** 32 + 0x12345678)
  })

  it('n = 2^52 + 1 is refused', () => {
    expect(() => uniformInt(never, 2 ** 52 + 1)).toThrowError(new RangeError('random range 4503599627370497 is above 2^52'))
  })

  it('n = 2^51 + 1: 2^52 mod n = 2^51 - 1, so the limit is n itself; n and above are redrawn', () => {
    // draws: 2^52 - 1 (rejected), exactly n = 2^51 + 1 (rejected: the limit is exclusive), then 5
    const s = script(0xfffff, 0xffffffff, 0x80000, 1, 0, 5)
    expect(uniformInt(s.next, 2 ** 51 + 1)).toBe(5)
    expect(s.taken()).toBe(6)
    // just below the limit is kept: 2^51 = 0x80000 · 2^32
    const t = script(0x80000, 0)
    expect(uniformInt(t.next, 2 ** 51 + 1)).toBe(2 ** 51)
  })
})

describe('randomIntFromFloat', () => {
  it('maps [0, 1) onto [0, n) by scaling', () => {
    expect(randomIntFromFloat(() => 0.5)(10)).toBe(5)
    expect(randomIntFromFloat(() => 0.25)(2 ** 40)).toBe(2 ** 38)
    expect(randomIntFromFloat(() => 0.999)(1)).toBe(0)
  })

  it('clamps a sloppy source to [0, n - 1]', () => {
    expect(randomIntFromFloat(() => -0.25)(10)).toBe(0)
    expect(randomIntFromFloat(() => -1e-12)(10)).toBe(0)
    expect(randomIntFromFloat(() => 1)(10)).toBe(9)
    expect(randomIntFromFloat(() => 7)(10)).toBe(9)
  })

  it.each([0, -3, 2.5, Number.NaN, 2 ** 53])('refuses n = %s', (n) => {
    expect(() => randomIntFromFloat(() => 0.5)(n)).toThrowError(new RangeError(`random range must be a safe integer ≥ 1, got ${n}`))
  })
})

describe('distribution (seeded, so deterministic)', () => {
  // chi-square critical values at p = 0.001 (as in test/dns/srv-selection.test.ts)
  const CRITICAL_5 = 20.515
  const CRITICAL_2 = 13.816

  function chiSquare(counts: number[], total: number): number {
    const expected = total / counts.length
    return counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0)
  }

  it('int(6) is uniform over 60,000 draws and takes every value', () => {
    const rng = createSeededRandom(2026)
    const counts = [0, 0, 0, 0, 0, 0]
    for (let i = 0; i < 60_000; i++) counts[rng.int(6)]!++
    expect(counts.every((c) => c > 0)).toBe(true)
    expect(chiSquare(counts, 60_000)).toBeLessThan(CRITICAL_5)
  })

  it('int(3 · 2^50) is uniform over its thirds', () => {
    const n = 3 * 2 ** 50
    const rng = createSeededRandom(2027)
    const counts = [0, 0, 0]
    let outside = 0
    for (let i = 0; i < 30_000; i++) {
      const v = rng.int(n)
      if (!Number.isSafeInteger(v) || v < 0 || v >= n) outside++
      else counts[Math.floor(v / 2 ** 50)]!++
    }
    expect(outside).toBe(0)
    expect(chiSquare(counts, 30_000)).toBeLessThan(CRITICAL_2)
  })

  it('float is a multiple of 2^-53 in [0, 1) with mean ≈ 1/2', () => {
    const rng = createSeededRandom(2028)
    let sum = 0
    let bad = 0
    for (let i = 0; i < 20_000; i++) {
      const f = rng.float()
      if (!(f >= 0 && f < 1 && Number.isInteger(f * 2 ** 53))) bad++
      sum += f
    }
    expect(bad).toBe(0)
    // standard deviation of the mean: sqrt(1/12 / 20000) ≈ 0.002; allow 5 of them
    expect(Math.abs(sum / 20_000 - 0.5)).toBeLessThan(0.01)
  })
})
