/**
 * SRV lookup logic (CNAME handling, target addresses, "." targets) against a scripted server, where each
 * situation can be produced exactly. The same paths against real dnsmasq are in dnsmasq.test.ts.
 */
import type * as dnsPacket from 'dns-packet'
import { afterEach, describe, expect, it } from 'vitest'
import { kmsSrvName, lookupKmsSrv, lookupSrv, resolveHostAddresses } from '../../src-main/dns/srv-lookup'
import { dnsError, tracedDnsClient } from '../helpers/dns-client'
import { buildReply, srvAnswer, startFakeDnsServer, type FakeDnsServer, type ReplyParts } from '../helpers/fake-dns-server'

type Zone = Record<string, ReplyParts | 'silent'>

const servers: FakeDnsServer[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

/** Answers `name|TYPE` from the zone; anything else gets NXDOMAIN. */
/** `timeoutMs` is generous by default so a slow machine cannot fail tests that expect replies. */
async function zoneServer(zone: Zone, timeoutMs = 5000) {
  const server = await startFakeDnsServer({
    udp: (q) => {
      const entry = zone[`${q.name.toLowerCase()}|${q.type}`]
      if (entry === 'silent') return []
      return [buildReply(q, entry ?? { rcode: 3 })]
    }
  })
  servers.push(server)
  return { server, ...tracedDnsClient([server.spec], { timeoutMs, attempts: 1 }) }
}

const a = (name: string, address: string, ttl = 300): dnsPacket.Answer => ({ name, type: 'A', class: 'IN', ttl, data: address })
const aaaa = (name: string, address: string, ttl = 300): dnsPacket.Answer => ({ name, type: 'AAAA', class: 'IN', ttl, data: address })
const cname = (name: string, target: string, ttl = 300): dnsPacket.Answer => ({ name, type: 'CNAME', class: 'IN', ttl, data: target })

describe('kmsSrvName', () => {
  it('prefixes _vlmcs._tcp and canonicalises', () => {
    expect(kmsSrvName('Corp.Example.')).toBe('_vlmcs._tcp.corp.example')
  })
  it('rejects an empty or invalid domain', () => {
    expect(() => kmsSrvName('  ')).toThrow(expect.objectContaining({ code: 'invalid-name' }))
    expect(() => kmsSrvName('corp..example')).toThrow(expect.objectContaining({ code: 'invalid-name' }))
  })
})

describe('lookupSrv', () => {
  it('takes target addresses from the additional section when present (no extra queries)', async () => {
    const { dns, server, events } = await zoneServer({
      '_vlmcs._tcp.corp.test|SRV': {
        answers: [
          srvAnswer('_vlmcs._tcp.corp.test', 'kms1.corp.test', 1688, 0, 10, 900),
          srvAnswer('_vlmcs._tcp.corp.test', 'kms2.corp.test', 1689, 5, 0, 600)
        ],
        additionals: [
          a('kms1.corp.test', '127.0.0.2', 120),
          aaaa('KMS1.corp.test', '::1', 100),
          a('kms2.corp.test', '127.0.0.3'),
          a('unrelated.test', '127.0.0.9')
        ]
      }
    })
    const result = await lookupKmsSrv(dns, 'corp.test')
    expect(result).toMatchObject({
      qname: '_vlmcs._tcp.corp.test',
      ownerName: '_vlmcs._tcp.corp.test',
      cnameChain: [],
      transport: 'udp',
      minTtl: 600
    })
    expect(result.records).toEqual([
      {
        priority: 0,
        weight: 10,
        port: 1688,
        target: 'kms1.corp.test',
        ttl: 900,
        addressSource: 'additional',
        addressLookups: [],
        targetCnames: [],
        addresses: [
          { address: '127.0.0.2', family: 4, ttl: 120 },
          { address: '::1', family: 6, ttl: 100 }
        ]
      },
      {
        priority: 5,
        weight: 0,
        port: 1689,
        target: 'kms2.corp.test',
        ttl: 600,
        addressSource: 'additional',
        addressLookups: [],
        targetCnames: [],
        addresses: [{ address: '127.0.0.3', family: 4, ttl: 300 }]
      }
    ])
    expect(server.queries).toHaveLength(1)
    expect(events.find((e) => e.kind === 'srv-records')).toMatchObject({
      records: [
        { target: 'kms1.corp.test', ttl: 900 },
        { target: 'kms2.corp.test', ttl: 600 }
      ]
    })
  })

  it('looks up A and AAAA when the additional section has nothing for a target, following CNAMEs', async () => {
    const { dns, server } = await zoneServer({
      '_vlmcs._tcp.corp.test|SRV': { answers: [srvAnswer('_vlmcs._tcp.corp.test', 'alias.corp.test')] },
      'alias.corp.test|A': { answers: [cname('alias.corp.test', 'real.corp.test', 50), a('real.corp.test', '127.0.0.4')] },
      'alias.corp.test|AAAA': { answers: [cname('alias.corp.test', 'real.corp.test', 50)] },
      'real.corp.test|AAAA': { answers: [aaaa('real.corp.test', '::1')] }
    })
    const result = await lookupSrv(dns, '_vlmcs._tcp.corp.test')
    const [record] = result.records
    expect(record?.addressSource).toBe('lookup')
    expect(record?.addresses).toEqual([
      { address: '127.0.0.4', family: 4, ttl: 50 },
      { address: '::1', family: 6, ttl: 50 }
    ])
    expect(record?.targetCnames).toEqual(['real.corp.test'])
    expect(record?.addressLookups).toEqual([
      { qtype: 'A', outcome: 'found' },
      { qtype: 'AAAA', outcome: 'found' }
    ])
    // The AAAA chain ended without an address in that answer, so real.corp.test was asked directly.
    expect(server.queries.map((q) => `${q.name}|${q.type}`)).toContain('real.corp.test|AAAA')
  })

  it('follows a CNAME chain on the SRV name itself, inside one answer and across queries', async () => {
    const { dns, events } = await zoneServer({
      '_vlmcs._tcp.corp.test|SRV': { answers: [cname('_vlmcs._tcp.corp.test', '_vlmcs._tcp.hop.test', 30)] },
      '_vlmcs._tcp.hop.test|SRV': {
        answers: [
          cname('_vlmcs._tcp.hop.test', '_vlmcs._tcp.kms.test', 40),
          srvAnswer('_vlmcs._tcp.kms.test', 'kms.kms.test', 1688, 0, 0, 600)
        ],
        additionals: [a('kms.kms.test', '127.0.0.2')]
      }
    })
    const result = await lookupKmsSrv(dns, 'corp.test')
    expect(result.ownerName).toBe('_vlmcs._tcp.kms.test')
    expect(result.cnameChain).toEqual(['_vlmcs._tcp.hop.test', '_vlmcs._tcp.kms.test'])
    expect(result.minTtl).toBe(30)
    expect(events.filter((e) => e.kind === 'dns-cname').map((e) => (e.kind === 'dns-cname' ? `${e.from}>${e.to}` : ''))).toEqual([
      '_vlmcs._tcp.corp.test>_vlmcs._tcp.hop.test',
      '_vlmcs._tcp.hop.test>_vlmcs._tcp.kms.test'
    ])
  })

  it('detects a CNAME loop', async () => {
    const { dns } = await zoneServer({
      '_vlmcs._tcp.corp.test|SRV': {
        answers: [cname('_vlmcs._tcp.corp.test', 'b.corp.test'), cname('b.corp.test', '_vlmcs._tcp.corp.test')]
      }
    })
    const error = await dnsError(lookupKmsSrv(dns, 'corp.test'))
    expect(error.code).toBe('cname-loop')
  })

  it('detects a loop spread over several answers and a chain that is too long', async () => {
    const loop = await zoneServer({
      'x.corp.test|SRV': { answers: [cname('x.corp.test', 'y.corp.test')] },
      'y.corp.test|SRV': { answers: [cname('y.corp.test', 'x.corp.test')] }
    })
    expect((await dnsError(lookupSrv(loop.dns, 'x.corp.test'))).code).toBe('cname-loop')

    const zone: Zone = {}
    for (let i = 0; i < 12; i++) zone[`h${i}.corp.test|SRV`] = { answers: [cname(`h${i}.corp.test`, `h${i + 1}.corp.test`)] }
    const long = await zoneServer(zone)
    const error = await dnsError(lookupSrv(long.dns, 'h0.corp.test', { maxCnameHops: 4 }))
    expect(error.code).toBe('cname-loop')
    expect(error.message).toMatch(/longer than 4 hops/)
  })

  it('NXDOMAIN and NODATA become named errors', async () => {
    const { dns } = await zoneServer({ '_vlmcs._tcp.empty.test|SRV': {} })
    const nx = await dnsError(lookupKmsSrv(dns, 'missing.test'))
    expect(nx).toMatchObject({ code: 'nxdomain', rcode: 'NXDOMAIN', qname: '_vlmcs._tcp.missing.test' })
    const nodata = await dnsError(lookupKmsSrv(dns, 'empty.test'))
    expect(nodata.code).toBe('nodata')
    expect(nodata.message).toMatch(/has no SRV records/)
  })

  it('NXDOMAIN at the end of a CNAME chain says so', async () => {
    const { dns } = await zoneServer({
      '_vlmcs._tcp.corp.test|SRV': { rcode: 3, answers: [cname('_vlmcs._tcp.corp.test', '_vlmcs._tcp.gone.test')] }
    })
    const error = await dnsError(lookupKmsSrv(dns, 'corp.test'))
    expect(error.code).toBe('nxdomain')
    expect(error.message).toMatch(/_vlmcs\._tcp\.gone\.test does not exist .*CNAME _vlmcs\._tcp\.corp\.test → _vlmcs\._tcp\.gone\.test/)
  })

  it('drops "." targets and reports "declined" when nothing else remains', async () => {
    const { dns } = await zoneServer({
      '_vlmcs._tcp.no.test|SRV': { answers: [srvAnswer('_vlmcs._tcp.no.test', '.', 0)] },
      '_vlmcs._tcp.mixed.test|SRV': {
        answers: [srvAnswer('_vlmcs._tcp.mixed.test', '.', 0), srvAnswer('_vlmcs._tcp.mixed.test', '127.0.0.7')]
      }
    })
    expect((await dnsError(lookupKmsSrv(dns, 'no.test'))).code).toBe('declined')
    const mixed = await lookupKmsSrv(dns, 'mixed.test')
    expect(mixed.records).toHaveLength(1)
    // An IP literal as target is misconfigured but usable: taken as is, flagged as 'literal'.
    expect(mixed.records[0]).toMatchObject({
      target: '127.0.0.7',
      addressSource: 'literal',
      addresses: [{ address: '127.0.0.7', family: 4 }]
    })
  })

  it('reports failed address lookups per record without failing the SRV lookup', async () => {
    const { dns, events } = await zoneServer(
      {
        '_vlmcs._tcp.corp.test|SRV': { answers: [srvAnswer('_vlmcs._tcp.corp.test', 'kms.corp.test')] },
        'kms.corp.test|A': 'silent',
        'kms.corp.test|AAAA': {}
      },
      250
    )
    const result = await lookupKmsSrv(dns, 'corp.test')
    expect(result.records[0]).toMatchObject({ addressSource: 'none', addresses: [] })
    expect(result.records[0]?.addressLookups).toEqual([
      { qtype: 'A', outcome: 'error', code: 'timeout', message: expect.stringMatching(/no valid reply/) },
      { qtype: 'AAAA', outcome: 'nodata', code: 'nodata', message: expect.stringMatching(/no AAAA records/) }
    ])
    expect(events.find((e) => e.kind === 'srv-target-addresses')).toMatchObject({
      source: 'none',
      problems: [expect.stringMatching(/^A: /)]
    })
  })

  it('can skip address resolution and restrict families', async () => {
    const { dns, server } = await zoneServer({
      '_vlmcs._tcp.corp.test|SRV': { answers: [srvAnswer('_vlmcs._tcp.corp.test', 'kms.corp.test')] },
      'kms.corp.test|AAAA': { answers: [aaaa('kms.corp.test', '::1')] }
    })
    const bare = await lookupKmsSrv(dns, 'corp.test', { resolveAddresses: false })
    expect(bare.records[0]).toMatchObject({ addressSource: 'none', addresses: [] })
    expect(server.queries).toHaveLength(1)
    const v6 = await lookupKmsSrv(dns, 'corp.test', { families: [6] })
    expect(v6.records[0]?.addresses).toEqual([{ address: '::1', family: 6, ttl: 300 }])
    expect(server.queries.filter((q) => q.type === 'A')).toHaveLength(0)
  })

  it('resolves each distinct target once', async () => {
    const { dns, server } = await zoneServer({
      '_vlmcs._tcp.corp.test|SRV': {
        answers: [srvAnswer('_vlmcs._tcp.corp.test', 'kms.corp.test', 1688), srvAnswer('_vlmcs._tcp.corp.test', 'KMS.corp.test', 1689)]
      },
      'kms.corp.test|A': { answers: [a('kms.corp.test', '127.0.0.2')] },
      'kms.corp.test|AAAA': {}
    })
    const result = await lookupKmsSrv(dns, 'corp.test')
    expect(result.records.map((r) => r.addresses.map((x) => x.address))).toEqual([['127.0.0.2'], ['127.0.0.2']])
    expect(server.queries.filter((q) => q.type === 'A')).toHaveLength(1)
  })
})

describe('resolveHostAddresses', () => {
  it('reports NXDOMAIN per family', async () => {
    const { dns } = await zoneServer({})
    const result = await resolveHostAddresses(dns, 'nothing.test')
    expect(result.addresses).toEqual([])
    expect(result.lookups.map((l) => l.outcome)).toEqual(['nxdomain', 'nxdomain'])
  })
})
