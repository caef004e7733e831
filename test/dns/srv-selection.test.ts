/**
 * RFC 2782 selection: statistics over seeded draws (deterministic — the same seed gives the same counts on
 * every run, so these are not flaky), plus the picker's bookkeeping and trace.
 *
 * Chi-square critical values at p = 0.001 (from standard tables): df1 10.828, df2 13.816, df3 16.266,
 * df5 20.515, df23 49.728.
 */
import { describe, expect, it } from 'vitest'
import { createSeededRandom, randomIntFromFloat, uniformInt } from '../../src-main/discovery/srv-prng'
import {
  createSrvPicker,
  firstPickProbabilities,
  orderSrvRecords,
  type SrvCandidate,
  type SrvSelectionTraceEvent
} from '../../src-main/discovery/srv-selection'

const DRAWS = 100_000
const CRITICAL = { 1: 10.828, 2: 13.816, 3: 16.266, 5: 20.515, 23: 49.728 } as const

function rec(target: string, priority: number, weight: number, port = 1688): SrvCandidate {
  return { target, priority, weight, port }
}

function chiSquare(observed: readonly number[], probabilities: readonly number[], total: number): number {
  return observed.reduce((sum, o, i) => {
    const e = probabilities[i]! * total
    return sum + ((o - e) * (o - e)) / e
  }, 0)
}

/** Counts how often each record (by target) is drawn first. */
function firstPickCounts(
  records: readonly SrvCandidate[],
  seed: number,
  mode: 'rfc2782' | 'legacy-random' = 'rfc2782'
): Map<string, number> {
  const rng = createSeededRandom(seed)
  const counts = new Map(records.map((r) => [r.target, 0]))
  for (let i = 0; i < DRAWS; i++) {
    const first = createSrvPicker(records, { random: rng.int, mode }).next()!
    counts.set(first.target, counts.get(first.target)! + 1)
  }
  return counts
}

describe('RFC 2782 ordering — statistics over 100,000 seeded draws', () => {
  it('first pick follows the weights (weight 0 present: [0, sum] draw) and priority order always holds', () => {
    const records = [rec('a', 0, 50), rec('b', 0, 30), rec('c', 0, 20), rec('zero', 0, 0), rec('backup', 5, 100)]
    const rng = createSeededRandom(1)
    const counts = new Map(records.map((r) => [r.target, 0]))
    let badOrders = 0
    for (let i = 0; i < DRAWS; i++) {
      const order = orderSrvRecords(records, { random: rng.int })
      const complete = order.length === records.length && new Set(order).size === records.length
      if (!complete || order.some((r, k) => k > 0 && r.priority < order[k - 1]!.priority)) badOrders++
      counts.set(order[0]!.target, counts.get(order[0]!.target)! + 1)
    }
    expect(badOrders).toBe(0)
    expect(counts.get('backup')).toBe(0)
    // Exact shares under our rule: weighted w/(sum+1), the weight-0 record 1/(sum+1); sum = 100.
    const expected = [50 / 101, 30 / 101, 20 / 101, 1 / 101]
    const observed = ['a', 'b', 'c', 'zero'].map((t) => counts.get(t)!)
    expect(chiSquare(observed, expected, DRAWS)).toBeLessThan(CRITICAL[3])
    expect(counts.get('zero')).toBeGreaterThan(0) // a weight-0 record does get its small chance
  })

  it('no weight-0 record: exact w/sum, no off-by-one bias toward the first record (synapse#5864)', () => {
    const pair = firstPickCounts([rec('first', 0, 1), rec('second', 0, 1)], 2)
    expect(chiSquare([pair.get('first')!, pair.get('second')!], [0.5, 0.5], DRAWS)).toBeLessThan(CRITICAL[1])

    const four = firstPickCounts([rec('w1', 0, 1), rec('w2', 0, 2), rec('w3', 0, 3), rec('w4', 0, 4)], 3)
    expect(
      chiSquare(
        ['w1', 'w2', 'w3', 'w4'].map((t) => four.get(t)!),
        [0.1, 0.2, 0.3, 0.4],
        DRAWS
      )
    ).toBeLessThan(CRITICAL[3])
  })

  it('the RFC inclusive draw without our correction would fail this test (the check has teeth)', () => {
    // Simulate the literal [0, sum] draw on two weight-1 records: the first wins 2/3 of the time.
    const rng = createSeededRandom(2)
    let first = 0
    for (let i = 0; i < DRAWS; i++) if (rng.int(3) <= 1) first++
    expect(chiSquare([first, DRAWS - first], [0.5, 0.5], DRAWS)).toBeGreaterThan(CRITICAL[1])
  })

  it('weight 0 next to a large weight gets about 1/(sum+1)', () => {
    const counts = firstPickCounts([rec('heavy', 0, 1000), rec('zero', 0, 0)], 4)
    expect(chiSquare([counts.get('heavy')!, counts.get('zero')!], [1000 / 1001, 1 / 1001], DRAWS)).toBeLessThan(CRITICAL[1])
  })

  it('all-zero group: first pick and the whole order are uniform', () => {
    const records = [rec('k1', 0, 0), rec('k2', 0, 0), rec('k3', 0, 0), rec('k4', 0, 0)]
    const rng = createSeededRandom(5)
    const first = new Map(records.map((r) => [r.target, 0]))
    const perms = new Map<string, number>()
    for (let i = 0; i < DRAWS; i++) {
      const order = orderSrvRecords(records, { random: rng.int }).map((r) => r.target)
      first.set(order[0]!, first.get(order[0]!)! + 1)
      perms.set(order.join(','), (perms.get(order.join(',')) ?? 0) + 1)
    }
    expect(chiSquare([...first.values()], [0.25, 0.25, 0.25, 0.25], DRAWS)).toBeLessThan(CRITICAL[3])
    expect(perms.size).toBe(24)
    expect(chiSquare([...perms.values()], Array(24).fill(1 / 24), DRAWS)).toBeLessThan(CRITICAL[23])
  })

  it('whole orders follow the per-step rule (hand-computed permutation probabilities)', () => {
    // weights z=0, one=1, two=2. Step 1 (zero present, [0,3]): z 1/4, one 1/4, two 2/4. Step 2: {one,two}
    // → 1/3, 2/3; {z,two} (zero present, [0,2]) → 1/3, 2/3; {z,one} ([0,1]) → 1/2, 1/2.
    const expected: Record<string, number> = {
      'z,one,two': 1 / 12,
      'z,two,one': 2 / 12,
      'one,z,two': 1 / 12,
      'one,two,z': 2 / 12,
      'two,z,one': 3 / 12,
      'two,one,z': 3 / 12
    }
    const rng = createSeededRandom(6)
    const counts = new Map(Object.keys(expected).map((k) => [k, 0]))
    const records = [rec('z', 0, 0), rec('one', 0, 1), rec('two', 0, 2)]
    for (let i = 0; i < DRAWS; i++) {
      const key = orderSrvRecords(records, { random: rng.int })
        .map((r) => r.target)
        .join(',')
      counts.set(key, counts.get(key)! + 1)
    }
    const keys = Object.keys(expected)
    expect(
      chiSquare(
        keys.map((k) => counts.get(k)!),
        keys.map((k) => expected[k]!),
        DRAWS
      )
    ).toBeLessThan(CRITICAL[5])
  })

  it('legacy mode ignores priority and weight: uniform order', () => {
    const records = [rec('p0', 0, 1000), rec('p10', 10, 0), rec('p20', 20, 1)]
    const counts = firstPickCounts(records, 7, 'legacy-random')
    expect(
      chiSquare(
        ['p0', 'p10', 'p20'].map((t) => counts.get(t)!),
        [1 / 3, 1 / 3, 1 / 3],
        DRAWS
      )
    ).toBeLessThan(CRITICAL[2])

    const rng = createSeededRandom(8)
    const perms = new Map<string, number>()
    for (let i = 0; i < DRAWS; i++) {
      const key = orderSrvRecords(records, { random: rng.int, mode: 'legacy-random' })
        .map((r) => r.target)
        .join(',')
      perms.set(key, (perms.get(key) ?? 0) + 1)
    }
    expect(perms.size).toBe(6)
    expect(chiSquare([...perms.values()], Array(6).fill(1 / 6), DRAWS)).toBeLessThan(CRITICAL[5])
  })
})

describe('firstPickProbabilities', () => {
  it('matches the rule for each case', () => {
    expect(firstPickProbabilities([rec('a', 0, 3), rec('b', 0, 1), rec('c', 1, 9)])).toEqual([0.75, 0.25, 0])
    expect(firstPickProbabilities([rec('a', 0, 3), rec('z1', 0, 0), rec('z2', 0, 0)])).toEqual([3 / 4, 1 / 8, 1 / 8])
    expect(firstPickProbabilities([rec('a', 2, 0), rec('b', 2, 0), rec('c', 3, 5)])).toEqual([0.5, 0.5, 0])
    expect(firstPickProbabilities([rec('a', 0, 3), rec('b', 9, 1)], 'legacy-random')).toEqual([0.5, 0.5])
    expect(firstPickProbabilities([])).toEqual([])
  })
})

describe('picker', () => {
  it('draws lowest priority first, records every draw in the trace', () => {
    const events: SrvSelectionTraceEvent[] = []
    const records = [rec('backup', 10, 5, 1700), rec('a', 0, 60), rec('z', 0, 0), rec('b', 0, 30)]
    const picker = createSrvPicker(records, { random: createSeededRandom(9).int, trace: (e) => events.push(e) })
    const drawn = [picker.next(), picker.next(), picker.next(), picker.next(), picker.next()]
    expect(drawn.at(-1)).toBeUndefined()
    expect(drawn[3]?.target).toBe('backup')

    const draws = events.filter((e) => e.kind === 'srv-draw')
    expect(draws).toHaveLength(4)
    const firstDraw = draws[0]!
    expect(firstDraw.priority).toBe(0)
    expect(firstDraw.candidates.map((c) => c.target)).toEqual(['z', 'a', 'b']) // weight 0 first
    expect(firstDraw.candidates.map((c) => c.runningSum)).toEqual([0, 60, 90])
    expect(firstDraw.range).toEqual([0, 90])
    expect(firstDraw.drawn).toBeGreaterThanOrEqual(0)
    expect(firstDraw.drawn).toBeLessThanOrEqual(90)
    // The chosen record is the first whose running sum reaches the drawn number.
    const idx = firstDraw.candidates.findIndex((c) => c.runningSum >= firstDraw.drawn)
    expect(firstDraw.chosenIndex).toBe(idx)
    expect(firstDraw.chosen.target).toBe(firstDraw.candidates[idx]!.target)
    expect(firstDraw.remaining).toBe(3)
    expect(draws[3]).toMatchObject({ priority: 10, range: [1, 5], chosen: { target: 'backup', port: 1700 } })
  })

  it('uses range [1, sum] once no weight-0 record is left, and no random number for a lone zero', () => {
    const calls: number[] = []
    const random = (n: number): number => {
      calls.push(n)
      return 0
    }
    const events: SrvSelectionTraceEvent[] = []
    const picker = createSrvPicker([rec('a', 0, 2), rec('b', 0, 3)], { random, trace: (e) => events.push(e) })
    expect(picker.next()?.target).toBe('a') // drawn 1 ≤ 2
    expect(picker.next()?.target).toBe('b')
    expect(calls).toEqual([5, 3])
    expect(events.map((e) => (e.kind === 'srv-draw' ? e.range : null))).toEqual([
      [1, 5],
      [1, 3]
    ])

    calls.length = 0
    const zeroPicker = createSrvPicker([rec('only', 0, 0)], { random })
    expect(zeroPicker.next()?.target).toBe('only')
    expect(calls).toEqual([])
  })

  it('removes a failed host (all its records, name case-insensitive) and picks again from the rest', () => {
    const events: SrvSelectionTraceEvent[] = []
    const records = [
      rec('KMS1.corp.test', 0, 10, 1688),
      rec('kms1.corp.test.', 0, 10, 1689),
      rec('kms2.corp.test', 0, 10),
      rec('kms3.corp.test', 5, 10)
    ]
    const picker = createSrvPicker(records, { random: createSeededRandom(10).int, trace: (e) => events.push(e) })
    expect(picker.removeHost('kms1.corp.test')).toBe(2)
    expect(picker.remaining.map((r) => r.target)).toEqual(['kms2.corp.test', 'kms3.corp.test'])
    expect(events[0]).toMatchObject({
      kind: 'srv-remove',
      removed: [
        { target: 'KMS1.corp.test', port: 1688 },
        { target: 'kms1.corp.test.', port: 1689 }
      ],
      reason: 'host failed',
      remaining: 2
    })
    expect(picker.next()?.target).toBe('kms2.corp.test')
    expect(picker.removeHost('kms3.corp.test', 9999)).toBe(0) // other port: not removed
    expect(picker.remove((r) => r.priority === 5, 'unreachable')).toBe(1)
    expect(picker.next()).toBeUndefined()
    expect(events.filter((e) => e.kind === 'srv-remove')).toHaveLength(2)
  })

  it('does not modify the input array', () => {
    const records = [rec('a', 0, 1), rec('b', 0, 1)]
    const copy = [...records]
    orderSrvRecords(records, { random: createSeededRandom(11).int })
    expect(records).toEqual(copy)
  })

  it('rejects out-of-range fields and a misbehaving RNG', () => {
    expect(() => createSrvPicker([rec('a', 0, 70000)], { random: () => 0 })).toThrow(/weight must be an integer 0-65535/)
    expect(() => createSrvPicker([rec('a', -1, 0)], { random: () => 0 })).toThrow(/priority/)
    expect(() => createSrvPicker([rec('a', 0, 1), rec('b', 0, 1)], { random: (n) => n }).next()).toThrow(
      /must return an integer in \[0, 2\)/
    )
    expect(() => createSrvPicker([rec('a', 0, 1), rec('b', 0, 1)], { random: () => 0.5 }).next()).toThrow(RangeError)
  })
})

describe('seeded PRNG helpers', () => {
  it('is deterministic per seed and differs between seeds', () => {
    const a = createSeededRandom(42)
    const b = createSeededRandom(42)
    const c = createSeededRandom(43)
    const seqA = Array.from({ length: 8 }, () => a.uint32())
    expect(Array.from({ length: 8 }, () => b.uint32())).toEqual(seqA)
    expect(Array.from({ length: 8 }, () => c.uint32())).not.toEqual(seqA)
  })

  it('int stays in range, including a range above 2^32; float in [0, 1)', () => {
    const rng = createSeededRandom(7)
    for (let i = 0; i < 10_000; i++) {
      const n = 1 + (i % 97)
      const v = rng.int(n)
      expect(Number.isInteger(v) && v >= 0 && v < n).toBe(true)
      const big = rng.int(2 ** 40 + 3)
      expect(big >= 0 && big < 2 ** 40 + 3).toBe(true)
      const f = rng.float()
      expect(f >= 0 && f < 1).toBe(true)
    }
    expect(rng.int(1)).toBe(0)
    expect(() => rng.int(0)).toThrow(RangeError)
    expect(() => rng.int(2.5)).toThrow(RangeError)
  })

  it('uniformInt rejects values from the biased tail instead of folding them', () => {
    // n = 3: 2^32 mod 3 = 1, so 0xFFFFFFFF is the one rejected value.
    const source = [0xffffffff, 5]
    expect(uniformInt(() => source.shift()!, 3)).toBe(2)
    expect(source).toEqual([])
  })

  it('randomIntFromFloat maps [0, 1) onto [0, n)', () => {
    expect(randomIntFromFloat(() => 0)(10)).toBe(0)
    expect(randomIntFromFloat(() => 0.999999999)(10)).toBe(9)
    expect(randomIntFromFloat(() => 1)(10)).toBe(9) // a sloppy source returning 1 is clamped
  })
})
