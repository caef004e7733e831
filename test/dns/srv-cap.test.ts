/**
 * Issue 11: a DNS server that answers with 1,200 SRV targets over TCP. At most MAX_SRV_TARGETS_PER_DOMAIN (32)
 * are taken — the lowest priorities — the rest are counted as ignored in the result and the trace, and the
 * address lookups (the queries) stay bounded by the cap.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { MAX_SRV_TARGETS_PER_DOMAIN } from '../../src-main/common/defaults'
import { lookupSrv } from '../../src-main/dns/srv-lookup'
import { tracedDnsClient } from '../helpers/dns-client'
import type { FakeDnsServer } from '../helpers/fake-dns-server'
import { FLOOD_QNAME, startSrvFloodServer } from './srv-flood-server'

const FLOOD = 1200
const servers: FakeDnsServer[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

describe('SRV target cap', () => {
  it('takes 32 of 1,200 targets (the lowest priorities), counts the rest as ignored and asks about 32 targets only', async () => {
    const server = await startSrvFloodServer({ count: FLOOD, addresses: 'nxdomain' })
    servers.push(server)
    const { dns, events } = tracedDnsClient([server.spec], { timeoutMs: 5000 })

    const result = await lookupSrv(dns, FLOOD_QNAME)

    expect(result.records).toHaveLength(MAX_SRV_TARGETS_PER_DOMAIN)
    expect(result.ignoredRecords).toBe(FLOOD - MAX_SRV_TARGETS_PER_DOMAIN)
    // Priorities run FLOOD … 1 on the wire: the 32 a client prefers are 1 … 32.
    expect(result.records.map((r) => r.priority).sort((a, b) => a - b)).toEqual(
      Array.from({ length: MAX_SRV_TARGETS_PER_DOMAIN }, (_, i) => i + 1)
    )
    const srvEvent = events.find((e) => e.kind === 'srv-records')
    expect(srvEvent).toMatchObject({ ignored: FLOOD - MAX_SRV_TARGETS_PER_DOMAIN })
    expect(srvEvent?.kind === 'srv-records' ? srvEvent.records : []).toHaveLength(MAX_SRV_TARGETS_PER_DOMAIN)

    const addressQueries = server.queries.filter((q) => q.type === 'A' || q.type === 'AAAA')
    expect(new Set(addressQueries.map((q) => q.name)).size).toBe(MAX_SRV_TARGETS_PER_DOMAIN)
    // SRV over UDP (truncated) and TCP, then A and AAAA per taken target: 2 + 64, not 2,402.
    expect(server.queries.length).toBeLessThanOrEqual(2 + 2 * MAX_SRV_TARGETS_PER_DOMAIN)
  })

  it('a smaller cap can be asked for, and records under the cap are all taken', async () => {
    const server = await startSrvFloodServer({ count: 5, addresses: 'nxdomain' })
    servers.push(server)
    const { dns } = tracedDnsClient([server.spec], { timeoutMs: 5000 })
    expect((await lookupSrv(dns, FLOOD_QNAME)).ignoredRecords).toBe(0)
    const capped = await lookupSrv(dns, FLOOD_QNAME, { maxRecords: 2, resolveAddresses: false })
    expect(capped.records.map((r) => r.priority)).toEqual([2, 1])
    expect(capped.ignoredRecords).toBe(3)
  })

  it('keeps the records found when the signal stops the address lookups, and counts the unfinished targets', async () => {
    const server = await startSrvFloodServer({ count: 40, addresses: 'silent' })
    servers.push(server)
    const stop = new AbortController()
    // Stop when the first address query leaves (seen in the client's own trace): an event, not a sleep.
    const { dns } = tracedDnsClient([server.spec], {
      timeoutMs: 5000,
      trace: (e) => {
        if (e.kind === 'dns-query' && e.qtype !== 'SRV') stop.abort()
      }
    })
    const result = await lookupSrv(dns, FLOOD_QNAME, { signal: stop.signal })
    expect(result.records).toHaveLength(MAX_SRV_TARGETS_PER_DOMAIN)
    expect(result.ignoredRecords).toBe(40 - MAX_SRV_TARGETS_PER_DOMAIN)
    expect(result.unfinishedTargets).toBe(MAX_SRV_TARGETS_PER_DOMAIN)
    expect(result.records.every((r) => r.addressSource === 'none' && r.addressLookups.every((l) => l.code === 'aborted'))).toBe(true)
  })
})
