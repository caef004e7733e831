/**
 * Edges of the RFC 2782 picker that the statistics tests do not pin down (found by mutation testing,
 * docs/testing.md): field bounds, a random source out of contract, the default mode, the legacy trace,
 * removing a host on every port, and the first-pick table's special cases.
 */
import { describe, expect, it } from 'vitest'
import {
  createSrvPicker,
  firstPickProbabilities,
  type SrvCandidate,
  type SrvSelectionTraceEvent
} from '../../src-main/discovery/srv-selection'

const rec = (target: string, priority: number, weight: number, port = 1688): SrvCandidate => ({ target, priority, weight, port })
const first = (): number => 0

describe('SRV picker edges', () => {
  it('accepts 65535 in every 16-bit field and refuses 65536, -1 and fractions', () => {
    expect(() => createSrvPicker([rec('a', 65535, 65535, 65535)], { random: first })).not.toThrow()
    for (const bad of [rec('a', 65536, 0), rec('a', 0, -1), rec('a', 0, 0, 1.5)]) {
      expect(() => createSrvPicker([bad], { random: first })).toThrow(RangeError)
    }
  })

  it('refuses a random source that answers outside [0, n)', () => {
    for (const answer of [-1, 2, 0.5]) {
      const picker = createSrvPicker([rec('a', 0, 1), rec('b', 0, 1)], { random: () => answer })
      expect(() => picker.next()).toThrow(/it must return an integer in \[0, 2\)/)
    }
  })

  it('uses RFC 2782 unless told otherwise, and says so in its trace', () => {
    const events: SrvSelectionTraceEvent[] = []
    createSrvPicker([rec('a', 0, 5)], { random: first, trace: (e) => events.push(e) }).next()
    expect(events).toMatchObject([{ kind: 'srv-draw', mode: 'rfc2782', priority: 0, range: [1, 5] }])
  })

  it('legacy mode traces each uniform draw: range 1..n, the drawn position, what is left', () => {
    const events: SrvSelectionTraceEvent[] = []
    const picker = createSrvPicker([rec('a', 0, 0), rec('b', 5, 9), rec('c', 1, 1)], {
      random: (n) => n - 1,
      mode: 'legacy-random',
      trace: (e) => events.push(e)
    })
    expect(picker.next()?.target).toBe('c')
    expect(picker.next()?.target).toBe('b')
    expect(events[0]).toEqual({
      kind: 'srv-draw',
      mode: 'legacy-random',
      priority: null,
      candidates: [
        { target: 'a', port: 1688, priority: 0, weight: 0, runningSum: 1 },
        { target: 'b', port: 1688, priority: 5, weight: 9, runningSum: 2 },
        { target: 'c', port: 1688, priority: 1, weight: 1, runningSum: 3 }
      ],
      range: [1, 3],
      drawn: 3,
      chosenIndex: 2,
      chosen: { target: 'c', port: 1688, priority: 1, weight: 1 },
      remaining: 2
    })
    expect(events[1]).toMatchObject({ range: [1, 2], drawn: 2, chosenIndex: 1, remaining: 1 })
  })

  it('removeHost without a port removes the host on every port, with a port only that one', () => {
    const records = [rec('kms.example.', 0, 1, 1688), rec('KMS.example', 0, 1, 1689), rec('other', 0, 1)]
    const picker = createSrvPicker(records, { random: first })
    expect(picker.removeHost('kms.example', 1689)).toBe(1)
    expect(picker.remaining.map((r) => r.port)).toEqual([1688, 1688])
    expect(picker.removeHost('kms.example')).toBe(1)
    expect(picker.remaining.map((r) => r.target)).toEqual(['other'])
  })
})

describe('firstPickProbabilities edges', () => {
  it('defaults to RFC 2782 (weights count), not the legacy uniform draw', () => {
    expect(firstPickProbabilities([rec('a', 0, 3), rec('b', 0, 1)])).toEqual([0.75, 0.25])
  })

  it('an all-zero-weight group is uniform; lower priorities get nothing; no records, no table', () => {
    expect(firstPickProbabilities([rec('a', 0, 0), rec('b', 0, 0), rec('c', 1, 7)])).toEqual([0.5, 0.5, 0])
    expect(firstPickProbabilities([])).toEqual([])
  })
})
