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
 */
import { windowsCodeForProbeFailure, formatCode } from './error-map'
import type { Probe, ProbeFailureCode, ProbeOutcome, ProbeTarget } from './probe'
import type { CandidateSource, TraceInput } from './trace'

export type FailoverMode = 'staggered' | 'sequential'

export const DEFAULT_STAGGER_MS = 250
/** Most candidates running at once in staggered mode (bounds sockets when many hosts hang). */
export const DEFAULT_MAX_IN_FLIGHT = 8
/** How long cancelled probes get to settle before the flow stops waiting for them. */
export const DEFAULT_ABORT_GRACE_MS = 2000

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

type AttemptEnd<A> = { kind: 'verified'; answer: A; rttMs: number } | { kind: 'failed' } | { kind: 'cancelled' }

export function runFailover<A, C extends FailoverCandidate>(
  supply: CandidateSupply<C>,
  probe: Probe<A>,
  options: FailoverOptions,
  context: FailoverContext
): Promise<FailoverResult<A, C>> {
  const staggerMs = options.staggerMs ?? DEFAULT_STAGGER_MS
  const maxInFlight = options.mode === 'sequential' ? 1 : Math.max(1, options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT)
  const graceMs = options.abortGraceMs ?? DEFAULT_ABORT_GRACE_MS
  const counters = context.counters ?? { candidates: 0, attempts: 0 }
  const { emit, elapsed } = context

  return new Promise((resolve) => {
    const stopAll = new AbortController()
    const attempts: AttemptRecord[] = []
    /** Attempts whose probe has not settled yet, with the function that records them as cancelled. */
    const pending = new Map<number, { settled: Promise<void>; cancel: () => void }>()
    let running = 0
    let started = 0
    let exhausted = false
    let finished = false
    let winner: FailoverWinner<A, C> | undefined
    let staggerTimer: ReturnType<typeof setTimeout> | undefined

    const onCallerAbort = (): void => finish(true)
    if (context.signal?.aborted) {
      resolve({ attempts, candidatesStarted: 0, cancelled: true })
      return
    }
    context.signal?.addEventListener('abort', onCallerAbort, { once: true })

    function clearStagger(): void {
      if (staggerTimer !== undefined) clearTimeout(staggerTimer)
      staggerTimer = undefined
    }

    function armStagger(): void {
      clearStagger()
      if (options.mode !== 'staggered' || finished || exhausted) return
      staggerTimer = setTimeout(() => {
        staggerTimer = undefined
        launch('stagger')
      }, staggerMs)
    }

    function launch(reason: 'first' | 'stagger' | 'previous-failed'): void {
      if (finished || exhausted || running >= maxInFlight) return
      const candidate = supply.next()
      if (candidate === undefined) {
        exhausted = true
        clearStagger()
        if (running === 0) finish(false)
        return
      }
      const index = ++counters.candidates
      started++
      emit({
        kind: 'candidate-start',
        candidate: index,
        source: candidate.source,
        host: candidate.host,
        port: candidate.port,
        addresses: [...candidate.addresses],
        reason,
        inFlight: running
      })
      running++
      void runCandidate(candidate, index).then((end) => {
        running--
        if (finished) return
        if (end.kind === 'verified') return
        if (end.kind === 'failed') {
          const reason = 'no verified answer from any of its addresses'
          emit({ kind: 'candidate-failed', candidate: index, host: candidate.host, port: candidate.port, reason })
          supply.failed?.(candidate, reason)
        }
        // A slot is free: start the next candidate now instead of waiting for the stagger timer.
        launch('previous-failed')
        if (!finished && exhausted && running === 0) finish(false)
      })
      armStagger()
    }

    async function runCandidate(candidate: C, index: number): Promise<AttemptEnd<A>> {
      const addresses: ReadonlyArray<string | undefined> = candidate.addresses.length > 0 ? candidate.addresses : [undefined]
      for (const address of addresses) {
        if (finished) return { kind: 'cancelled' }
        const end = await runAttempt(candidate, index, address)
        if (end.kind !== 'failed') return end
      }
      return { kind: 'failed' }
    }

    function runAttempt(candidate: C, index: number, address: string | undefined): Promise<AttemptEnd<A>> {
      const attempt = ++counters.attempts
      const startedAtMs = elapsed()
      const base = { attempt, candidate: index, host: candidate.host, port: candidate.port, ...(address !== undefined ? { address } : {}) }
      emit({ kind: 'attempt-start', ...base })
      const own = new AbortController()
      const stop = (): void => own.abort()
      stopAll.signal.addEventListener('abort', stop, { once: true })
      let timedOut = false
      const timer = options.attemptTimeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true
            own.abort()
          }, options.attemptTimeoutMs)
      let ended = false
      const record = (fields: Omit<AttemptRecord, 'attempt' | 'candidate' | 'source' | 'host' | 'port' | 'address' | 'startedAtMs' | 'durationMs'>): void => {
        if (ended) return
        ended = true
        const full: AttemptRecord = { ...base, source: candidate.source, startedAtMs, durationMs: round(elapsed() - startedAtMs), ...fields }
        attempts.push(full)
        const { source: _source, hresult: _hresult, ...event } = full
        emit({ kind: 'attempt-end', ...event })
      }

      const target: ProbeTarget = { host: candidate.host, port: candidate.port, ...(address !== undefined ? { address } : {}) }
      let settle!: () => void
      const settled = new Promise<void>((r) => (settle = r))
      pending.set(attempt, { settled, cancel: () => record({ outcome: 'cancelled', message: 'cancelled: the probe did not stop in time after another host answered' }) })

      return safeProbe(probe, target, own.signal)
        .then((outcome): AttemptEnd<A> => {
          if (timer !== undefined) clearTimeout(timer)
          stopAll.signal.removeEventListener('abort', stop)
          // Once the run is over (a winner, or the caller gave up) nothing else counts, not even a late answer.
          if (finished) {
            record({ outcome: 'cancelled', message: winner ? 'cancelled: another host answered first' : 'cancelled' })
            return { kind: 'cancelled' }
          }
          if (outcome.kind === 'verified') {
            const rttMs = round(outcome.rttMs ?? elapsed() - startedAtMs)
            record({ outcome: 'verified', rttMs })
            winner = { candidate, candidateIndex: index, attempt, ...(address !== undefined ? { address } : {}), answer: outcome.answer, rttMs }
            finish(false)
            return { kind: 'verified', answer: outcome.answer, rttMs }
          }
          const failure = timedOut && outcome.code === 'aborted'
            ? { kind: 'failure' as const, code: 'timeout' as const, message: `no verified answer within ${options.attemptTimeoutMs} ms` }
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
          return { kind: 'failed' }
        })
        .finally(() => {
          pending.delete(attempt)
          settle()
        })
    }

    function finish(cancelledByCaller: boolean): void {
      if (finished) return
      finished = true
      clearStagger()
      context.signal?.removeEventListener('abort', onCallerAbort)
      stopAll.abort()
      const waiting = [...pending.values()]
      const done = (): void =>
        resolve({
          ...(winner ? { winner } : {}),
          attempts: [...attempts].sort((a, b) => a.attempt - b.attempt),
          candidatesStarted: started,
          cancelled: cancelledByCaller
        })
      if (waiting.length === 0) {
        done()
        return
      }
      // Give cancelled probes a moment to close their sockets so the trace shows them ending.
      let graceTimer: ReturnType<typeof setTimeout> | undefined
      const grace = new Promise<void>((r) => {
        graceTimer = setTimeout(r, graceMs)
      })
      void Promise.race([Promise.all(waiting.map((w) => w.settled)), grace]).then(() => {
        if (graceTimer !== undefined) clearTimeout(graceTimer)
        for (const w of pending.values()) w.cancel()
        done()
      })
    }

    launch('first')
  })
}

async function safeProbe<A>(probe: Probe<A>, target: ProbeTarget, signal: AbortSignal): Promise<ProbeOutcome<A>> {
  try {
    return await probe(target, signal)
  } catch (error) {
    if (signal.aborted) return { kind: 'failure', code: 'aborted', message: 'cancelled' }
    return { kind: 'failure', code: 'internal', message: `probe failed unexpectedly: ${error instanceof Error ? error.message : String(error)}` }
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10
}
