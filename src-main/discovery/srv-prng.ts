/**
 * Integer randomness for SRV selection, and a seeded generator for reproducible runs (tests, simulations).
 *
 * Selection needs uniform integers in [0, n). In production pass `(n) => crypto.randomInt(n)` from node:crypto
 * (uniform, n ≤ 2^48); the helpers here adapt other sources. Pure: no global state, no Math.random.
 */

/** Uniform integer in [0, maxExclusive). Called with a safe integer maxExclusive ≥ 1. */
export type RandomInt = (maxExclusive: number) => number

export interface SeededRandom {
  /** Next 32-bit unsigned integer. */
  uint32(): number
  /** Uniform float in [0, 1) with 53 random bits. */
  float(): number
  /** Uniform integer in [0, maxExclusive), exact (rejection sampling, no modulo bias); maxExclusive ≤ 2^52. */
  int: RandomInt
}

const TWO_32 = 0x1_0000_0000

/** SplitMix32 step, used only to spread an arbitrary seed over the generator state. */
function splitMix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0
  let z = state.s
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
  return (z ^ (z >>> 16)) >>> 0
}

/**
 * xoshiro128** (Blackman & Vigna): small, fast, statistically sound for simulations; not for secrets.
 * The same seed always gives the same sequence on every platform.
 */
export function createSeededRandom(seed: number): SeededRandom {
  const init = { s: Math.floor(seed) | 0 }
  let a = splitMix32(init)
  let b = splitMix32(init)
  let c = splitMix32(init)
  let d = splitMix32(init)
  if ((a | b | c | d) === 0) a = 1 // the all-zero state is a fixed point

  const uint32 = (): number => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0
    const t = b << 9
    c ^= a
    d ^= b
    b ^= c
    a ^= d
    c ^= t
    d = rotl(d, 11)
    return result
  }
  const float = (): number => ((uint32() >>> 5) * 0x400_0000 + (uint32() >>> 6)) / 2 ** 53
  const int: RandomInt = (maxExclusive) => uniformInt(uint32, maxExclusive)
  return { uint32, float, int }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k))
}

/** Exact uniform integer in [0, n) from a 32-bit source, by rejection. */
export function uniformInt(uint32: () => number, n: number): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`random range must be a safe integer ≥ 1, got ${n}`)
  if (n === 1) return 0
  if (n <= TWO_32) {
    const limit = TWO_32 - (TWO_32 % n) // largest multiple of n not above 2^32
    for (;;) {
      const x = uint32()
      if (x < limit) return x % n
    }
  }
  if (n > 2 ** 52) throw new RangeError(`random range ${n} is above 2^52`)
  const span = 2 ** 52
  const limit = span - (span % n)
  for (;;) {
    const x = (uint32() & 0xfffff) * TWO_32 + uint32()
    if (x < limit) return x % n
  }
}

/**
 * Adapts a `() => float in [0, 1)` source (e.g. Math.random at a call site that accepts it). The result is
 * biased by at most n / 2^53 per value — irrelevant for SRV weights (sums stay far below 2^32).
 */
export function randomIntFromFloat(float: () => number): RandomInt {
  return (n) => {
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`random range must be a safe integer ≥ 1, got ${n}`)
    const value = Math.floor(float() * n)
    return value >= n ? n - 1 : value < 0 ? 0 : value
  }
}
