/**
 * The in-memory count index: CMID → last seen, per application and per KMS counted ID. The host answers every
 * request with the number of distinct CMIDs in the counting window; asking SQLite each time would cost a query
 * per request, so the client log keeps this index, rebuilt from the database at open and updated synchronously
 * by record(). The database stays the source of truth; the index only makes the per-request count cheap.
 *
 * Like a real host, it keeps only the most recent clients of each application and KMS counted ID (2 × the highest
 * N it accepts, common/defaults.ts): the count never needs more, and a client inventing CMIDs cannot grow it.
 */
import { MAX_CLIENTS_PER_COUNT } from '../common/defaults'
import type { ClientLogEntry } from './client-log-entry'
import type { CountedClient } from './client-log-schema'

export const DAY_MS = 86_400_000
/** A genuine host counts the distinct CMIDs of the last 30 days (docs/protocol.md §10.1). */
export const DEFAULT_COUNT_WINDOW_MS = 30 * DAY_MS
/** countFor() forgets clients that left the counting window at most this often (the counts do not depend on it). */
const EXPIRE_EVERY_MS = 1000

/** Counting scope: per application (what Windows hosts do) or per KMS counted ID. */
export type CountKey = { applicationId: string } | { kmsCountedId: string }

export interface CountSummary {
  byApplication: Array<{ applicationId: string; distinctClients: number }>
  byKmsCountedId: Array<{ kmsCountedId: string; distinctClients: number }>
}

type CountScope = 'application' | 'kmsCountedId'

function scopeOf(key: CountKey): CountScope {
  return 'applicationId' in key ? 'application' : 'kmsCountedId'
}

function idOf(key: CountKey): string {
  return ('applicationId' in key ? key.applicationId : key.kmsCountedId).toLowerCase()
}

class ClientCountIndex {
  /** at most this many clients per application and per KMS counted ID: the most recent ones */
  constructor(private readonly maxClientsPerKey: number = MAX_CLIENTS_PER_COUNT) {}

  private readonly scopes: Record<CountScope, Map<string, ClientsByLastSeen>> = {
    application: new Map(),
    kmsCountedId: new Map()
  }

  clear(): void {
    this.scopes.application.clear()
    this.scopes.kmsCountedId.clear()
  }

  /** Counts the entry's client if the entry counts (outcome 'ok' with all three IDs). */
  observe(entry: ClientLogEntry): void {
    if (entry.outcome !== 'ok' || entry.cmid === null || entry.applicationId === null || entry.kmsCountedId === null) {
      return
    }
    this.add(entry.applicationId, entry.kmsCountedId, entry.cmid, entry.timeMs)
  }

  add(applicationId: string, kmsCountedId: string, cmid: string, timeMs: number): void {
    this.clients('application', applicationId).touch(cmid, timeMs, this.maxClientsPerKey)
    this.clients('kmsCountedId', kmsCountedId).touch(cmid, timeMs, this.maxClientsPerKey)
  }

  /** Distinct CMIDs for `key` last seen at or after `sinceMs`. */
  count(key: CountKey, sinceMs: number): number {
    return this.countIn(scopeOf(key), idOf(key), sinceMs)
  }

  /** count(), with `cmid` counted too if it is not among them (the Count a host answers that client with). */
  countIncluding(key: CountKey, cmid: string, sinceMs: number): number {
    const seen = this.scopes[scopeOf(key)].get(idOf(key))?.lastSeen(cmid.toLowerCase())
    return this.count(key, sinceMs) + (seen !== undefined && seen >= sinceMs ? 0 : 1)
  }

  /** Distinct CMIDs last seen at or after `sinceMs`, per application and per KMS counted ID, sorted by ID. */
  summary(sinceMs: number): CountSummary {
    return {
      byApplication: this.ids('application').map((applicationId) => ({
        applicationId,
        distinctClients: this.countIn('application', applicationId, sinceMs)
      })),
      byKmsCountedId: this.ids('kmsCountedId').map((kmsCountedId) => ({
        kmsCountedId,
        distinctClients: this.countIn('kmsCountedId', kmsCountedId, sinceMs)
      }))
    }
  }

  /** Forgets every client last seen before `beforeMs`. */
  expire(beforeMs: number): void {
    for (const groups of Object.values(this.scopes)) {
      for (const [id, clients] of groups) {
        clients.expire(beforeMs)
        if (clients.size === 0) groups.delete(id)
      }
    }
  }

  private countIn(scope: CountScope, id: string, sinceMs: number): number {
    return this.scopes[scope].get(id)?.countSince(sinceMs) ?? 0
  }

  private ids(scope: CountScope): string[] {
    return [...this.scopes[scope].keys()].sort()
  }

  private clients(scope: CountScope, id: string): ClientsByLastSeen {
    let clients = this.scopes[scope].get(id)
    if (!clients) {
      clients = new ClientsByLastSeen()
      this.scopes[scope].set(id, clients)
    }
    return clients
  }
}

/**
 * CMID → last seen (epoch ms) of one application or KMS counted ID. The Map is kept in ascending last-seen
 * order (re-inserting moves an entry to the end), so expiring old clients and counting "since t" only touch the
 * old end. If the clock goes backwards the order breaks; the map is then marked unsorted and sorted again the
 * next time it is expired.
 */
class ClientsByLastSeen {
  private entries = new Map<string, number>()
  private newest = -Infinity
  private sorted = true

  get size(): number {
    return this.entries.size
  }

  lastSeen(cmid: string): number | undefined {
    return this.entries.get(cmid)
  }

  /** Records a client seen at `timeMs`; beyond `max` clients the one seen longest ago is forgotten. */
  touch(cmid: string, timeMs: number, max: number): void {
    const previous = this.entries.get(cmid)
    if (previous !== undefined && previous >= timeMs) return
    this.entries.delete(cmid)
    this.entries.set(cmid, timeMs)
    if (timeMs < this.newest) this.sorted = false
    else this.newest = timeMs
    if (this.entries.size > max) this.forgetOldest()
  }

  private forgetOldest(): void {
    if (!this.sorted) this.sort()
    const oldest = this.entries.keys().next()
    if (!oldest.done) this.entries.delete(oldest.value)
  }

  private sort(): void {
    this.entries = new Map([...this.entries].sort((a, b) => a[1] - b[1]))
    this.sorted = true
  }

  countSince(sinceMs: number): number {
    let older = 0
    for (const seen of this.entries.values()) {
      if (seen >= sinceMs) {
        if (this.sorted) break
      } else {
        older += 1
      }
    }
    return this.entries.size - older
  }

  expire(beforeMs: number): void {
    if (!this.sorted) this.sort()
    for (const [cmid, seen] of this.entries) {
      if (seen >= beforeMs) break
      this.entries.delete(cmid)
    }
  }
}

/**
 * The counting window of a client log (both stores, in-process and threaded, count through it): distinct clients
 * in the `windowMs` ending now, by the injected clock. Forgetting old clients is throttled, counting is not.
 */
export class CountingWindow extends ClientCountIndex {
  /** the `since` of the last expire() done by countFor() */
  private expiredUntil = -Infinity

  constructor(
    readonly windowMs: number,
    private readonly now: () => number
  ) {
    super()
  }

  /** The window's start at `nowMs` (default: the clock's now). */
  startAt(nowMs: number = this.now()): number {
    return nowMs - this.windowMs
  }

  /** Distinct clients for `key` seen since `sinceMs`, never further back than the window's start. */
  distinctClients(key: CountKey, sinceMs: number): number {
    return this.count(key, Math.max(sinceMs, this.startAt()))
  }

  /** The Count to answer `cmid` with at `nowMs`: distinct clients in the window, this one included, capped at `cap`. */
  countFor(key: CountKey, cmid: string, nowMs: number, cap?: number): number {
    const since = this.startAt(nowMs)
    // Counting honours `since` by itself; forgetting old clients only keeps memory bounded, so once a second will do
    // (per request it was ~2 µs of every exchange in host profiles).
    if (since - this.expiredUntil >= EXPIRE_EVERY_MS || since < this.expiredUntil) {
      this.expire(since)
      this.expiredUntil = since
    }
    const count = this.countIncluding(key, cmid, since)
    return cap === undefined ? count : Math.min(count, cap)
  }

  /** Starts over from the stored clients (the source of truth) plus the entries recorded but not yet stored. */
  rebuild(counted: Iterable<CountedClient>, pending: Iterable<ClientLogEntry>): void {
    this.clear()
    for (const c of counted) this.add(c.applicationId, c.kmsCountedId, c.cmid, c.lastSeenMs)
    for (const entry of pending) this.observe(entry)
  }

  /** summary() of the window ending at `nowMs`. */
  summaryAt(nowMs: number): CountSummary {
    return this.summary(this.startAt(nowMs))
  }
}
