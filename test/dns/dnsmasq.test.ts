/**
 * Integration: the DNS client and SRV lookup against a real dnsmasq on 127.0.0.1 and [::1].
 * All records point at loopback addresses only. Requires dnsmasq (`apt-get install -y dnsmasq-base`).
 */
import { createSocket } from 'node:dgram'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { lookupKmsSrv } from '../../src-main/dns/srv-lookup'
import { createSeededRandom } from '../../src-main/discovery/srv-prng'
import { createSrvPicker, orderSrvRecords } from '../../src-main/discovery/srv-selection'
import { dnsError, tracedDnsClient } from '../helpers/dns-client'
import { startDnsmasq, type RunningDnsmasq } from '../helpers/dnsmasq'

const BIG_COUNT = 60

const config = [
  // Names under these domains are answered from local data only: unknown names get NXDOMAIN.
  'local=/one.test/',
  'local=/prio.test/',
  'local=/cname.test/',
  'local=/redirect.test/',
  'local=/big.test/',
  'local=/v6.test/',
  'local=/nodata.test/',

  // One host, IPv4 + IPv6 addresses (returned in the additional section).
  'srv-host=_vlmcs._tcp.one.test,kms1.one.test,1688,0,0',
  'host-record=kms1.one.test,127.0.0.2,::1',

  // Priority groups and weights, including weight 0.
  'srv-host=_vlmcs._tcp.prio.test,kms-a.prio.test,1688,0,60',
  'srv-host=_vlmcs._tcp.prio.test,kms-b.prio.test,1688,0,30',
  'srv-host=_vlmcs._tcp.prio.test,kms-z.prio.test,1688,0,0',
  'srv-host=_vlmcs._tcp.prio.test,kms-backup.prio.test,1700,10,5',
  'host-record=kms-a.prio.test,127.0.0.2',
  'host-record=kms-b.prio.test,127.0.0.3',
  'host-record=kms-z.prio.test,127.0.0.4',
  'host-record=kms-backup.prio.test,127.0.0.5',

  // SRV target that is a CNAME chain (no additional data: addresses must be looked up).
  'srv-host=_vlmcs._tcp.cname.test,alias.cname.test,1688,0,0',
  'cname=alias.cname.test,hop.cname.test',
  'cname=hop.cname.test,real.cname.test',
  'host-record=real.cname.test,127.0.0.6',

  // The SRV name itself is a CNAME to another domain's SRV records.
  'cname=_vlmcs._tcp.redirect.test,_vlmcs._tcp.one.test',

  // Many records: the UDP reply is truncated, the client must retry over TCP.
  ...Array.from({ length: BIG_COUNT }, (_, i) => `srv-host=_vlmcs._tcp.big.test,kms-host-number-${i + 1}.big.test,1688,0,${i + 1}`),
  ...Array.from({ length: BIG_COUNT }, (_, i) => `host-record=kms-host-number-${i + 1}.big.test,127.0.1.${i + 1}`),

  // IPv6-only target.
  'srv-host=_vlmcs._tcp.v6.test,kms6.v6.test,1688,0,0',
  'host-record=kms6.v6.test,::1',

  // The name exists (TXT) but has no SRV records.
  'txt-record=_vlmcs._tcp.nodata.test,"no KMS here"'
]

let dnsmasq: RunningDnsmasq

beforeAll(async () => {
  dnsmasq = await startDnsmasq(config, { ipv6: true })
})

afterAll(async () => {
  await dnsmasq?.stop()
})

const client = (servers: string[] = [dnsmasq.spec4]) => tracedDnsClient(servers)

describe('dnsmasq: SRV lookups', () => {
  it('one host: SRV fields, TTL, addresses from the additional section', async () => {
    const { dns, events } = client()
    const result = await lookupKmsSrv(dns, 'one.test')
    expect(result).toMatchObject({
      qname: '_vlmcs._tcp.one.test',
      ownerName: '_vlmcs._tcp.one.test',
      server: dnsmasq.spec4,
      transport: 'udp',
      authoritative: true,
      minTtl: 300
    })
    expect(result.records).toHaveLength(1)
    const [record] = result.records
    expect(record).toMatchObject({ priority: 0, weight: 0, port: 1688, target: 'kms1.one.test', ttl: 300, addressSource: 'additional' })
    expect(record?.addresses.map((a) => `${a.family}:${a.address}`).sort()).toEqual(['4:127.0.0.2', '6:::1'])
    expect(events.filter((e) => e.kind === 'dns-query')).toHaveLength(1)
  })

  it('priority groups and weights: records intact, selection honours priority', async () => {
    const result = await lookupKmsSrv(client().dns, 'prio.test')
    const summary = result.records.map((r) => `${r.target}:${r.port}/${r.priority}/${r.weight}`).sort()
    expect(summary).toEqual([
      'kms-a.prio.test:1688/0/60',
      'kms-b.prio.test:1688/0/30',
      'kms-backup.prio.test:1700/10/5',
      'kms-z.prio.test:1688/0/0'
    ])
    const addressOf = Object.fromEntries(result.records.map((r) => [r.target, r.addresses.map((a) => a.address)]))
    expect(addressOf).toEqual({
      'kms-a.prio.test': ['127.0.0.2'],
      'kms-b.prio.test': ['127.0.0.3'],
      'kms-z.prio.test': ['127.0.0.4'],
      'kms-backup.prio.test': ['127.0.0.5']
    })

    const rng = createSeededRandom(2782)
    for (let i = 0; i < 500; i++) {
      const order = orderSrvRecords(result.records, { random: rng.int })
      expect(order.at(-1)?.target).toBe('kms-backup.prio.test')
      expect(new Set(order.map((r) => r.target)).size).toBe(4)
    }
    // The client flow: pick, fail, remove, pick again.
    const picker = createSrvPicker(result.records, { random: rng.int })
    const first = picker.next()!
    picker.removeHost(first.target)
    const rest = [picker.next(), picker.next(), picker.next()].map((r) => r?.target)
    expect(rest).not.toContain(first.target)
    expect(rest[2]).toBe('kms-backup.prio.test')
    expect(picker.next()).toBeUndefined()
  })

  it('target behind a CNAME chain: addresses looked up (A + AAAA), chain reported', async () => {
    const { dns, events } = client()
    const result = await lookupKmsSrv(dns, 'cname.test')
    const [record] = result.records
    expect(record).toMatchObject({
      target: 'alias.cname.test',
      addressSource: 'lookup',
      addresses: [{ address: '127.0.0.6', family: 4, ttl: 300 }]
    })
    expect(record?.targetCnames).toEqual(['hop.cname.test', 'real.cname.test'])
    expect(record?.addressLookups.map((l) => `${l.qtype}:${l.outcome}`)).toEqual(['A:found', 'AAAA:nodata'])
    const queried = events.filter((e) => e.kind === 'dns-query').map((e) => (e.kind === 'dns-query' ? `${e.qname}|${e.qtype}` : ''))
    expect(queried).toEqual(expect.arrayContaining(['_vlmcs._tcp.cname.test|SRV', 'alias.cname.test|A', 'alias.cname.test|AAAA']))
  })

  it('SRV name that is a CNAME: followed to the other domain', async () => {
    const result = await lookupKmsSrv(client().dns, 'redirect.test')
    expect(result.ownerName).toBe('_vlmcs._tcp.one.test')
    expect(result.cnameChain).toEqual(['_vlmcs._tcp.one.test'])
    expect(result.records.map((r) => r.target)).toEqual(['kms1.one.test'])
  })

  it('large answer: UDP reply truncated, TCP retry returns every record', async () => {
    const { dns, events } = client()
    // The transport is under test here, not the per-domain cap (test/dns/srv-cap.test.ts): take every record.
    const result = await lookupKmsSrv(dns, 'big.test', { maxRecords: BIG_COUNT })
    expect(result.transport).toBe('tcp')
    expect(result.records).toHaveLength(BIG_COUNT)
    const udpReply = events.find((e) => e.kind === 'dns-reply' && e.transport === 'udp' && e.qtype === 'SRV')
    expect(udpReply).toMatchObject({ truncated: true })
    expect(events.some((e) => e.kind === 'dns-tcp-fallback')).toBe(true)
    for (const record of result.records) {
      const n = Number(/kms-host-number-(\d+)\./.exec(record.target)?.[1])
      expect(record.weight).toBe(n)
      expect(record.addresses.map((a) => a.address)).toEqual([`127.0.1.${n}`])
    }
  })

  it('IPv6-only target', async () => {
    const result = await lookupKmsSrv(client().dns, 'v6.test')
    expect(result.records[0]?.addresses).toEqual([{ address: '::1', family: 6, ttl: 300 }])
  })

  it('NXDOMAIN', async () => {
    const error = await dnsError(lookupKmsSrv(client().dns, 'missing.one.test'))
    expect(error).toMatchObject({ code: 'nxdomain', rcode: 'NXDOMAIN', server: dnsmasq.spec4 })
  })

  it('name without SRV records (NOERROR, no data)', async () => {
    const error = await dnsError(lookupKmsSrv(client().dns, 'nodata.test'))
    expect(error.code).toBe('nodata')
  })

  it('a zone dnsmasq does not serve: REFUSED (it has no upstream, and we have no public fallback)', async () => {
    const error = await dnsError(lookupKmsSrv(client().dns, 'elsewhere.invalid'))
    expect(error.code).toBe('refused')
  })
})

describe('dnsmasq: servers', () => {
  it('answers over IPv6 on [::1]', async () => {
    const { dns, events } = client([dnsmasq.spec6!])
    const result = await lookupKmsSrv(dns, 'one.test')
    expect(result.server).toBe(dnsmasq.spec6)
    expect(result.records[0]?.target).toBe('kms1.one.test')
    expect(events.every((e) => e.kind !== 'dns-query' || e.server === dnsmasq.spec6)).toBe(true)
  })

  it('TCP retry works over IPv6 too', async () => {
    const result = await lookupKmsSrv(client([dnsmasq.spec6!]).dns, 'big.test', { resolveAddresses: false, maxRecords: BIG_COUNT })
    expect(result).toMatchObject({ transport: 'tcp', server: dnsmasq.spec6 })
    expect(result.records).toHaveLength(BIG_COUNT)
  })

  it('moves past an unreachable server to dnsmasq', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const s = createSocket('udp4')
      s.bind(0, '127.0.0.1', () => {
        const port = s.address().port
        s.close(() => resolve(port))
      })
    })
    const { dns, events } = client([`127.0.0.1:${closedPort}`, dnsmasq.spec4])
    const result = await lookupKmsSrv(dns, 'one.test')
    expect(result.server).toBe(dnsmasq.spec4)
    expect(events.find((e) => e.kind === 'dns-next-server')).toMatchObject({ from: `127.0.0.1:${closedPort}`, to: dnsmasq.spec4 })
  })
})
