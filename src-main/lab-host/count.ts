/**
 * The Count the lab host answers with (docs/protocol.md §10.1).
 *
 * Real mode (default), what a genuine host does, scoped per KMS counted ID:
 *
 *   Count = min(distinct CMIDs with an 'ok' request for this KMS counted ID in the last 30 days, this client
 *               included;  cap)
 *   cap   = max(1, 2 × H)
 *   H     = the highest N_Policy among the 'ok' requests for this KMS counted ID in the same 30-day window,
 *           this request included.
 *
 * So a Windows client lab (N = 25) tops out at 50 and a server-only lab (N = 5) at 10, and the count only rises
 * with new machines, never with repeats. "This request included" makes the first client of a product see 1 and
 * never a cap below its own N. Requests with N_Policy > 1000 are refused with 0x8007000D (as vlmcsd does), which
 * also bounds the cap. The distinct-client counts come from the client log's index (rebuilt from the database at
 * start); H is kept here and seeded at start from the newest log rows (`seed`).
 *
 * Genuine hosts count per host key (application), so Windows clients and servers share one count there; this
 * host counts per KMS counted ID, as the project decided — documented in docs/lab-host.md.
 *
 * Fixed mode `{ fixed: n }` always answers n, for lab scenarios (e.g. 3 to make Windows clients report 0xC004F038).
 */
import { MAX_REQUIRED_CLIENT_COUNT } from '../common/defaults'
import type { ClientLogStore } from '../storage/client-log'

export type LabHostCountMode = 'real' | { fixed: number }

/** vlmcsd refuses N_Policy above this with 0x8007000D (docs/protocol.md §8.1); so do we. */
export { MAX_REQUIRED_CLIENT_COUNT }
/** A genuine host's counting window. */
const COUNT_WINDOW_MS = 30 * 86_400_000
/** Distinct N_Policy values remembered per KMS counted ID (honest clients of one KMS ID all send the same one). */
const MAX_VALUES_PER_KMS_ID = 16

/** Highest N_Policy seen per KMS counted ID within the counting window. */
export class HighestRequiredCount {
  /** KMS counted ID → (N_Policy → last seen, epoch ms) */
  private readonly byKmsId = new Map<string, Map<number, number>>()

  constructor(private readonly windowMs: number = COUNT_WINDOW_MS) {}

  observe(kmsCountedId: string, nPolicy: number, timeMs: number): void {
    let values = this.byKmsId.get(kmsCountedId)
    if (!values) {
      values = new Map()
      this.byKmsId.set(kmsCountedId, values)
    }
    const seen = values.get(nPolicy)
    if (seen !== undefined && seen >= timeMs) return
    values.set(nPolicy, timeMs)
    if (values.size > MAX_VALUES_PER_KMS_ID) {
      // Forget the value seen longest ago: a client cycling N_Policy values cannot grow this without bound.
      let oldest: number | undefined
      let oldestTime = Infinity
      for (const [n, t] of values) if (t < oldestTime) [oldest, oldestTime] = [n, t]
      if (oldest !== undefined) values.delete(oldest)
    }
  }

  /** H for `kmsCountedId` at `nowMs`; 0 if nothing in the window. */
  highest(kmsCountedId: string, nowMs: number): number {
    const values = this.byKmsId.get(kmsCountedId)
    if (!values) return 0
    const since = nowMs - this.windowMs
    let max = 0
    for (const [n, t] of values) if (t >= since && n > max) max = n
    return max
  }

  /** Forgets everything last seen before the window ending at `nowMs`. */
  expire(nowMs: number): void {
    const since = nowMs - this.windowMs
    for (const [kmsId, values] of this.byKmsId) {
      for (const [n, t] of values) if (t < since) values.delete(n)
      if (values.size === 0) this.byKmsId.delete(kmsId)
    }
  }

  get size(): number {
    return this.byKmsId.size
  }
}

/** How many of the newest log rows `seedFromLog` reads at start. */
const SEED_ROWS = 20_000

/**
 * Seeds H from the newest rows of the client log (the storage layer offers no per-key MAX query; honest clients
 * of a KMS counted ID all send the same N_Policy, so the newest rows carry it).
 */
export async function seedFromLog(tracker: HighestRequiredCount, log: ClientLogStore, nowMs: number, rows = SEED_ROWS): Promise<void> {
  for (const row of await log.recent(rows)) {
    if (row.outcome !== 'ok' || row.kmsCountedId === null || row.requiredClientCount === null) continue
    if (row.requiredClientCount > MAX_REQUIRED_CLIENT_COUNT) continue
    tracker.observe(row.kmsCountedId, row.requiredClientCount, row.timeMs)
  }
  tracker.expire(nowMs)
}

export class CountPolicy {
  readonly highest: HighestRequiredCount

  constructor(
    readonly mode: LabHostCountMode,
    private readonly log: ClientLogStore,
    windowMs: number = COUNT_WINDOW_MS
  ) {
    this.highest = new HighestRequiredCount(windowMs)
  }

  /**
   * The Count for one 'ok' request. Call it and then `ClientLog.record()` in the same synchronous turn (the log's
   * index then already includes this client for the next caller).
   */
  countFor(kmsCountedId: string, cmid: string, nPolicy: number, nowMs: number): number {
    if (this.mode !== 'real') return this.mode.fixed
    const kmsId = kmsCountedId.toLowerCase()
    this.highest.observe(kmsId, nPolicy, nowMs)
    const cap = Math.max(1, 2 * this.highest.highest(kmsId, nowMs))
    return this.log.countFor({ kmsCountedId: kmsId }, cmid, nowMs, cap)
  }
}
