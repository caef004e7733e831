/**
 * The lab-host page's chart: requests per bucket from the host's counters (a restart starts afresh, old buckets
 * fall off).
 */
import { describe, expect, it } from 'vitest'
import { emptyCounters } from '../../src-main/lab-host/events'
import { RequestRate } from '../../src-main/service/lab-host-insight'

/** What the rate reads of an update: when the host started and its request counters. */
function statusWith(total: number, startedAtMs: number) {
  const counters = emptyCounters()
  counters.requests.v6.ok = total
  return { startedAtMs, counters }
}

describe('RequestRate', () => {
  it('adds the counters’ increments into 5-second buckets over the last 5 minutes', () => {
    let now = 1_000_000
    const rate = new RequestRate(() => now)
    rate.observe(statusWith(3, 1))
    now += 5_000
    rate.observe(statusWith(10, 1))
    rate.observe(statusWith(12, 1))
    const series = rate.series()
    expect(series.requests).toHaveLength(60)
    expect(series.requests.slice(-2)).toEqual([3, 9])
    // A restarted host counts from zero again; its first update is all new requests.
    rate.observe(statusWith(4, 2))
    expect(rate.series().requests.at(-1)).toBe(13)
    // Five minutes later the old buckets are gone.
    now += 300_000
    expect(rate.series().requests.reduce((a, b) => a + b, 0)).toBe(0)
  })
})
