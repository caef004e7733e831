/**
 * What the lab-host page draws: per KMS counted ID, the count the host answers against the group's threshold
 * (whether a client of that group would activate), and requests per second over the last minutes.
 *
 * The counts come from the client log (the host's source of truth): the newest rows, grouped by KMS counted ID;
 * a group's count is the Count the host last answered one of its clients with — the number a client of that group
 * sees. The rate comes from the host's own counters as the `labHostUpdate` events carry them (at most four a
 * second while requests arrive), added into fixed buckets, so nothing polls the host.
 */
import type { HandlerTable, LabHostCountGroup, LabHostCountsView, LabHostView } from '../api/contract'
import { productCatalog } from '../protocol'
import type { ClientLogRow } from '../storage/client-log'
import type { EventHub } from './event-hub'

/** Rows read from the log for the groups (the newest ones); the log itself keeps 30 days. */
const COUNT_ROWS = 1000
/** The chart: 5 minutes in 5-second buckets. */
const RATE_BUCKET_MS = 5_000
const RATE_BUCKETS = 60

const COUNT_WINDOW_MS = 30 * 86_400_000

type RequestCounters = NonNullable<LabHostView['status']>['counters']['requests']

function requestTotal(requests: RequestCounters): number {
  return Object.values(requests).reduce((sum, entry) => sum + entry.ok + entry.refused, 0)
}

/** Requests per bucket from the counters' increments; a restarted host (counters back to zero) starts afresh. */
export class RequestRate {
  private readonly buckets = new Map<number, number>()
  private lastTotal = 0
  private startedAtMs: number | null = null

  constructor(private readonly now: () => number = Date.now) {}

  /** Call with each update's status (null: stopped). */
  observe(status: Pick<NonNullable<LabHostView['status']>, 'startedAtMs' | 'counters'> | null): void {
    if (status === null) {
      this.startedAtMs = null
      this.lastTotal = 0
      return
    }
    const total = requestTotal(status.counters.requests)
    if (status.startedAtMs !== this.startedAtMs) {
      this.startedAtMs = status.startedAtMs
      this.lastTotal = 0
    }
    const added = total - this.lastTotal
    this.lastTotal = total
    if (added <= 0) return
    const bucket = Math.floor(this.now() / RATE_BUCKET_MS)
    this.buckets.set(bucket, (this.buckets.get(bucket) ?? 0) + added)
    for (const key of this.buckets.keys()) if (key <= bucket - RATE_BUCKETS) this.buckets.delete(key)
  }

  series(): LabHostCountsView['rate'] {
    const last = Math.floor(this.now() / RATE_BUCKET_MS)
    const requests: number[] = []
    for (let bucket = last - RATE_BUCKETS + 1; bucket <= last; bucket++) requests.push(this.buckets.get(bucket) ?? 0)
    return { bucketMs: RATE_BUCKET_MS, endMs: (last + 1) * RATE_BUCKET_MS, requests }
  }
}

/** Groups the newest log rows by KMS counted ID (answered requests of the counting window only). */
function countGroups(rows: readonly ClientLogRow[], nowMs: number): LabHostCountGroup[] {
  const groups = new Map<string, { rows: ClientLogRow[] }>()
  for (const row of rows) {
    if (row.outcome !== 'ok' || row.kmsCountedId === null || row.timeMs < nowMs - COUNT_WINDOW_MS) continue
    const group = groups.get(row.kmsCountedId) ?? { rows: [] }
    group.rows.push(row)
    groups.set(row.kmsCountedId, group)
  }
  return [...groups.entries()]
    .map(([kmsCountedId, group]) => {
      const newest = group.rows.reduce((a, b) => (b.timeMs > a.timeMs || (b.timeMs === a.timeMs && b.id > a.id) ? b : a))
      const known = productCatalog.kmsCountedIdById(kmsCountedId)
      const asked = Math.max(0, ...group.rows.map((row) => row.requiredClientCount ?? 0))
      const threshold = asked > 0 ? asked : (known?.requiredClientCount ?? 0)
      const count = newest.countReturned ?? 0
      return {
        kmsCountedId,
        name: known?.name ?? kmsCountedId,
        threshold,
        count,
        distinctClients: new Set(group.rows.map((row) => row.cmid)).size,
        wouldActivate: count >= threshold,
        lastRequestMs: newest.timeMs
      }
    })
    .sort((a, b) => a.name.localeCompare(b.name))
}

export interface LabHostInsight {
  handlers: Pick<HandlerTable, 'labHostCounts'>
  close(): void
}

export function createLabHostInsight(
  labHost: Pick<HandlerTable, 'labHostStatus' | 'labHostClients'>,
  events: EventHub,
  now: () => number = Date.now
): LabHostInsight {
  const rate = new RequestRate(now)
  const off = events.on('labHostUpdate', (view) => rate.observe(view.status))
  return {
    handlers: {
      labHostCounts: async () => {
        const view = await labHost.labHostStatus(undefined)
        rate.observe(view.status)
        if (!view.running) return { running: false, groups: [], rate: rate.series(), rowsRead: 0, rowsLimited: false }
        const { rows } = await labHost.labHostClients({ limit: COUNT_ROWS })
        return {
          running: true,
          groups: countGroups(rows, now()),
          rate: rate.series(),
          rowsRead: rows.length,
          rowsLimited: rows.length >= COUNT_ROWS
        }
      }
    },
    close: off
  }
}
