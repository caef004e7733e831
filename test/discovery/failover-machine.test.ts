/**
 * The failover state machine, driven one event at a time: no timers, probes or promises. Each step checks the
 * exact actions the driver would perform, so the schedule (stagger, in-flight limit, first verified answer wins,
 * draining, abort) is pinned down independently of the driver in failover.ts.
 */
import { describe, expect, it } from 'vitest'
import {
  FailoverMachineError,
  initialFailoverState,
  runningCount,
  transition,
  type FailoverAction,
  type FailoverEvent,
  type FailoverMachineConfig,
  type FailoverMachineState
} from '../../src-main/discovery/failover-machine'

const STAGGERED: FailoverMachineConfig = { mode: 'staggered', staggerMs: 250, maxInFlight: 8 }
const SEQUENTIAL: FailoverMachineConfig = { mode: 'sequential', staggerMs: 250, maxInFlight: 8 }

/** Holds the state between steps; `send` returns the actions of one step. */
function machine(config: FailoverMachineConfig): {
  send: (event: FailoverEvent) => readonly FailoverAction[]
  state: () => FailoverMachineState
} {
  let state = initialFailoverState()
  return {
    send: (event) => {
      const step = transition(state, event, config)
      state = step.state
      return step.actions
    },
    state: () => state
  }
}

const drawn = (addresses = 1): FailoverEvent => ({ type: 'candidate-drawn', addresses })
const failed = (candidate: number): FailoverEvent => ({ type: 'attempt-failed', candidate })
const verified = (candidate: number): FailoverEvent => ({ type: 'attempt-verified', candidate })
const TIMER: FailoverEvent = { type: 'stagger-timer-fired' }
const EXHAUSTED: FailoverEvent = { type: 'supply-exhausted' }

describe('failover machine: staggered start', () => {
  it('starts the first candidate at once and each next one when the stagger timer fires, re-arming it every time', () => {
    const m = machine(STAGGERED)
    expect(m.send({ type: 'start' })).toEqual([{ type: 'draw-candidate', reason: 'first' }])
    expect(m.send(drawn())).toEqual([
      { type: 'start-candidate', candidate: 0, reason: 'first', inFlight: 0 },
      { type: 'start-attempt', candidate: 0, addressIndex: 0 },
      { type: 'arm-stagger-timer', delayMs: 250 }
    ])
    expect(m.send(TIMER)).toEqual([{ type: 'draw-candidate', reason: 'stagger' }])
    expect(m.send(drawn())).toEqual([
      { type: 'start-candidate', candidate: 1, reason: 'stagger', inFlight: 1 },
      { type: 'start-attempt', candidate: 1, addressIndex: 0 },
      { type: 'arm-stagger-timer', delayMs: 250 }
    ])
    expect(m.send(TIMER)).toEqual([{ type: 'draw-candidate', reason: 'stagger' }])
    expect(m.send(drawn())[0]).toEqual({ type: 'start-candidate', candidate: 2, reason: 'stagger', inFlight: 2 })
    expect(m.state()).toMatchObject({ phase: 'running', staggerTimerArmed: true })
    expect(runningCount(m.state())).toBe(3)
  })

  it('a failure starts the next candidate at once, before the stagger timer fires', () => {
    const m = machine(STAGGERED)
    m.send({ type: 'start' })
    m.send(drawn())
    expect(m.state().staggerTimerArmed).toBe(true)
    expect(m.send(failed(0))).toEqual([
      { type: 'candidate-failed', candidate: 0 },
      { type: 'draw-candidate', reason: 'previous-failed' }
    ])
    expect(m.send(drawn())).toEqual([
      { type: 'start-candidate', candidate: 1, reason: 'previous-failed', inFlight: 0 },
      { type: 'start-attempt', candidate: 1, addressIndex: 0 },
      // The new candidate gets a full stagger interval of its own.
      { type: 'arm-stagger-timer', delayMs: 250 }
    ])
    expect(m.state().candidates.map((c) => c.status)).toEqual(['failed', 'running'])
  })

  it('at the in-flight limit a stagger tick starts nothing; the next failure frees a slot and starts the next', () => {
    const m = machine({ ...STAGGERED, maxInFlight: 2 })
    m.send({ type: 'start' })
    m.send(drawn())
    m.send(TIMER)
    m.send(drawn())
    expect(m.send(TIMER)).toEqual([])
    expect(m.state().staggerTimerArmed).toBe(false)
    // A late tick of a timer the machine no longer counts on changes nothing either.
    expect(m.send(TIMER)).toEqual([])
    expect(m.send(failed(1))).toEqual([
      { type: 'candidate-failed', candidate: 1 },
      { type: 'draw-candidate', reason: 'previous-failed' }
    ])
    expect(m.send(drawn())[0]).toEqual({ type: 'start-candidate', candidate: 2, reason: 'previous-failed', inFlight: 1 })
  })
})

describe('failover machine: the end of the run', () => {
  it('the first verified answer wins, even from a later-ranked candidate, and aborts the rest', () => {
    const m = machine(STAGGERED)
    m.send({ type: 'start' })
    for (let i = 0; i < 3; i++) {
      m.send(drawn())
      if (i < 2) m.send(TIMER)
    }
    expect(m.send(verified(2))).toEqual([
      { type: 'cancel-stagger-timer' },
      { type: 'abort-pending-attempts' },
      { type: 'finish', outcome: 'verified', winner: 2 }
    ])
    const done = m.state()
    expect(done).toMatchObject({ phase: 'done', outcome: 'verified', winner: 2, staggerTimerArmed: false })
    // Results that arrive after the end (a probe ignoring its abort, even with a verified answer) change nothing.
    expect(m.send(verified(0))).toEqual([])
    expect(m.send(failed(1))).toEqual([])
    expect(m.send(TIMER)).toEqual([])
    expect(m.state()).toBe(done)
  })

  it('a verified answer from the only running candidate finishes without aborting anything', () => {
    const m = machine(STAGGERED)
    m.send({ type: 'start' })
    m.send(drawn())
    m.send(failed(0))
    m.send(drawn())
    expect(m.send(verified(1))).toEqual([{ type: 'cancel-stagger-timer' }, { type: 'finish', outcome: 'verified', winner: 1 }])
  })

  it('all failed: once the supply is empty the run drains, and the last failure finishes it', () => {
    const m = machine(STAGGERED)
    m.send({ type: 'start' })
    m.send(drawn())
    m.send(TIMER)
    m.send(drawn())
    expect(m.send(TIMER)).toEqual([{ type: 'draw-candidate', reason: 'stagger' }])
    expect(m.send(EXHAUSTED)).toEqual([])
    expect(m.state().phase).toBe('draining')
    expect(m.send(failed(0))).toEqual([{ type: 'candidate-failed', candidate: 0 }])
    expect(m.send(failed(1))).toEqual([
      { type: 'candidate-failed', candidate: 1 },
      { type: 'finish', outcome: 'all-failed' }
    ])
    expect(m.state()).toMatchObject({ phase: 'done', outcome: 'all-failed' })
    expect(m.state().winner).toBeUndefined()
  })

  it('a supply that runs dry with nothing running finishes at once, cancelling an armed stagger timer', () => {
    const m = machine(STAGGERED)
    m.send({ type: 'start' })
    m.send(drawn())
    m.send(failed(0))
    expect(m.send(EXHAUSTED)).toEqual([{ type: 'cancel-stagger-timer' }, { type: 'finish', outcome: 'all-failed' }])

    const empty = machine(STAGGERED)
    empty.send({ type: 'start' })
    expect(empty.send(EXHAUSTED)).toEqual([{ type: 'finish', outcome: 'all-failed' }])
    expect(empty.state().candidates).toEqual([])
  })

  it('the caller aborts: running attempts are aborted and the run finishes as cancelled', () => {
    const m = machine(STAGGERED)
    m.send({ type: 'start' })
    m.send(drawn())
    expect(m.send({ type: 'aborted' })).toEqual([
      { type: 'cancel-stagger-timer' },
      { type: 'abort-pending-attempts' },
      { type: 'finish', outcome: 'cancelled' }
    ])
    expect(m.state()).toMatchObject({ phase: 'done', outcome: 'cancelled' })
    expect(m.send(failed(0))).toEqual([])
  })

  it('an abort before the start, or while a draw is pending, finishes at once; a late draw is ignored', () => {
    const before = machine(STAGGERED)
    expect(before.send({ type: 'aborted' })).toEqual([{ type: 'finish', outcome: 'cancelled' }])
    expect(before.send({ type: 'start' })).toEqual([])

    const drawing = machine(STAGGERED)
    drawing.send({ type: 'start' })
    expect(drawing.send({ type: 'aborted' })).toEqual([{ type: 'finish', outcome: 'cancelled' }])
    expect(drawing.send(drawn())).toEqual([])
    expect(drawing.state().candidates).toEqual([])
  })
})

describe('failover machine: sequential mode and addresses', () => {
  it('sequential: one candidate at a time and no stagger timer; each next one waits out the failure before it', () => {
    const m = machine(SEQUENTIAL)
    m.send({ type: 'start' })
    expect(m.send(drawn())).toEqual([
      { type: 'start-candidate', candidate: 0, reason: 'first', inFlight: 0 },
      { type: 'start-attempt', candidate: 0, addressIndex: 0 }
    ])
    expect(m.state().staggerTimerArmed).toBe(false)
    expect(m.send(failed(0))).toEqual([
      { type: 'candidate-failed', candidate: 0 },
      { type: 'draw-candidate', reason: 'previous-failed' }
    ])
    expect(m.send(drawn())).toEqual([
      { type: 'start-candidate', candidate: 1, reason: 'previous-failed', inFlight: 0 },
      { type: 'start-attempt', candidate: 1, addressIndex: 0 }
    ])
    expect(runningCount(m.state())).toBe(1)
    expect(m.send(failed(1))).toEqual([
      { type: 'candidate-failed', candidate: 1 },
      { type: 'draw-candidate', reason: 'previous-failed' }
    ])
    expect(m.send(EXHAUSTED)).toEqual([{ type: 'finish', outcome: 'all-failed' }])
  })

  it('a candidate with several addresses tries them in order before it counts as failed', () => {
    const m = machine(SEQUENTIAL)
    m.send({ type: 'start' })
    m.send(drawn(3))
    expect(m.send(failed(0))).toEqual([{ type: 'start-attempt', candidate: 0, addressIndex: 1 }])
    expect(m.send(failed(0))).toEqual([{ type: 'start-attempt', candidate: 0, addressIndex: 2 }])
    expect(m.send(failed(0))).toEqual([
      { type: 'candidate-failed', candidate: 0 },
      { type: 'draw-candidate', reason: 'previous-failed' }
    ])
  })

  it('a candidate without addresses gets one attempt, by name', () => {
    const m = machine(SEQUENTIAL)
    m.send({ type: 'start' })
    expect(m.send(drawn(0))).toContainEqual({ type: 'start-attempt', candidate: 0, addressIndex: 0 })
    expect(m.send(failed(0))[0]).toEqual({ type: 'candidate-failed', candidate: 0 })
  })
})

describe('failover machine: contract', () => {
  it('never changes the state it is given', () => {
    let state = deepFreeze(initialFailoverState())
    const events: FailoverEvent[] = [
      { type: 'start' },
      drawn(2),
      TIMER,
      drawn(),
      failed(0),
      failed(0),
      { type: 'candidate-drawn', addresses: 1 },
      verified(2)
    ]
    // Strict-mode writes to a frozen object throw, so any mutation fails the test.
    for (const event of events) state = deepFreeze(transition(state, event, STAGGERED).state)
    expect(state).toMatchObject({ phase: 'done', winner: 2 })
  })

  it('events that cannot happen in the current state are driver bugs and throw', () => {
    const m = machine(STAGGERED)
    expect(() => m.send(drawn())).toThrow(FailoverMachineError)
    m.send({ type: 'start' })
    expect(() => m.send({ type: 'start' })).toThrow(FailoverMachineError)
    m.send(drawn())
    expect(() => m.send(failed(5))).toThrow(/candidate 5, which is not running/)
    expect(() => m.send(EXHAUSTED)).toThrow(FailoverMachineError)
  })
})

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const inner of Object.values(value)) deepFreeze(inner)
  }
  return value
}
