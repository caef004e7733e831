/**
 * Ordering of SRV records (RFC 2782) for KMS host selection — pure, randomness injected.
 *
 * RFC 2782, "Usage rules": lowest priority first; within one priority, repeatedly arrange the not-yet-ordered
 * records "in any order, except that all those with weight 0 are placed at the beginning of the list",
 * compute running sums of the weights, "select a uniform random number between 0 and the sum of the weights
 * (inclusive)", take the first record whose running sum is ≥ that number, remove it, repeat.
 *
 * DECISION on the inclusive range (see docs/srv-selection.md):
 * Drawing from [0, sum] has sum+1 outcomes. The extra outcome 0 is what gives weight-0 records their "very
 * small chance" — but when no weight-0 record is left, 0 falls to the first weighted record, which then wins
 * (w₁+1)/(sum+1) instead of w₁/sum. Two weight-1 records split 2/3 : 1/3 (matrix-org/synapse#5864; the JDK's
 * ServiceLocator has the same bias). We therefore:
 *   - draw from [0, sum] inclusive, exactly as written, while at least one weight-0 record remains in the
 *     group — outcome 0 selects a weight-0 record, every other outcome a weighted one: each weighted record
 *     gets exactly w/(sum+1), the weight-0 records together 1/(sum+1);
 *   - draw from [1, sum] when no weight-0 record remains — the RFC's own comparison rule then gives each
 *     record exactly w/sum, with no off-by-one bias;
 *   - place the weight-0 records in uniformly random order (the RFC allows "any order"), so the one that takes
 *     outcome 0 is uniform among them, and an all-zero group (sum 0, the default Microsoft publishes) is a
 *     uniform random shuffle — never left in wire order (Go's net.LookupSRV does that).
 *
 * `legacy-random` mode ignores priority and weight: a uniform random order, like KMS clients before Windows 7
 * / Server 2008 R2 ("KMS host computers are selected randomly").
 *
 * The picker is incremental because the KMS client flow is: pick a host, try it, on failure remove it (and
 * other records of the same host) and pick again from what is left.
 */
import type { TraceSink } from '../dns/trace'
import type { RandomInt } from './srv-prng'

export type { RandomInt } from './srv-prng'

export interface SrvCandidate {
  readonly priority: number
  readonly weight: number
  readonly port: number
  readonly target: string
}

export type SrvSelectionMode = 'rfc2782' | 'legacy-random'

export interface SrvDrawCandidate {
  readonly target: string
  readonly port: number
  readonly priority: number
  readonly weight: number
  /** Running sum of weights in the arranged order (rfc2782); position + 1 in legacy mode. */
  readonly runningSum: number
}

/** One draw: which records competed, the number drawn and the record chosen. */
export interface SrvDrawEvent {
  readonly kind: 'srv-draw'
  readonly mode: SrvSelectionMode
  /** The priority group drawn from; null in legacy mode (priority ignored). */
  readonly priority: number | null
  /** Candidates in the arranged order used for the draw (weight-0 first, shuffled). */
  readonly candidates: readonly SrvDrawCandidate[]
  /** Inclusive bounds of the draw: [0, sum] with weight-0 records present, [1, sum] without; legacy [1, n]. */
  readonly range: readonly [number, number]
  readonly drawn: number
  /** Index into `candidates` of the chosen record. */
  readonly chosenIndex: number
  readonly chosen: { readonly target: string; readonly port: number; readonly priority: number; readonly weight: number }
  /** Records left after this draw (all groups). */
  readonly remaining: number
}

export interface SrvRemoveEvent {
  readonly kind: 'srv-remove'
  readonly removed: ReadonlyArray<{ readonly target: string; readonly port: number }>
  readonly reason: string
  readonly remaining: number
}

export type SrvSelectionTraceEvent = SrvDrawEvent | SrvRemoveEvent

export interface SrvSelectionOptions {
  /** Uniform integer in [0, n). Production: `(n) => crypto.randomInt(n)`; tests: `createSeededRandom(seed).int`. */
  readonly random: RandomInt
  readonly mode?: SrvSelectionMode
  readonly trace?: TraceSink<SrvSelectionTraceEvent>
}

export interface SrvPicker<R extends SrvCandidate> {
  /** Draws the next record by the mode's rules and removes it from the pool; undefined when empty. */
  next(): R | undefined
  /** Removes every remaining record the predicate matches; returns how many. */
  remove(match: (record: R) => boolean, reason: string): number
  /** Removes the remaining records of one host (name compared case-insensitively), optionally one port only. */
  removeHost(target: string, port?: number, reason?: string): number
  /** Records not drawn or removed yet, in their original order. */
  readonly remaining: readonly R[]
}

function sameHost(a: string, b: string): boolean {
  const canon = (s: string): string => s.replace(/\.$/, '').toLowerCase()
  return canon(a) === canon(b)
}

function checkRecord(record: SrvCandidate): void {
  for (const field of ['priority', 'weight', 'port'] as const) {
    const value = record[field]
    if (!Number.isInteger(value) || value < 0 || value > 65535) {
      throw new RangeError(`SRV ${field} must be an integer 0-65535, got ${value} (target ${record.target})`)
    }
  }
}

function drawBelow(random: RandomInt, n: number): number {
  const value = random(n)
  if (!Number.isInteger(value) || value < 0 || value >= n) {
    throw new RangeError(`random(${n}) returned ${value}; it must return an integer in [0, ${n})`)
  }
  return value
}

/** Fisher–Yates, in place. */
function shuffle<T>(items: T[], random: RandomInt): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = drawBelow(random, i + 1)
    const tmp = items[i]!
    items[i] = items[j]!
    items[j] = tmp
  }
}

function describe(record: SrvCandidate): { target: string; port: number; priority: number; weight: number } {
  return { target: record.target, port: record.port, priority: record.priority, weight: record.weight }
}

export function createSrvPicker<R extends SrvCandidate>(records: readonly R[], options: SrvSelectionOptions): SrvPicker<R> {
  records.forEach(checkRecord)
  const pool: R[] = [...records]
  const mode = options.mode ?? 'rfc2782'
  const { random } = options
  const trace = options.trace ?? (() => {})

  function take(record: R): void {
    pool.splice(pool.indexOf(record), 1)
  }

  function nextLegacy(): R | undefined {
    if (pool.length === 0) return undefined
    const index = drawBelow(random, pool.length)
    const chosen = pool[index]!
    if (options.trace) {
      const candidates = pool.map((r, i) => ({ ...describe(r), runningSum: i + 1 }))
      take(chosen)
      trace({
        kind: 'srv-draw',
        mode,
        priority: null,
        candidates,
        range: [1, candidates.length],
        drawn: index + 1,
        chosenIndex: index,
        chosen: describe(chosen),
        remaining: pool.length
      })
    } else {
      take(chosen)
    }
    return chosen
  }

  function nextRfc(): R | undefined {
    if (pool.length === 0) return undefined
    let priority = Number.POSITIVE_INFINITY
    for (const r of pool) if (r.priority < priority) priority = r.priority
    const zeros: R[] = []
    const weighted: R[] = []
    for (const r of pool) if (r.priority === priority) (r.weight === 0 ? zeros : weighted).push(r)
    shuffle(zeros, random)
    const arranged = zeros.concat(weighted)

    let sum = 0
    const runningSums = arranged.map((r) => (sum += r.weight))
    // See the DECISION in the header comment.
    const low = zeros.length > 0 ? 0 : 1
    const drawn = sum === 0 ? 0 : low + drawBelow(random, sum - low + 1)
    const chosenIndex = runningSums.findIndex((running) => running >= drawn)
    const chosen = arranged[chosenIndex]!
    take(chosen)
    if (options.trace) {
      const candidates = arranged.map((r, i) => ({ ...describe(r), runningSum: runningSums[i]! }))
      trace({
        kind: 'srv-draw',
        mode,
        priority,
        candidates,
        range: [low, sum],
        drawn,
        chosenIndex,
        chosen: describe(chosen),
        remaining: pool.length
      })
    }
    return chosen
  }

  function remove(match: (record: R) => boolean, reason: string): number {
    const removed = pool.filter(match)
    for (const r of removed) take(r)
    if (removed.length > 0) {
      trace({ kind: 'srv-remove', removed: removed.map((r) => ({ target: r.target, port: r.port })), reason, remaining: pool.length })
    }
    return removed.length
  }

  return {
    next: mode === 'legacy-random' ? nextLegacy : nextRfc,
    remove,
    removeHost: (target, port, reason = 'host failed') =>
      remove((r) => sameHost(r.target, target) && (port === undefined || r.port === port), reason),
    get remaining() {
      return [...pool]
    }
  }
}

/** The complete order in which the records would be tried (drains a fresh picker). */
export function orderSrvRecords<R extends SrvCandidate>(records: readonly R[], options: SrvSelectionOptions): R[] {
  const picker = createSrvPicker(records, options)
  const order: R[] = []
  for (let r = picker.next(); r !== undefined; r = picker.next()) order.push(r)
  return order
}

/**
 * Exact probability of each record being drawn first under `mode` (same index as `records`). Handy for
 * showing "chance to be picked first" next to each record.
 */
export function firstPickProbabilities(records: readonly SrvCandidate[], mode: SrvSelectionMode = 'rfc2782'): number[] {
  records.forEach(checkRecord)
  if (records.length === 0) return []
  if (mode === 'legacy-random') return records.map(() => 1 / records.length)
  const priority = Math.min(...records.map((r) => r.priority))
  const group = records.filter((r) => r.priority === priority)
  const zeros = group.filter((r) => r.weight === 0).length
  const sum = group.reduce((s, r) => s + r.weight, 0)
  return records.map((r) => {
    if (r.priority !== priority) return 0
    if (sum === 0) return 1 / group.length
    if (zeros === 0) return r.weight / sum
    return r.weight === 0 ? 1 / ((sum + 1) * zeros) : r.weight / (sum + 1)
  })
}
