/**
 * The failover engine with scripted probes. Timers are vitest's fake timers and the trace clock is the faked
 * Date.now(), so the stagger schedule is checked exactly and without waiting on the wall clock.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { runFailover, type CandidateSupply, type FailoverCandidate, type FailoverContext } from '../../src-main/discovery/failover'
import type { Probe, ProbeOutcome, ProbeTarget } from '../../src-main/discovery/probe'
import { createTraceRecorder, type TraceEntry } from '../../src-main/discovery/trace'

type Behaviour = 'hang' | 'live' | 'refuse' | { fail: 'kms-error'; hresult: number } | 'manual'

interface Scripted {
  probe: Probe<string>
  /** Live concurrency, and its maximum so far. */
  running: () => number
  maxRunning: () => number
  aborted: string[]
  /** Settle a 'manual' target: verified answer or refusal. */
  release: (key: string, outcome: ProbeOutcome<string>) => void
  started: string[]
}

function key(t: ProbeTarget): string {
  return `${t.address ?? t.host}:${t.port}`
}

function scriptedProbe(behaviour: Record<string, Behaviour>): Scripted {
  let running = 0
  let maxRunning = 0
  const aborted: string[] = []
  const started: string[] = []
  const manual = new Map<string, (o: ProbeOutcome<string>) => void>()
  const probe: Probe<string> = (target, signal) => {
    const k = key(target)
    started.push(k)
    running++
    maxRunning = Math.max(maxRunning, running)
    const b = behaviour[k] ?? 'refuse'
    const done = (o: ProbeOutcome<string>): ProbeOutcome<string> => {
      running--
      return o
    }
    return new Promise<ProbeOutcome<string>>((resolve) => {
      const onAbort = (): void => {
        aborted.push(k)
        resolve(done({ kind: 'failure', code: 'aborted', message: 'cancelled' }))
      }
      if (signal.aborted) return onAbort()
      signal.addEventListener('abort', onAbort, { once: true })
      const settle = (o: ProbeOutcome<string>): void => {
        signal.removeEventListener('abort', onAbort)
        resolve(done(o))
      }
      if (b === 'live') queueMicrotask(() => settle({ kind: 'verified', answer: `answer from ${k}`, rttMs: 1 }))
      else if (b === 'refuse') queueMicrotask(() => settle({ kind: 'failure', code: 'refused', message: `${k}: connection refused` }))
      else if (b === 'manual') manual.set(k, settle)
      else if (typeof b === 'object')
        queueMicrotask(() => settle({ kind: 'failure', code: b.fail, message: `${k}: refused the request`, hresult: b.hresult }))
      // 'hang': only the abort ends it
    })
  }
  return {
    probe,
    running: () => running,
    maxRunning: () => maxRunning,
    aborted,
    started,
    release: (k, o) => {
      const settle = manual.get(k)
      if (!settle) throw new Error(`${k} is not waiting`)
      manual.delete(k)
      settle(o)
    }
  }
}

function supplyOf(candidates: FailoverCandidate[]): CandidateSupply<FailoverCandidate> & { failedHosts: string[] } {
  const queue = [...candidates]
  const failedHosts: string[] = []
  return { next: () => queue.shift(), failed: (c) => void failedHosts.push(c.host), failedHosts }
}

function host(name: string, address: string, port = 1688, extra: string[] = []): FailoverCandidate {
  return { host: name, port, source: 'dns', addresses: [address, ...extra] }
}

function recorder(): { ctx: FailoverContext; entries: () => TraceEntry[] } {
  const r = createTraceRecorder(() => Date.now())
  return { ctx: { emit: r.emit, elapsed: r.elapsed }, entries: r.entries }
}

describe('staggered failover', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('3 hanging hosts ranked first: candidates start every 250 ms, the live one wins, the rest are cancelled', async () => {
    const script = scriptedProbe({ '127.0.0.2:1688': 'hang', '127.0.0.3:1688': 'hang', '127.0.0.4:1688': 'hang', '127.0.0.5:1688': 'live' })
    const supply = supplyOf([host('h1', '127.0.0.2'), host('h2', '127.0.0.3'), host('h3', '127.0.0.4'), host('live', '127.0.0.5')])
    const { ctx, entries } = recorder()
    const running = runFailover(supply, script.probe, { mode: 'staggered' }, ctx)
    await vi.advanceTimersByTimeAsync(1000)
    const result = await running

    expect(result.winner?.candidate.host).toBe('live')
    expect(result.winner?.answer).toBe('answer from 127.0.0.5:1688')
    const starts = entries().filter((e) => e.kind === 'candidate-start')
    expect(starts.map((e) => [e.host, e.reason, e.atMs])).toEqual([
      ['h1', 'first', 0],
      ['h2', 'stagger', 250],
      ['h3', 'stagger', 500],
      ['live', 'stagger', 750]
    ])
    // The verified answer comes first, then the three pending attempts end as cancelled, through their signals.
    const ends = entries().filter((e) => e.kind === 'attempt-end')
    expect(ends.map((e) => [e.host, e.outcome])).toEqual([
      ['live', 'verified'],
      ['h1', 'cancelled'],
      ['h2', 'cancelled'],
      ['h3', 'cancelled']
    ])
    expect(script.aborted.sort()).toEqual(['127.0.0.2:1688', '127.0.0.3:1688', '127.0.0.4:1688'])
    expect(script.running()).toBe(0)
    expect(result.attempts.map((a) => a.outcome)).toEqual(['cancelled', 'cancelled', 'cancelled', 'verified'])
  })

  it('a candidate that fails starts the next at once instead of waiting for the stagger timer', async () => {
    const script = scriptedProbe({ '127.0.0.2:1688': 'refuse', '127.0.0.3:1688': 'refuse', '127.0.0.4:1688': 'live' })
    const supply = supplyOf([host('a', '127.0.0.2'), host('b', '127.0.0.3'), host('c', '127.0.0.4')])
    const { ctx, entries } = recorder()
    const result = await runFailover(supply, script.probe, { mode: 'staggered', staggerMs: 60_000 }, ctx)
    expect(result.winner?.candidate.host).toBe('c')
    expect(
      entries()
        .filter((e) => e.kind === 'candidate-start')
        .map((e) => [e.host, e.reason, e.atMs])
    ).toEqual([
      ['a', 'first', 0],
      ['b', 'previous-failed', 0],
      ['c', 'previous-failed', 0]
    ])
    expect(supply.failedHosts).toEqual(['a', 'b'])
    expect(result.attempts.map((a) => [a.host, a.outcome, a.code, a.windowsCode])).toEqual([
      ['a', 'failed', 'refused', '0x800706BA'],
      ['b', 'failed', 'refused', '0x800706BA'],
      ['c', 'verified', undefined, undefined]
    ])
  })

  it('first verified answer wins even when an earlier-ranked host answers later; the earlier one is cancelled', async () => {
    const script = scriptedProbe({ '127.0.0.2:1688': 'manual', '127.0.0.3:1688': 'live' })
    const supply = supplyOf([host('slow', '127.0.0.2'), host('fast', '127.0.0.3')])
    const { ctx } = recorder()
    const running = runFailover(supply, script.probe, { mode: 'staggered', staggerMs: 100 }, ctx)
    await vi.advanceTimersByTimeAsync(100)
    const result = await running
    expect(result.winner?.candidate.host).toBe('fast')
    expect(script.aborted).toEqual(['127.0.0.2:1688'])
  })

  it('a verified answer that arrives after the winner (a probe ignoring the abort) does not count', async () => {
    let releaseSlow!: () => void
    const probe: Probe<string> = (t) =>
      t.address === '127.0.0.2'
        ? new Promise((resolve) => (releaseSlow = () => resolve({ kind: 'verified', answer: 'late', rttMs: 1 })))
        : Promise.resolve({ kind: 'verified', answer: 'first', rttMs: 1 })
    const { ctx, entries } = recorder()
    const running = runFailover(
      supplyOf([host('slow', '127.0.0.2'), host('fast', '127.0.0.3')]),
      probe,
      { mode: 'staggered', staggerMs: 100, abortGraceMs: 5000 },
      ctx
    )
    await vi.advanceTimersByTimeAsync(100)
    releaseSlow()
    const result = await running
    expect(result.winner?.answer).toBe('first')
    expect(
      entries()
        .filter((e) => e.kind === 'attempt-end')
        .map((e) => [e.host, e.outcome])
    ).toEqual([
      ['fast', 'verified'],
      ['slow', 'cancelled']
    ])
  })

  it('never runs more than maxInFlight candidates at once', async () => {
    const behaviour: Record<string, Behaviour> = {}
    const candidates: FailoverCandidate[] = []
    for (let i = 2; i <= 9; i++) {
      behaviour[`127.0.0.${i}:1688`] = 'manual'
      candidates.push(host(`h${i}`, `127.0.0.${i}`))
    }
    const script = scriptedProbe(behaviour)
    const { ctx, entries } = recorder()
    const running = runFailover(supplyOf(candidates), script.probe, { mode: 'staggered', staggerMs: 10, maxInFlight: 3 }, ctx)
    await vi.advanceTimersByTimeAsync(10_000)
    expect(script.started).toEqual(['127.0.0.2:1688', '127.0.0.3:1688', '127.0.0.4:1688'])
    script.release('127.0.0.2:1688', { kind: 'failure', code: 'timeout', message: 'no reply' })
    await vi.advanceTimersByTimeAsync(0)
    expect(script.started).toHaveLength(4)
    script.release('127.0.0.5:1688', { kind: 'verified', answer: 'ok', rttMs: 2 })
    const result = await running
    expect(result.winner?.candidate.host).toBe('h5')
    expect(script.maxRunning()).toBe(3)
    expect(entries().filter((e) => e.kind === 'candidate-start')).toHaveLength(4)
  })

  it('the caller can cancel: pending attempts are aborted and the result says cancelled', async () => {
    const script = scriptedProbe({ '127.0.0.2:1688': 'hang' })
    const controller = new AbortController()
    const { ctx } = recorder()
    const running = runFailover(
      supplyOf([host('h', '127.0.0.2')]),
      script.probe,
      { mode: 'staggered' },
      { ...ctx, signal: controller.signal }
    )
    await vi.advanceTimersByTimeAsync(0)
    controller.abort()
    const result = await running
    expect(result.cancelled).toBe(true)
    expect(result.winner).toBeUndefined()
    expect(result.attempts.map((a) => a.outcome)).toEqual(['cancelled'])
  })

  it('the per-attempt safety timeout turns a probe that never returns into a timeout failure', async () => {
    const script = scriptedProbe({ '127.0.0.2:1688': 'hang', '127.0.0.3:1688': 'live' })
    const { ctx } = recorder()
    const running = runFailover(
      supplyOf([host('h', '127.0.0.2'), host('l', '127.0.0.3')]),
      script.probe,
      { mode: 'sequential', attemptTimeoutMs: 5000 },
      ctx
    )
    await vi.advanceTimersByTimeAsync(5000)
    const result = await running
    expect(result.attempts.map((a) => [a.host, a.outcome, a.code])).toEqual([
      ['h', 'failed', 'timeout'],
      ['l', 'verified', undefined]
    ])
  })
})

describe('sequential failover and addresses', () => {
  it('sequential mode tries one candidate at a time, each after the previous one failed', async () => {
    const script = scriptedProbe({
      '127.0.0.2:1688': 'refuse',
      '127.0.0.3:1688': { fail: 'kms-error', hresult: 0xc004f042 },
      '127.0.0.4:1688': 'live'
    })
    const { ctx, entries } = recorder()
    const result = await runFailover(
      supplyOf([host('a', '127.0.0.2'), host('b', '127.0.0.3'), host('c', '127.0.0.4')]),
      script.probe,
      { mode: 'sequential' },
      ctx
    )
    expect(script.maxRunning()).toBe(1)
    const steps = entries()
      .filter((e) => e.kind === 'attempt-start' || e.kind === 'attempt-end')
      .map((e) => `${e.kind === 'attempt-start' ? 'start' : 'end'} ${e.host}`)
    expect(steps).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c'])
    expect(result.attempts[1]).toMatchObject({ code: 'kms-error', hresult: 0xc004f042, windowsCode: '0xC004F042' })
  })

  it('a host with several addresses: the addresses are tried in order within one candidate', async () => {
    const script = scriptedProbe({ '127.0.0.2:1688': 'refuse', '127.0.0.3:1688': 'live' })
    const { ctx, entries } = recorder()
    const result = await runFailover(supplyOf([host('multi', '127.0.0.2', 1688, ['127.0.0.3'])]), script.probe, { mode: 'sequential' }, ctx)
    expect(result.winner).toMatchObject({ address: '127.0.0.3', candidateIndex: 1 })
    expect(entries().filter((e) => e.kind === 'candidate-start')).toHaveLength(1)
    expect(result.attempts.map((a) => [a.candidate, a.address, a.outcome])).toEqual([
      [1, '127.0.0.2', 'failed'],
      [1, '127.0.0.3', 'verified']
    ])
  })

  it('a candidate without addresses is probed by name; all failing gives no winner', async () => {
    const seen: ProbeTarget[] = []
    const probe: Probe<string> = async (t) => {
      seen.push(t)
      return { kind: 'failure', code: 'name-not-found', message: 'no such host' }
    }
    const { ctx } = recorder()
    const result = await runFailover(
      supplyOf([{ host: 'kms.example.test', port: 1688, source: 'manual', addresses: [] }]),
      probe,
      { mode: 'staggered' },
      ctx
    )
    expect(seen).toEqual([{ host: 'kms.example.test', port: 1688 }])
    expect(result.winner).toBeUndefined()
    expect(result.attempts[0]).toMatchObject({ outcome: 'failed', code: 'name-not-found', windowsCode: '0x8007232B' })
  })

  it('every host failing: no winner, and the result lists every attempt of every candidate, in order', async () => {
    const script = scriptedProbe({
      '127.0.0.2:1688': 'refuse',
      '127.0.0.3:1688': { fail: 'kms-error', hresult: 0xc004f042 },
      '127.0.0.4:1688': 'refuse'
    })
    const supply = supplyOf([host('a', '127.0.0.2', 1688, ['127.0.0.3']), host('b', '127.0.0.4')])
    const { ctx, entries } = recorder()
    const result = await runFailover(supply, script.probe, { mode: 'staggered', staggerMs: 60_000 }, ctx)
    expect(result).toMatchObject({ cancelled: false, candidatesStarted: 2 })
    expect(result.winner).toBeUndefined()
    expect(result.attempts.map((a) => [a.attempt, a.candidate, a.host, a.address, a.outcome, a.code])).toEqual([
      [1, 1, 'a', '127.0.0.2', 'failed', 'refused'],
      [2, 1, 'a', '127.0.0.3', 'failed', 'kms-error'],
      [3, 2, 'b', '127.0.0.4', 'failed', 'refused']
    ])
    expect(supply.failedHosts).toEqual(['a', 'b'])
    expect(
      entries()
        .filter((e) => e.kind === 'candidate-failed')
        .map((e) => e.host)
    ).toEqual(['a', 'b'])
  })

  it('a probe that throws is recorded as an internal failure, not a crash', async () => {
    const probe: Probe<string> = async () => {
      throw new Error('boom')
    }
    const { ctx } = recorder()
    const result = await runFailover(supplyOf([host('x', '127.0.0.2')]), probe, { mode: 'sequential' }, ctx)
    expect(result.attempts[0]).toMatchObject({ outcome: 'failed', code: 'internal' })
    expect(result.attempts[0]!.message).toContain('boom')
  })

  it('an empty supply ends at once without attempts', async () => {
    const { ctx } = recorder()
    const result = await runFailover(supplyOf([]), scriptedProbe({}).probe, { mode: 'staggered' }, ctx)
    expect(result).toMatchObject({ attempts: [], candidatesStarted: 0, cancelled: false })
  })
})

describe('cancelled probes that do not stop', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('are recorded as cancelled after the grace period, so the flow never hangs on them', async () => {
    const probe: Probe<string> = (t) =>
      t.address === '127.0.0.2' ? new Promise(() => {}) : Promise.resolve({ kind: 'verified', answer: 'ok', rttMs: 1 })
    const { ctx, entries } = recorder()
    const running = runFailover(
      supplyOf([host('stuck', '127.0.0.2'), host('live', '127.0.0.3')]),
      probe,
      { mode: 'staggered', staggerMs: 10, abortGraceMs: 500 },
      ctx
    )
    await vi.advanceTimersByTimeAsync(10)
    await vi.advanceTimersByTimeAsync(500)
    const result = await running
    expect(result.winner?.candidate.host).toBe('live')
    const stuck = entries().find((e) => e.kind === 'attempt-end' && e.host === 'stuck')
    expect(stuck).toMatchObject({ outcome: 'cancelled', message: expect.stringContaining('did not stop in time') })
  })
})
