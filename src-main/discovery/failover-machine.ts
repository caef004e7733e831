/**
 * The failover schedule as a pure state machine: which candidate starts when, which address it tries next, and
 * when the run is over. No timers, probes or trace here — `transition` takes the current state and one event and
 * returns the next state plus the actions the driver (./failover.ts) must perform, in order. That keeps the
 * policy (stagger, in-flight limit, first verified answer wins) testable step by step without clocks or sockets.
 *
 * Candidates are numbered 0, 1, 2 … in the order they were drawn; the driver maps these numbers to its candidate
 * objects and to the flow-wide numbering in the trace.
 *
 * Phases:
 *   idle     — nothing started yet;
 *   running  — candidates may still be drawn from the supply;
 *   draining — the supply is empty; waiting for the candidates still running;
 *   done     — a verified answer, every candidate failed, or the caller gave up. Later events change nothing
 *              (a probe that ignores its abort may still report after the end).
 *
 * Reentrancy: a `draw-candidate` action is always the last action of a step, because what happens next depends on
 * the draw's result (`candidate-drawn` or `supply-exhausted`), which the driver feeds back as the next event.
 */

export type FailoverMode = 'staggered' | 'sequential'

/** Why a candidate starts now (the `reason` of the trace's candidate-start). */
export type CandidateStartReason = 'first' | 'stagger' | 'previous-failed'

export type FailoverPhase = 'idle' | 'running' | 'draining' | 'done'

export type FailoverOutcome = 'verified' | 'all-failed' | 'cancelled'

export interface FailoverMachineConfig {
  readonly mode: FailoverMode
  readonly staggerMs: number
  /** Ignored in sequential mode, which runs one candidate at a time by definition. */
  readonly maxInFlight: number
}

export interface CandidateProgress {
  /** Attempts this candidate gets: one per address, or one by name when it has no address. */
  readonly attemptCount: number
  /** Index of the address being tried now (or last tried). */
  readonly addressIndex: number
  readonly status: 'running' | 'failed' | 'verified'
}

export interface FailoverMachineState {
  readonly phase: FailoverPhase
  /** Every candidate drawn so far, in draw order (the index is the candidate number). */
  readonly candidates: readonly CandidateProgress[]
  /** Set while a draw-candidate action waits for its answer. */
  readonly pendingDraw?: CandidateStartReason
  readonly staggerTimerArmed: boolean
  /** Set in phase 'done'. */
  readonly outcome?: FailoverOutcome
  /** The candidate whose attempt was verified first. */
  readonly winner?: number
}

export type FailoverEvent =
  | { readonly type: 'start' }
  /** The supply gave a candidate with this many addresses (0: connect by name). */
  | { readonly type: 'candidate-drawn'; readonly addresses: number }
  | { readonly type: 'supply-exhausted' }
  | { readonly type: 'attempt-verified'; readonly candidate: number }
  | { readonly type: 'attempt-failed'; readonly candidate: number }
  | { readonly type: 'stagger-timer-fired' }
  /** The caller's signal was aborted. */
  | { readonly type: 'aborted' }

export type FailoverAction =
  /** Ask the supply for the next candidate and report `candidate-drawn` or `supply-exhausted`. */
  | { readonly type: 'draw-candidate'; readonly reason: CandidateStartReason }
  /** Announce the candidate just drawn; `inFlight` candidates were already running. */
  | { readonly type: 'start-candidate'; readonly candidate: number; readonly reason: CandidateStartReason; readonly inFlight: number }
  | { readonly type: 'start-attempt'; readonly candidate: number; readonly addressIndex: number }
  /** (Re)arm the stagger timer: replaces a timer that is still armed. */
  | { readonly type: 'arm-stagger-timer'; readonly delayMs: number }
  | { readonly type: 'cancel-stagger-timer' }
  /** Every address of the candidate failed: report it (and let the supply drop the host's other records). */
  | { readonly type: 'candidate-failed'; readonly candidate: number }
  /** Abort every attempt still running (another host answered, or the caller gave up). */
  | { readonly type: 'abort-pending-attempts' }
  | { readonly type: 'finish'; readonly outcome: FailoverOutcome; readonly winner?: number }

export interface FailoverStep {
  readonly state: FailoverMachineState
  readonly actions: readonly FailoverAction[]
}

export function initialFailoverState(): FailoverMachineState {
  return { phase: 'idle', candidates: [], staggerTimerArmed: false }
}

/** Candidates whose attempts are still running. */
export function runningCount(state: FailoverMachineState): number {
  return state.candidates.filter((c) => c.status === 'running').length
}

export function transition(state: FailoverMachineState, event: FailoverEvent, config: FailoverMachineConfig): FailoverStep {
  if (state.phase === 'done') return { state, actions: [] }
  switch (event.type) {
    case 'start':
      if (state.phase !== 'idle') throw new FailoverMachineError(`'start' in phase ${state.phase}`)
      return drawNext({ ...state, phase: 'running' }, 'first', config)

    case 'aborted':
      return end(state, 'cancelled')

    case 'candidate-drawn': {
      const reason = requirePendingDraw(state, event.type)
      const candidate = state.candidates.length
      const inFlight = runningCount(state)
      const next: FailoverMachineState = {
        ...withoutPendingDraw(state),
        candidates: [...state.candidates, { attemptCount: Math.max(1, event.addresses), addressIndex: 0, status: 'running' }],
        staggerTimerArmed: config.mode === 'staggered'
      }
      return {
        state: next,
        actions: [
          { type: 'start-candidate', candidate, reason, inFlight },
          { type: 'start-attempt', candidate, addressIndex: 0 },
          // Every start restarts the stagger interval, so each candidate gets a full head start on the next one.
          ...(config.mode === 'staggered' ? [{ type: 'arm-stagger-timer', delayMs: config.staggerMs } as const] : [])
        ]
      }
    }

    case 'supply-exhausted': {
      requirePendingDraw(state, event.type)
      const next: FailoverMachineState = { ...withoutPendingDraw(state), phase: 'draining', staggerTimerArmed: false }
      const cancelTimer: FailoverAction[] = state.staggerTimerArmed ? [{ type: 'cancel-stagger-timer' }] : []
      if (runningCount(next) > 0) return { state: next, actions: cancelTimer }
      const finished = end(next, 'all-failed')
      return { state: finished.state, actions: [...cancelTimer, ...finished.actions] }
    }

    case 'stagger-timer-fired':
      // A timer the machine no longer counts on (cancelled, but its callback was already queued) changes nothing.
      if (!state.staggerTimerArmed) return { state, actions: [] }
      // With the in-flight limit reached nothing starts and the timer stays unarmed: the next failure starts the
      // next candidate instead.
      return drawNext({ ...state, staggerTimerArmed: false }, 'stagger', config)

    case 'attempt-verified': {
      requireRunning(state, event.candidate, event.type)
      const next = updateCandidate(state, event.candidate, { status: 'verified' })
      return end({ ...next, winner: event.candidate }, 'verified')
    }

    case 'attempt-failed': {
      const progress = requireRunning(state, event.candidate, event.type)
      if (progress.addressIndex + 1 < progress.attemptCount) {
        // The host's next address, within the same candidate: no new candidate, no stagger.
        const addressIndex = progress.addressIndex + 1
        return {
          state: updateCandidate(state, event.candidate, { addressIndex }),
          actions: [{ type: 'start-attempt', candidate: event.candidate, addressIndex }]
        }
      }
      const next = updateCandidate(state, event.candidate, { status: 'failed' })
      const failed: FailoverAction = { type: 'candidate-failed', candidate: event.candidate }
      if (next.phase === 'draining') {
        if (runningCount(next) > 0) return { state: next, actions: [failed] }
        const finished = end(next, 'all-failed')
        return { state: finished.state, actions: [failed, ...finished.actions] }
      }
      // A slot is free: start the next candidate now instead of waiting for the stagger timer.
      const drawn = drawNext(next, 'previous-failed', config)
      return { state: drawn.state, actions: [failed, ...drawn.actions] }
    }
  }
}

/** A driver bug: an event that cannot happen in the current state. */
export class FailoverMachineError extends Error {
  constructor(problem: string) {
    super(`failover state machine: ${problem}`)
    this.name = 'FailoverMachineError'
  }
}

function drawNext(state: FailoverMachineState, reason: CandidateStartReason, config: FailoverMachineConfig): FailoverStep {
  if (state.phase !== 'running' || state.pendingDraw !== undefined || runningCount(state) >= inFlightLimit(config))
    return { state, actions: [] }
  return { state: { ...state, pendingDraw: reason }, actions: [{ type: 'draw-candidate', reason }] }
}

function end(state: FailoverMachineState, outcome: FailoverOutcome): FailoverStep {
  const actions: FailoverAction[] = []
  if (state.staggerTimerArmed) actions.push({ type: 'cancel-stagger-timer' })
  if (runningCount(state) > 0) actions.push({ type: 'abort-pending-attempts' })
  actions.push({ type: 'finish', outcome, ...(state.winner !== undefined ? { winner: state.winner } : {}) })
  return { state: { ...withoutPendingDraw(state), phase: 'done', outcome, staggerTimerArmed: false }, actions }
}

function inFlightLimit(config: FailoverMachineConfig): number {
  return config.mode === 'sequential' ? 1 : Math.max(1, config.maxInFlight)
}

function withoutPendingDraw(state: FailoverMachineState): FailoverMachineState {
  const { pendingDraw: _pendingDraw, ...rest } = state
  return rest
}

function updateCandidate(state: FailoverMachineState, index: number, change: Partial<CandidateProgress>): FailoverMachineState {
  return { ...state, candidates: state.candidates.map((c, i) => (i === index ? { ...c, ...change } : c)) }
}

function requirePendingDraw(state: FailoverMachineState, event: string): CandidateStartReason {
  if (state.pendingDraw === undefined) throw new FailoverMachineError(`'${event}' without a draw-candidate action`)
  return state.pendingDraw
}

function requireRunning(state: FailoverMachineState, candidate: number, event: string): CandidateProgress {
  const progress = state.candidates[candidate]
  if (progress?.status !== 'running') throw new FailoverMachineError(`'${event}' for candidate ${candidate}, which is not running`)
  return progress
}
