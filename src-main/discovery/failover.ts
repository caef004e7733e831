/**
 * Trying KMS host candidates until one gives a verified answer: strict sequential (what a Windows client does —
 * it waits out each dead host) or staggered (fast failover).
 *
 * Staggered: the first candidate starts at once; the next one starts when the stagger timer (default 250 ms)
 * fires while earlier ones are still pending, or at once when every running candidate has failed. Candidates
 * are drawn lazily from the supply (SRV selection draws one record at a time), so the ranking's preference is
 * kept: an earlier-ranked host always starts first and has a head start of at least one stagger interval.
 *
 * DECISION (first verified answer wins): the first candidate whose answer passes verification wins, even if an
 * earlier-ranked candidate is still pending — waiting for the earlier one could cost a full timeout, which is
 * exactly what fast failover avoids. A failure (refused, timeout, bad answer, HRESULT refusal) never wins. Once
 * a winner is known every other pending attempt is cancelled through its AbortSignal and recorded as
 * `cancelled`. With 3 hanging hosts ranked first and staggerMs 250, the live host starts at ≈750 ms.
 *
 * Within one candidate (a host with several addresses) the addresses are tried one after another, in order.
 *
 * The schedule itself (who starts when, when the run ends) is the pure state machine in ./failover-machine.ts;
 * this file is its driver: timers, the candidate supply, probes, attempt records and the trace.
 */
import { windowsCodeForProbeFailure, formatCode } from './error-map'
import {
  initialFailoverState,
  transition,
  type FailoverAction,
  type FailoverEvent,
  type FailoverMachineConfig,
  type FailoverMachineState,
  type FailoverMode
} from './failover-machine'
import type { Probe, ProbeFailureCode, ProbeOutcome, ProbeTarget } from './probe'
import type { CandidateSource, TraceInput } from './trace'

export type { FailoverMode } from './failover-machine'

export const DEFAULT_STAGGER_MS = 250
/** Most candidates running at once in staggered mode (bounds sockets when many hosts hang). */
const DEFAULT_MAX_IN_FLIGHT = 8
/** How long cancelled probes get to settle before the flow stops waiting for them. */
const DEFAULT_ABORT_GRACE_MS = 2000

export interface FailoverCandidate {
  readonly host: string
  readonly port: number
  readonly source: CandidateSource
  /** Addresses to try in order; empty → connect by name (the OS resolves it). */
  readonly addresses: readonly string[]
}

export interface CandidateSupply<C extends FailoverCandidate> {
  /** Draws the next candidate, or undefined when none is left. */
  next(): C | undefined
  /** Called when every address of a candidate failed (e.g. to remove the host's other SRV records). */
  failed?(candidate: C, reason: string): void
}

export interface FailoverOptions {
  readonly mode: FailoverMode
  readonly staggerMs?: number
  readonly maxInFlight?: number
  /**
   * Safety net per attempt: abort the probe and count a timeout after this long. The probe's own connect/bind/
   * request timeouts normally end a hanging attempt first; undefined = rely on them.
   */
  readonly attemptTimeoutMs?: number
  readonly abortGraceMs?: number
}

/** One attempt at one address of one candidate, as reported. */
export interface AttemptRecord {
  readonly attempt: number
  readonly candidate: number
  readonly source: CandidateSource
  readonly host: string
  readonly port: number
  readonly address?: string
  readonly startedAtMs: number
  readonly durationMs: number
  /** 'cancelled': aborted by the flow because another host answered first (or the caller gave up). */
  readonly outcome: 'verified' | 'failed' | 'cancelled'
  readonly code?: ProbeFailureCode
  readonly message?: string
  readonly phase?: string
  readonly hresult?: number
  /** Closest Windows code, `0x…` (see error-map.ts). */
  readonly windowsCode?: string
  readonly rttMs?: number
}

export interface FailoverWinner<A, C extends FailoverCandidate> {
  readonly candidate: C
  readonly candidateIndex: number
  readonly attempt: number
  readonly address?: string
  readonly answer: A
  readonly rttMs: number
}

export interface FailoverResult<A, C extends FailoverCandidate> {
  readonly winner?: FailoverWinner<A, C>
  readonly attempts: AttemptRecord[]
  readonly candidatesStarted: number
  /** True when the caller's signal ended the run. */
  readonly cancelled: boolean
}

/** Numbering shared by the stages of one flow, so candidate/attempt numbers are unique in the trace. */
export interface FailoverCounters {
  candidates: number
  attempts: number
}

export interface FailoverContext {
  readonly emit: (event: TraceInput) => void
  /** Milliseconds since the flow started. */
  readonly elapsed: () => number
  readonly signal?: AbortSignal
  readonly counters?: FailoverCounters
}

/**
 * Runs the failover: feeds the state machine (./failover-machine.ts) its events and performs its actions with
 * real timers, the supply and the probe. Resolves once the machine has finished and cancelled probes have
 * settled (or the grace period ran out); never rejects for a probe's failure.
 */
export function runFailover<A, C extends FailoverCandidate>(
  supply: CandidateSupply<C>,
  probe: Probe<A>,
  options: FailoverOptions,
  context: FailoverContext
): Promise<FailoverResult<A, C>> {
  return new FailoverDriver(supply, probe, options, context).run()
}

/** An attempt whose probe has not settled yet. */
interface PendingAttempt {
  readonly settled: Promise<void>
  /** Records the attempt as cancelled (used when the probe ignores its abort past the grace period). */
  readonly cancelAfterGrace: () => void
}

/** A drawn candidate and its number in the flow-wide trace (assigned when it starts). */
interface DrawnCandidate<C> {
  readonly candidate: C
  traceIndex: number
}

class FailoverDriver<A, C extends FailoverCandidate> {
  private readonly machineConfig: FailoverMachineConfig
  private readonly graceMs: number
  private readonly counters: FailoverCounters
  private state: FailoverMachineState = initialFailoverState()
  /** Events raised while actions are being performed wait here, so the machine sees one event at a time. */
  private readonly eventQueue: FailoverEvent[] = []
  private dispatching = false
  /** Indexed by the machine's candidate number. */
  private readonly drawn: DrawnCandidate<C>[] = []
  private readonly attempts: AttemptRecord[] = []
  private readonly pending = new Map<number, PendingAttempt>()
  /** Aborting it aborts every running probe. */
  private readonly stopAll = new AbortController()
  private staggerTimer: ReturnType<typeof setTimeout> | undefined
  private winner: FailoverWinner<A, C> | undefined
  private resolve!: (result: FailoverResult<A, C>) => void
  private readonly onCallerAbort = (): void => this.dispatch({ type: 'aborted' })

  constructor(
    private readonly supply: CandidateSupply<C>,
    private readonly probe: Probe<A>,
    private readonly options: FailoverOptions,
    private readonly context: FailoverContext
  ) {
    this.machineConfig = {
      mode: options.mode,
      staggerMs: options.staggerMs ?? DEFAULT_STAGGER_MS,
      maxInFlight: options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT
    }
    this.graceMs = options.abortGraceMs ?? DEFAULT_ABORT_GRACE_MS
    this.counters = context.counters ?? { candidates: 0, attempts: 0 }
  }

  run(): Promise<FailoverResult<A, C>> {
    return new Promise((resolve) => {
      this.resolve = resolve
      if (this.context.signal?.aborted) {
        this.dispatch({ type: 'aborted' })
        return
      }
      this.context.signal?.addEventListener('abort', this.onCallerAbort, { once: true })
      this.dispatch({ type: 'start' })
    })
  }

  private dispatch(event: FailoverEvent): void {
    this.eventQueue.push(event)
    if (this.dispatching) return
    this.dispatching = true
    try {
      for (let next = this.eventQueue.shift(); next !== undefined; next = this.eventQueue.shift()) {
        const step = transition(this.state, next, this.machineConfig)
        this.state = step.state
        for (const action of step.actions) this.perform(action)
      }
    } finally {
      // Only non-empty when an action threw (a throwing supply or trace sink): the run cannot go on consistently,
      // so its leftover events are dropped rather than fed to the machine by the next unrelated dispatch.
      this.dispatching = false
      this.eventQueue.length = 0
    }
  }

  private perform(action: FailoverAction): void {
    switch (action.type) {
      case 'draw-candidate': {
        const candidate = this.supply.next()
        if (candidate === undefined) {
          this.dispatch({ type: 'supply-exhausted' })
          return
        }
        this.drawn.push({ candidate, traceIndex: 0 })
        this.dispatch({ type: 'candidate-drawn', addresses: candidate.addresses.length })
        return
      }
      case 'start-candidate': {
        const entry = this.drawnAt(action.candidate)
        entry.traceIndex = ++this.counters.candidates
        const { candidate } = entry
        this.context.emit({
          kind: 'candidate-start',
          candidate: entry.traceIndex,
          source: candidate.source,
          host: candidate.host,
          port: candidate.port,
          addresses: [...candidate.addresses],
          reason: action.reason,
          inFlight: action.inFlight
        })
        return
      }
      case 'start-attempt':
        this.startAttempt(action.candidate, action.addressIndex)
        return
      case 'arm-stagger-timer':
        this.cancelStaggerTimer()
        this.staggerTimer = setTimeout(() => {
          this.staggerTimer = undefined
          this.dispatch({ type: 'stagger-timer-fired' })
        }, action.delayMs)
        return
      case 'cancel-stagger-timer':
        this.cancelStaggerTimer()
        return
      case 'candidate-failed': {
        const { candidate, traceIndex } = this.drawnAt(action.candidate)
        const reason = 'no verified answer from any of its addresses'
        this.context.emit({ kind: 'candidate-failed', candidate: traceIndex, host: candidate.host, port: candidate.port, reason })
        this.supply.failed?.(candidate, reason)
        return
      }
      case 'abort-pending-attempts':
        this.stopAll.abort()
        return
      case 'finish':
        this.finish(action.outcome === 'cancelled')
        return
    }
  }

  private drawnAt(candidate: number): DrawnCandidate<C> {
    const entry = this.drawn[candidate]
    if (entry === undefined) throw new Error(`failover: no candidate ${candidate} was drawn`)
    return entry
  }

  private cancelStaggerTimer(): void {
    if (this.staggerTimer !== undefined) clearTimeout(this.staggerTimer)
    this.staggerTimer = undefined
  }

  /** One probe of one address of one candidate; its result goes back to the machine as an event. */
  private startAttempt(candidateNumber: number, addressIndex: number): void {
    const { candidate, traceIndex } = this.drawnAt(candidateNumber)
    const address: string | undefined = candidate.addresses[addressIndex]
    const { emit, elapsed } = this.context
    const attempt = ++this.counters.attempts
    const startedAtMs = elapsed()
    const base = {
      attempt,
      candidate: traceIndex,
      host: candidate.host,
      port: candidate.port,
      ...(address !== undefined ? { address } : {})
    }
    emit({ kind: 'attempt-start', ...base })

    const own = new AbortController()
    const stop = (): void => own.abort()
    this.stopAll.signal.addEventListener('abort', stop, { once: true })
    let timedOut = false
    const attemptTimeoutMs = this.options.attemptTimeoutMs
    const timer =
      attemptTimeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true
            own.abort()
          }, attemptTimeoutMs)

    // An attempt is recorded once: by its probe's result, or as cancelled when the grace period runs out first.
    let recorded = false
    const record = (fields: AttemptResultFields): void => {
      if (recorded) return
      recorded = true
      const full: AttemptRecord = { ...base, source: candidate.source, startedAtMs, durationMs: round(elapsed() - startedAtMs), ...fields }
      this.attempts.push(full)
      const { source: _source, hresult: _hresult, ...event } = full
      emit({ kind: 'attempt-end', ...event })
    }
    let settle!: () => void
    const settled = new Promise<void>((r) => (settle = r))
    this.pending.set(attempt, {
      settled,
      cancelAfterGrace: () =>
        record({ outcome: 'cancelled', message: 'cancelled: the probe did not stop in time after another host answered' })
    })

    const target: ProbeTarget = { host: candidate.host, port: candidate.port, ...(address !== undefined ? { address } : {}) }
    void safeProbe(this.probe, target, own.signal).then((outcome) => {
      if (timer !== undefined) clearTimeout(timer)
      this.stopAll.signal.removeEventListener('abort', stop)
      this.pending.delete(attempt)
      settle()
      // Once the run is over (a winner, or the caller gave up) nothing else counts, not even a late answer.
      if (this.state.phase === 'done') {
        record({ outcome: 'cancelled', message: this.winner ? 'cancelled: another host answered first' : 'cancelled' })
        return
      }
      if (outcome.kind === 'verified') {
        const rttMs = round(outcome.rttMs ?? elapsed() - startedAtMs)
        record({ outcome: 'verified', rttMs })
        this.winner = {
          candidate,
          candidateIndex: traceIndex,
          attempt,
          ...(address !== undefined ? { address } : {}),
          answer: outcome.answer,
          rttMs
        }
        this.dispatch({ type: 'attempt-verified', candidate: candidateNumber })
        return
      }
      const failure =
        timedOut && outcome.code === 'aborted'
          ? { kind: 'failure' as const, code: 'timeout' as const, message: `no verified answer within ${attemptTimeoutMs} ms` }
          : outcome
      const windows = windowsCodeForProbeFailure(failure)
      record({
        outcome: 'failed',
        code: failure.code,
        message: failure.message,
        ...(failure.phase !== undefined ? { phase: failure.phase } : {}),
        ...(failure.hresult !== undefined ? { hresult: failure.hresult >>> 0 } : {}),
        ...(windows !== undefined ? { windowsCode: formatCode(windows) } : {})
      })
      this.dispatch({ type: 'attempt-failed', candidate: candidateNumber })
    })
  }

  private finish(cancelledByCaller: boolean): void {
    this.context.signal?.removeEventListener('abort', this.onCallerAbort)
    const done = (): void =>
      this.resolve({
        ...(this.winner ? { winner: this.winner } : {}),
        attempts: [...this.attempts].sort((a, b) => a.attempt - b.attempt),
        candidatesStarted: this.state.candidates.length,
        cancelled: cancelledByCaller
      })
    const waiting = [...this.pending.values()]
    if (waiting.length === 0) {
      done()
      return
    }
    // Give cancelled probes a moment to close their sockets so the trace shows them ending.
    let graceTimer: ReturnType<typeof setTimeout> | undefined
    const grace = new Promise<void>((r) => {
      graceTimer = setTimeout(r, this.graceMs)
    })
    void Promise.race([Promise.all(waiting.map((w) => w.settled)), grace]).then(() => {
      if (graceTimer !== undefined) clearTimeout(graceTimer)
      for (const w of this.pending.values()) w.cancelAfterGrace()
      done()
    })
  }
}

type AttemptResultFields = Omit<
  AttemptRecord,
  'attempt' | 'candidate' | 'source' | 'host' | 'port' | 'address' | 'startedAtMs' | 'durationMs'
>

async function safeProbe<A>(probe: Probe<A>, target: ProbeTarget, signal: AbortSignal): Promise<ProbeOutcome<A>> {
  try {
    return await probe(target, signal)
  } catch (error) {
    if (signal.aborted) return { kind: 'failure', code: 'aborted', message: 'cancelled' }
    return {
      kind: 'failure',
      code: 'internal',
      message: `probe failed unexpectedly: ${error instanceof Error ? error.message : String(error)}`
    }
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10
}
