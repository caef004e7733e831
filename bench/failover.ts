/**
 * Time to a verified KMS answer with 0–3 unresponsive hosts ranked ahead of a live one, staggered (fast
 * failover, 250 ms) vs sequential (what a Windows client does: wait out each dead host).
 *
 *   npx tsx bench/failover.ts        (or: npm run bench:failover)
 *
 * Everything is on loopback: the unresponsive hosts are listeners on 127.0.0.51–53 that accept and never
 * answer (the worst case: connect succeeds, the RPC bind times out); the live host is the tests' KMS host
 * (test/helpers/kms-test-host.ts: the protocol layer's KmsHostSession over node:net) on 127.0.0.50. The probe is
 * the real one (queryKmsHost) with the default timeouts (connect 3 s, bind 5 s, request 5 s).
 */
import { performance } from 'node:perf_hooks'
import { runFailover, type FailoverCandidate, type FailoverMode } from '../src-main/discovery/failover'
import { createKmsProbe } from '../src-main/discovery/kms-probe'
import { createTraceRecorder } from '../src-main/discovery/trace'
import { productCatalog } from '../src-main/protocol'
import { DEFAULT_CLIENT_TIMEOUTS } from '../src-main/kms-client/kms-client'
import { startHangingListener } from '../test/helpers/hanging-listener'
import { startKmsTestHost } from '../test/helpers/kms-test-host'

const STAGGERED_RUNS = 15
const SEQUENTIAL_RUNS_FAST = 15 // with 0 hosts ahead
const SEQUENTIAL_RUNS_SLOW = 1 // each dead host costs a full bind timeout

const identity = productCatalog.requestIdentity(productCatalog.defaultProduct())
const probe = createKmsProbe({ request: { identity, cmid: '0e3c4a55-1f0b-4c8e-9a57-2b6d9c1e7f20', workstationName: 'kms-scout-bench' } })

async function timeToAnswer(
  candidates: FailoverCandidate[],
  mode: FailoverMode
): Promise<{ answerMs: number; returnMs: number; cancelled: number }> {
  const recorder = createTraceRecorder(() => performance.now())
  const queue = [...candidates]
  const t0 = performance.now()
  const result = await runFailover({ next: () => queue.shift() }, probe, { mode }, { emit: recorder.emit, elapsed: recorder.elapsed })
  const returnMs = performance.now() - t0
  if (!result.winner) throw new Error(`no verified answer (${mode}): ${JSON.stringify(result.attempts)}`)
  const verified = recorder.entries().find((e) => e.kind === 'attempt-end' && e.outcome === 'verified')
  return { answerMs: verified?.atMs ?? returnMs, returnMs, cancelled: result.attempts.filter((a) => a.outcome === 'cancelled').length }
}

function stats(values: number[]): { median: number; min: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
  return { median, min: sorted[0]!, max: sorted.at(-1)! }
}

function fmt(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`
}

async function main(): Promise<void> {
  const live = await startKmsTestHost({ address: '127.0.0.50' })
  const hangs = await Promise.all(['127.0.0.51', '127.0.0.52', '127.0.0.53'].map((a) => startHangingListener(a)))
  const liveCandidate: FailoverCandidate = { host: 'live', port: live.port, source: 'dns', addresses: ['127.0.0.50'] }
  const hangCandidates: FailoverCandidate[] = hangs.map((h, i) => ({
    host: `dead${i + 1}`,
    port: h.port,
    source: 'dns',
    addresses: [h.address]
  }))

  console.log(
    `KMS Scout failover: time to a verified answer (loopback; stagger 250 ms; timeouts connect ${DEFAULT_CLIENT_TIMEOUTS.connectMs} / bind ${DEFAULT_CLIENT_TIMEOUTS.bindMs} / request ${DEFAULT_CLIENT_TIMEOUTS.requestMs} ms)`
  )
  console.log(`node ${process.version}, ${process.platform}/${process.arch}\n`)
  // Warm-up: first connections and JIT.
  for (let i = 0; i < 5; i++) await timeToAnswer([liveCandidate], 'staggered')

  const rows: string[][] = [
    ['dead hosts ahead', 'staggered: median (min–max)', 'runs', 'cancelled', 'sequential: median (min–max)', 'runs', 'target ≤ 1 s']
  ]
  for (let n = 0; n <= 3; n++) {
    const candidates = [...hangCandidates.slice(0, n), liveCandidate]
    const staggered: number[] = []
    let cancelled = 0
    for (let i = 0; i < STAGGERED_RUNS; i++) {
      const r = await timeToAnswer(candidates, 'staggered')
      staggered.push(r.answerMs)
      cancelled = r.cancelled
    }
    const sequential: number[] = []
    const seqRuns = n === 0 ? SEQUENTIAL_RUNS_FAST : SEQUENTIAL_RUNS_SLOW
    for (let i = 0; i < seqRuns; i++) sequential.push((await timeToAnswer(candidates, 'sequential')).answerMs)
    const s = stats(staggered)
    const q = stats(sequential)
    rows.push([
      String(n),
      `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`,
      String(STAGGERED_RUNS),
      String(cancelled),
      `${fmt(q.median)} (${fmt(q.min)}–${fmt(q.max)})`,
      String(seqRuns),
      s.max <= 1000 ? 'yes' : 'NO'
    ])
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  for (const [i, row] of rows.entries()) {
    console.log(row.map((cell, c) => cell.padEnd(widths[c]!)).join('  '))
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  }
  console.log('\n"cancelled": pending attempts at dead hosts aborted once the live host answered (staggered mode).')

  await live.close()
  await Promise.all(hangs.map((h) => h.close()))
}

await main()
