/**
 * The client flow as a waterfall: each DNS query and each connection attempt of a check as a bar from its start
 * to its answer or failure, the manual host and the cache as points, the stagger starts marked, the winner
 * flagged. Built only from the trace entries (discovery/trace.ts) — the same events `--verbose` prints — so the
 * picture and the log cannot disagree. The app draws it above the trace; the HTML report draws it as SVG.
 */
import type { FlowTimeline, TimelineBar } from '../api/contract'
import type { TraceEntry } from '../discovery/trace'
import { formatHostPort } from '../common/host-port'

type Open = Omit<TimelineBar, 'endMs' | 'open' | 'outcome' | 'detail' | 'winner'>

export function buildTimeline(trace: readonly TraceEntry[]): FlowTimeline {
  const bars: TimelineBar[] = []
  const openDns = new Map<string, Open>()
  const openAttempts = new Map<number, Open>()
  const staggerStartsMs: number[] = []
  let totalMs = 0
  const close = (start: Open, endMs: number, outcome: TimelineBar['outcome'], detail: string, winner = false): void => {
    bars.push({ ...start, endMs: Math.max(endMs, start.startMs), open: false, outcome, detail, winner })
  }
  const point = (e: TraceEntry, lane: TimelineBar['lane'], label: string, outcome: TimelineBar['outcome'], detail: string): void => {
    bars.push({ lane, label, startMs: e.atMs, endMs: e.atMs, open: false, outcome, detail, winner: false, seq: e.seq })
  }
  const dnsKey = (e: { server: string; transport: string; id: number }): string => `${e.server}|${e.transport}|${e.id}`

  for (const e of trace) {
    totalMs = Math.max(totalMs, e.atMs)
    switch (e.kind) {
      case 'manual-host':
        point(e, 'manual', `manual host ${formatHostPort(e.host, e.port)}`, 'info', e.note)
        break
      case 'cache-lookup':
        point(
          e,
          'cache',
          `host cache ${e.result}`,
          e.result === 'hit' ? 'ok' : 'info',
          e.result === 'hit' ? `${formatHostPort(e.host ?? '?', e.port ?? 0)} cached` : (e.message ?? e.result)
        )
        break
      case 'dns-query':
        openDns.set(dnsKey(e), {
          lane: 'dns',
          label: `${e.qname} ${e.qtype} @${e.server}${e.transport === 'tcp' ? ' (TCP)' : ''}`,
          startMs: e.atMs,
          seq: e.seq
        })
        break
      case 'dns-reply': {
        const start = openDns.get(dnsKey(e))
        if (!start) break
        openDns.delete(dnsKey(e))
        close(
          start,
          e.atMs,
          e.rcode === 'NOERROR' ? 'ok' : 'failed',
          `${e.rcode}, ${e.answers} answer(s)${e.truncated ? ', truncated' : ''}`
        )
        break
      }
      case 'dns-failure': {
        const start = openDns.get(dnsKey(e))
        if (!start) break
        openDns.delete(dnsKey(e))
        close(start, e.atMs, 'failed', `${e.code}: ${e.message}`)
        break
      }
      case 'candidate-start':
        if (e.reason === 'stagger') staggerStartsMs.push(e.atMs)
        break
      case 'attempt-start':
        openAttempts.set(e.attempt, {
          lane: 'kms',
          label: `#${e.candidate} ${formatHostPort(e.host, e.port)}${e.address !== undefined && e.address !== e.host ? ` → ${e.address}` : ''}`,
          startMs: e.atMs,
          seq: e.seq
        })
        break
      case 'attempt-end': {
        const start = openAttempts.get(e.attempt)
        if (!start) break
        openAttempts.delete(e.attempt)
        const outcome = e.outcome === 'verified' ? 'ok' : e.outcome === 'failed' ? 'failed' : 'cancelled'
        const detail =
          e.outcome === 'verified'
            ? `verified answer after ${e.durationMs.toFixed(1)} ms`
            : `${e.outcome}${e.code ? ` ${e.code}` : ''}${e.windowsCode ? ` (${e.windowsCode})` : ''} after ${e.durationMs.toFixed(1)} ms`
        close(start, e.atMs, outcome, detail, e.outcome === 'verified')
        break
      }
      case 'flow-result':
        totalMs = Math.max(totalMs, e.durationMs)
        break
      default:
        break
    }
  }
  // Whatever never ended ran until the run stopped (the deadline fired, or the trace ends mid-run).
  for (const start of [...openDns.values(), ...openAttempts.values()]) {
    bars.push({ ...start, endMs: totalMs, open: true, outcome: 'cancelled', detail: 'no answer before the run ended', winner: false })
  }
  bars.sort((a, b) => a.startMs - b.startMs || a.seq - b.seq)
  return { totalMs, bars, staggerStartsMs }
}
