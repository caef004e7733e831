/**
 * Log lines for the lab host: human-readable or JSON lines (`--json-log`), one per exchange and one per notable
 * event, written to any sink (the CLI passes stdout). Subscribes to LabHost's events; the host itself never prints.
 *
 * Floods are summarised, not echoed: refused connections, abnormal closes and rejected PDUs print at most one line
 * per kind and reason per `throttleMs` (default 1 s); the next line of that kind says how many were left out
 * ("+41 more"), and the counters in the final summary are always complete. Request lines likewise: at most
 * `requestLinesPerSecond` (default 20) a second, then one line saying how many more were answered — every request
 * is still in the client log. Text a client sent (its WorkstationName, what made a request unreadable) is made
 * inert before it is printed (common/inert-text.ts); JSON lines carry it exactly, escaped by JSON.
 */
import { inert } from '../common/inert-text'
import { formatHresult } from '../protocol/index'
import type { LabHost } from './lab-host'
import { CLOSE_REASONS, type LabHostCloseReason, type LabHostCounters, type LabHostEvents, type LabHostExchange } from './events'

export interface LabHostLoggerOptions {
  /** receives one complete line (with '\n') at a time */
  write: (line: string) => void
  json?: boolean
  /** epoch ms; default Date.now */
  now?: () => number
  throttleMs?: number
  /** request lines printed per second at most; the rest are counted and summarised (default 20) */
  requestLinesPerSecond?: number
}

/** Closes that are part of normal life and get no line of their own. */
const QUIET_CLOSES = new Set<LabHostCloseReason>(['client-closed', 'stopping'])

const CLOSE_TEXT: Record<LabHostCloseReason, string> = {
  'client-closed': 'closed by the client',
  reset: 'reset by the client or the network',
  idle: 'closed: idle past the deadline',
  deadline: 'closed: exchange not completed within the deadline',
  malformed: 'closed: malformed input',
  oversize: 'closed: PDU larger than the limit',
  'pdu-limit': 'closed: too many PDUs on one connection',
  'rate-limit': 'closed without reply: this address sends more requests per second than it may',
  stopping: 'closed: host stopping',
  'log-failed': 'closed without reply: the client log could not store the request',
  'internal-error': 'closed: internal error'
}

function shortGuid(guid: string): string {
  return guid.slice(0, 8)
}

function formatExchange(e: LabHostExchange): string {
  const version = `v${e.protocolMajor}.${e.protocolMinor}`
  const product = e.productName ?? `unknown SKU ${e.skuId}`
  const kms = e.kmsCountedName ?? `unknown KMS ID ${e.kmsCountedId}`
  const who = `cmid ${shortGuid(e.cmid)} "${inert(e.workstationName, 64)}"`
  if (e.outcome === 'ok') {
    return `${e.clientAddress} ${version} ${e.syntax} ok: count ${e.count} (N ${e.requiredClientCount}) ${product} [${kms}] ${who} ${e.durationMs.toFixed(1)} ms`
  }
  return `${e.clientAddress} ${version} refused ${formatHresult(e.hresult ?? 0)}: ${inert(e.reason ?? '')} — ${product} [${kms}] ${who}`
}

function formatCounters(c: LabHostCounters): string {
  const r = c.requests
  const ok = r.v4.ok + r.v5.ok + r.v6.ok + r.other.ok
  const refused = r.v4.refused + r.v5.refused + r.v6.refused + r.other.refused
  const closes = CLOSE_REASONS.filter((k) => c.closes[k] > 0)
    .map((k) => `${k} ${c.closes[k]}`)
    .join(', ')
  return [
    `${ok + refused} requests (v4 ${r.v4.ok}, v5 ${r.v5.ok}, v6 ${r.v6.ok} answered; ${refused} refused)`,
    `${c.faults} faults`,
    `${c.connections.accepted} connections (peak ${c.connections.peak}), ${c.connections.refused} refused`,
    `closes: ${closes === '' ? 'none' : closes}`,
    ...(c.logFailures > 0 ? [`${c.logFailures} requests not stored (not acknowledged)`] : [])
  ].join('; ')
}

/** Attaches a logger to `host`; returns the function that detaches it. */
export function attachLabHostLogger(host: LabHost, options: LabHostLoggerOptions): () => void {
  const now = options.now ?? Date.now
  const json = options.json ?? false
  const throttleMs = options.throttleMs ?? 1000
  const lastLine = new Map<string, number>()
  const suppressed = new Map<string, number>()

  const line = (event: string, text: string, payload: object, extra: Record<string, unknown> = {}): void => {
    const t = new Date(now()).toISOString()
    options.write(json ? `${JSON.stringify({ time: t, event, ...payload, ...extra })}\n` : `${t} ${text}\n`)
  }

  /** True if a line of this kind may be printed now; otherwise counts it as suppressed. */
  const admit = (key: string): { ok: boolean; more: number } => {
    const t = now()
    const last = lastLine.get(key)
    if (last !== undefined && t - last < throttleMs) {
      suppressed.set(key, (suppressed.get(key) ?? 0) + 1)
      return { ok: false, more: 0 }
    }
    lastLine.set(key, t)
    const more = suppressed.get(key) ?? 0
    suppressed.delete(key)
    return { ok: true, more }
  }
  const moreText = (more: number): string => (more > 0 ? ` (+${more} more since the last such line)` : '')

  // Request lines: a budget per one-second window; what is over it is counted and said once the window is over.
  const requestBudget = options.requestLinesPerSecond ?? 20
  let windowStart = -Infinity
  let windowLines = 0
  let unprinted = 0
  let detached = false
  const flushUnprinted = (): void => {
    if (unprinted === 0 || detached) return
    line('requests-summarised', `… ${unprinted} more requests answered (not printed; every request is in the client log)`, {
      requests: unprinted
    })
    unprinted = 0
  }
  const requestLine = (e: LabHostExchange): void => {
    const t = now()
    if (t - windowStart >= 1000) {
      flushUnprinted()
      windowStart = t
      windowLines = 0
    }
    if (windowLines >= requestBudget) {
      // the summary also comes when the burst ends, not only with the next request
      if (unprinted++ === 0) setTimeout(flushUnprinted, Math.max(0, windowStart + 1000 - t)).unref()
      return
    }
    windowLines++
    line('request', formatExchange(e), e)
  }

  const offs = [
    host.on('started', (e: LabHostEvents['started']) => {
      for (const a of e.addresses)
        line('started', `listening on ${a.text}${a.loopback ? '' : ' (reachable from other machines)'}`, {
          address: a.text,
          loopback: a.loopback
        })
    }),
    host.on('warning', (e) => line('warning', `warning: ${inert(e.message, 1024)}`, e)),
    host.on('error', (e) =>
      line('error', `error (${e.scope}${e.remoteAddress ? ` ${e.remoteAddress}` : ''}): ${inert(e.message, 1024)}`, e)
    ),
    host.on('request-logged', requestLine),
    host.on('request-rejected', (e) => {
      const a = admit(`rejected:${e.kind}`)
      if (!a.ok) return
      const what =
        e.kind === 'fault' ? `RPC fault ${formatHresult(e.status)}` : `refused ${formatHresult(e.status)} (request unreadable, not logged)`
      line('request-rejected', `${e.clientAddress} ${what}: ${inert(e.reason)}${moreText(a.more)}`, e, { suppressed: a.more })
    }),
    host.on('connection-refused', (e) => {
      const a = admit(`refused:${e.reason}`)
      if (!a.ok) return
      const why =
        e.reason === 'capacity'
          ? `at the connection limit (${e.active} of ${e.limit} open)`
          : e.reason === 'per-address'
            ? `this address already holds ${e.active} of the ${e.limit} connections one address may have`
            : 'host stopping'
      line('connection-refused', `${e.remoteAddress} connection refused: ${why}${moreText(a.more)}`, e, { suppressed: a.more })
    }),
    host.on('connection-closed', (e) => {
      if (QUIET_CLOSES.has(e.reason)) return
      const a = admit(`closed:${e.reason}`)
      if (!a.ok) return
      line(
        'connection-closed',
        `${e.remoteAddress} ${CLOSE_TEXT[e.reason]}${e.detail ? ` (${inert(e.detail)})` : ''}${moreText(a.more)}`,
        e,
        { suppressed: a.more }
      )
    }),
    host.on('log-purged', (e) => line('log-purged', `client log: removed ${e.rows} records past the retention period`, e)),
    host.on('stopping', (e) => line('stopping', `stopping: ${e.open} connections open, ${e.inFlight} in the middle of an exchange`, e)),
    host.on('stopped', (e) => {
      flushUnprinted()
      const drained = e.drained ? 'all exchanges finished' : `${e.abandoned} connections cut off at the deadline`
      line('stopped', `stopped (${drained}): ${formatCounters(e.counters)}`, e)
    })
  ]
  return () => {
    flushUnprinted()
    detached = true
    for (const off of offs) off()
  }
}
