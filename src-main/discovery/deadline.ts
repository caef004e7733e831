/**
 * The overall deadline of one `discover` or `check` run (docs/discovery.md, "Bounds"). Per-query and per-attempt
 * timeouts bound each step, but not how many steps a hostile DNS server can make us take; the deadline bounds
 * the whole run. When it fires it aborts the run's one AbortSignal, which every DNS query and KMS attempt in
 * flight already honours, and the run reports what it has.
 *
 * What was still pending is read from the trace at the moment the deadline fires: every `dns-query` without its
 * `dns-reply`/`dns-failure`, every `attempt-start` without its `attempt-end`, and the SRV targets whose addresses
 * were not resolved yet. The trace is the one record of what started and what ended, so nothing else has to
 * keep count.
 */
import { DEFAULT_DEADLINE_S } from '../common/defaults'
import { formatHostPort } from '../common/host-port'
import type { PendingAttempt, PendingDnsQuery, PendingWork, TraceEntry, TraceRecorder } from './trace'

export interface DeadlineReached {
  readonly deadlineMs: number
  /** When it fired, on the trace's clock (ms since the run started). */
  readonly atMs: number
  readonly pending: PendingWork
  /** One line: "deadline of 2 s reached during DNS discovery; still pending: …". */
  readonly message: string
}

export interface RunDeadline {
  /** Aborted when the deadline fires or the caller's signal aborts. */
  readonly signal: AbortSignal
  /** Set once the deadline has fired (not when the caller cancelled). */
  readonly reached: () => DeadlineReached | undefined
  /** Stops the timer; call when the run is over. */
  readonly dispose: () => void
}

/** Milliseconds of the deadline: the run's own, else DEFAULT_DEADLINE_S. */
export function deadlineMsOf(deadlineMs: number | undefined): number {
  return deadlineMs ?? DEFAULT_DEADLINE_S * 1000
}

/**
 * Starts the deadline of a run. When it fires it records a `deadline` trace entry with what was pending, then
 * aborts the signal. The caller's own signal aborts it too (then `reached()` stays undefined: a cancel).
 */
export function armDeadline(deadlineMs: number, callerSignal: AbortSignal | undefined, trace: TraceRecorder): RunDeadline {
  const controller = new AbortController()
  let reached: DeadlineReached | undefined
  const onCallerAbort = (): void => controller.abort(callerSignal?.reason)
  if (callerSignal?.aborted) controller.abort(callerSignal.reason)
  else callerSignal?.addEventListener('abort', onCallerAbort, { once: true })
  const timer = setTimeout(() => {
    if (controller.signal.aborted) return
    const pending = pendingWork(trace.entries())
    reached = { deadlineMs, atMs: trace.elapsed(), pending, message: deadlineMessage(deadlineMs, pending) }
    trace.emit({ kind: 'deadline', deadlineMs, pending, message: reached.message })
    controller.abort(new Error(reached.message))
  }, deadlineMs)
  return {
    signal: controller.signal,
    reached: () => reached,
    dispose: () => {
      clearTimeout(timer)
      callerSignal?.removeEventListener('abort', onCallerAbort)
    }
  }
}

/** What the trace shows as started and not ended. */
function pendingWork(entries: readonly TraceEntry[]): PendingWork {
  const queries = new Map<string, PendingDnsQuery>()
  const attempts = new Map<number, PendingAttempt>()
  let stage: string | undefined
  let targetsTaken = 0
  let targetsDone = 0
  const queryKey = (e: { transport: string; server: string; id: number; qname: string; qtype: string }): string =>
    `${e.transport} ${e.server} ${e.id} ${e.qname} ${e.qtype}`
  for (const e of entries) {
    switch (e.kind) {
      case 'dns-query':
        queries.set(queryKey(e), { qname: e.qname, qtype: e.qtype, server: e.server, transport: e.transport })
        break
      case 'dns-reply':
      case 'dns-failure':
        queries.delete(queryKey(e))
        break
      case 'attempt-start':
        attempts.set(e.attempt, { host: e.host, port: e.port, ...(e.address !== undefined ? { address: e.address } : {}) })
        break
      case 'attempt-end':
        attempts.delete(e.attempt)
        break
      case 'stage':
        stage = e.outcome === 'start' ? e.stage : undefined
        break
      case 'srv-records':
        targetsTaken = new Set(e.records.map((r) => r.target.toLowerCase())).size
        targetsDone = 0
        break
      case 'srv-target-addresses':
        targetsDone++
        break
      default:
        break
    }
  }
  return {
    ...(stage !== undefined ? { stage } : {}),
    dnsQueries: [...queries.values()],
    kmsAttempts: [...attempts.values()],
    unresolvedTargets: Math.max(0, targetsTaken - targetsDone)
  }
}

const STAGE_TEXT: Readonly<Record<string, string>> = {
  dns: 'during DNS discovery',
  cache: 'while trying the cached host',
  manual: 'while trying the manual host'
}
/** How many pending items a message names before it only counts the rest. */
const NAMED_ITEMS = 3

function listSome<T>(items: readonly T[], describe: (item: T) => string): string {
  const named = items.slice(0, NAMED_ITEMS).map(describe).join(', ')
  return items.length > NAMED_ITEMS ? `${named} and ${items.length - NAMED_ITEMS} more` : named
}

/** One line (the caller makes it inert before any terminal). */
function deadlineMessage(deadlineMs: number, pending: PendingWork): string {
  const seconds = deadlineMs % 1000 === 0 ? `${deadlineMs / 1000} s` : `${deadlineMs} ms`
  const where = pending.stage !== undefined ? ` ${STAGE_TEXT[pending.stage] ?? `in stage ${pending.stage}`}` : ''
  const parts: string[] = []
  if (pending.unresolvedTargets > 0) parts.push(`addresses of ${pending.unresolvedTargets} SRV target(s)`)
  if (pending.dnsQueries.length > 0)
    parts.push(
      `${pending.dnsQueries.length} DNS quer${pending.dnsQueries.length === 1 ? 'y' : 'ies'} (${listSome(pending.dnsQueries, (q) => `${q.qname} ${q.qtype} at ${q.server}`)})`
    )
  if (pending.kmsAttempts.length > 0)
    parts.push(
      `${pending.kmsAttempts.length} KMS attempt(s) (${listSome(pending.kmsAttempts, (a) => formatHostPort(a.address ?? a.host, a.port))})`
    )
  return `deadline of ${seconds} reached${where}; still pending: ${parts.length > 0 ? parts.join('; ') : 'nothing in flight'}`
}
