/**
 * Injected randomness. The protocol layer never calls Math.random or crypto.randomBytes itself: every function
 * that needs random bytes takes a `RandomSource`, so tests can reproduce captured bytes and the embedding code
 * chooses the generator (crypto.randomBytes in production).
 */

/** Returns `n` random bytes. */
export type RandomSource = (n: number) => Uint8Array

export function takeRandom(random: RandomSource, n: number): Uint8Array {
  const b = random(n)
  if (b.byteLength !== n) throw new TypeError(`random source returned ${b.byteLength} bytes, ${n} requested`)
  return new Uint8Array(b)
}

/**
 * A uniform-enough integer in [0, n) for 1 ≤ n ≤ 2^32, from 6 random bytes (bias < 2^-16 relative; no rejection
 * loop, so a broken random source cannot make it spin).
 */
export function randomBelow(random: RandomSource, n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 0x100000000) throw new TypeError(`randomBelow: bad bound ${n}`)
  const b = takeRandom(random, 6)
  let v = 0
  for (const x of b) v = v * 256 + x
  return v % n
}
