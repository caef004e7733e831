/**
 * Integration: the whole client flow against a real dnsmasq on 127.0.0.1 whose SRV records point at real
 * listeners on loopback addresses — live KMS hosts (test/helpers/kms-test-host.ts, the protocol layer's host
 * session over node:net), ports where nothing listens (refused), and listeners that accept and never answer.
 * The probe is the real one (createKmsProbe → queryKmsHost). Requires dnsmasq (`apt-get install -y dnsmasq-base`).
 *
 * Assertions are on the trace and the result (order of events, outcomes, codes), never on elapsed time.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runClientFlow, type ClientFlowOptions, type ClientFlowResult } from '../../src-main/discovery/client-flow'
import { createKmsProbe, type KmsAnswerSummary } from '../../src-main/discovery/kms-probe'
import { createSeededRandom } from '../../src-main/discovery/srv-prng'
import type { TraceEntry } from '../../src-main/discovery/trace'
import { productCatalog } from '../../src-main/protocol'
import { HostCache } from '../../src-main/storage/host-cache'
import { startDnsmasq, type RunningDnsmasq } from '../helpers/dnsmasq'
import { closedPort, startKmsTestHost, type KmsTestHost } from '../helpers/kms-test-host'
import { startHangingListener, type HangingListener } from '../helpers/hanging-listener'

const CMID = '6d2f8d04-58b4-4f7a-9d6e-3c2b1a0f9e8d'
const sku = productCatalog.defaultProduct()
const identity = productCatalog.requestIdentity(sku)

let dnsmasq: RunningDnsmasq
let live1: KmsTestHost
let live2: KmsTestHost
let lowCount: KmsTestHost
let hangs: HangingListener[] = []
let refusedPort: number
let configDir: string
const cleanups: Array<() => Promise<void>> = []

beforeAll(async () => {
  live1 = await startKmsTestHost({ address: '127.0.0.10' })
  live2 = await startKmsTestHost({ address: '127.0.0.11' })
  lowCount = await startKmsTestHost({ address: '127.0.0.12', count: 3 })
  hangs = await Promise.all(['127.0.0.21', '127.0.0.22', '127.0.0.23'].map((a) => startHangingListener(a)))
  refusedPort = await closedPort('127.0.0.20')
  cleanups.push(
    () => live1.close(),
    () => live2.close(),
    () => lowCount.close(),
    ...hangs.map((h) => () => h.close())
  )
  const [h1, h2, h3] = hangs as [HangingListener, HangingListener, HangingListener]

  dnsmasq = await startDnsmasq([
    ...['flow.test', 'stagger.test', 'dead.test', 'nx.test', 'empty.test', 'multi.test', 'low.test'].map((d) => `local=/${d}/`),
    // refused (priority 0) → hanging (priority 10) → live (priority 20): a fixed ranking.
    `srv-host=_vlmcs._tcp.flow.test,refused.flow.test,${refusedPort},0,0`,
    `srv-host=_vlmcs._tcp.flow.test,hang.flow.test,${h1.port},10,0`,
    `srv-host=_vlmcs._tcp.flow.test,live.flow.test,${live1.port},20,0`,
    'host-record=refused.flow.test,127.0.0.20',
    'host-record=hang.flow.test,127.0.0.21',
    'host-record=live.flow.test,127.0.0.10',
    // three hanging hosts ranked before one live host
    `srv-host=_vlmcs._tcp.stagger.test,hang1.stagger.test,${h1.port},0,0`,
    `srv-host=_vlmcs._tcp.stagger.test,hang2.stagger.test,${h2.port},1,0`,
    `srv-host=_vlmcs._tcp.stagger.test,hang3.stagger.test,${h3.port},2,0`,
    `srv-host=_vlmcs._tcp.stagger.test,live.stagger.test,${live2.port},3,0`,
    'host-record=hang1.stagger.test,127.0.0.21',
    'host-record=hang2.stagger.test,127.0.0.22',
    'host-record=hang3.stagger.test,127.0.0.23',
    'host-record=live.stagger.test,127.0.0.11',
    // every host dead
    `srv-host=_vlmcs._tcp.dead.test,refused.dead.test,${refusedPort},0,0`,
    `srv-host=_vlmcs._tcp.dead.test,hang.dead.test,${h2.port},0,0`,
    'host-record=refused.dead.test,127.0.0.20',
    'host-record=hang.dead.test,127.0.0.22',
    // the name exists but holds no SRV record
    'txt-record=_vlmcs._tcp.empty.test,"no KMS here"',
    // one host with two addresses; only 127.0.0.10 listens on that port
    `srv-host=_vlmcs._tcp.multi.test,kms.multi.test,${live1.port},0,0`,
    'host-record=kms.multi.test,127.0.0.24',
    'host-record=kms.multi.test,127.0.0.10',
    // a host whose count is below the threshold
    `srv-host=_vlmcs._tcp.low.test,kms.low.test,${lowCount.port},0,0`,
    'host-record=kms.low.test,127.0.0.12'
  ])
  cleanups.push(() => dnsmasq.stop())
  configDir = await mkdtemp(join(tmpdir(), 'kms-scout-flow-'))
  cleanups.push(() => rm(configDir, { recursive: true, force: true }))
})

afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

let cacheFiles = 0
function newCache(): HostCache {
  return new HostCache({ file: join(configDir, `host-cache-${++cacheFiles}.json`), now: () => new Date(), onWarning: () => {} })
}

const probe = createKmsProbe({
  request: { identity, cmid: CMID, workstationName: 'kms-scout-test' },
  timeouts: { connectMs: 1000, bindMs: 1000, requestMs: 1000 }
})

function flow(
  options: Partial<ClientFlowOptions>,
  extra: { cache?: HostCache | null; seed?: number; onTrace?: (e: TraceEntry) => void } = {}
): Promise<ClientFlowResult<KmsAnswerSummary>> {
  return runClientFlow<KmsAnswerSummary>(
    { applicationId: identity.appId, dnsServer: dnsmasq.spec4, hostCaching: true, ...options },
    {
      probe,
      hostCache: extra.cache === undefined ? newCache() : extra.cache,
      random: createSeededRandom(extra.seed ?? 1).int,
      readOsResolverConfig: () => Promise.reject(new Error('the OS configuration must not be read when server and domain are given')),
      ...(extra.onTrace ? { onTrace: extra.onTrace } : {})
    }
  )
}

const kinds = (trace: readonly TraceEntry[]): string[] => trace.map((e) => e.kind)
const ofKind = <K extends TraceEntry['kind']>(trace: readonly TraceEntry[], kind: K): Array<Extract<TraceEntry, { kind: K }>> =>
  trace.filter((e): e is Extract<TraceEntry, { kind: K }> => e.kind === kind)

describe('client flow over real DNS and real listeners', () => {
  it('picks by priority, fails over from a refused and a hanging host to the live one, and traces each step', async () => {
    const progress: TraceEntry[] = []
    const result = await flow({ lookupDomains: ['flow.test'] }, { onTrace: (e) => progress.push(e) })

    expect(result.outcome).toBe('answered')
    expect(result.answered).toMatchObject({ source: 'dns', host: 'live.flow.test', port: live1.port, address: '127.0.0.10' })
    expect(result.answered?.answer).toMatchObject({ count: 50, threshold: 25, countSufficient: true })
    expect(live1.calls.some((c) => c.request.base.cmid === CMID)).toBe(true)

    const trace = result.trace
    expect(progress).toEqual(trace) // the progress callback saw every entry, in order
    expect(trace.map((e) => e.seq)).toEqual(trace.map((_, i) => i + 1))
    expect(ofKind(trace, 'dns-servers')[0]).toMatchObject({ source: 'configured', servers: [dnsmasq.spec4] })
    expect(ofKind(trace, 'domains')[0]).toMatchObject({ source: 'configured', domains: ['flow.test'] })
    expect(ofKind(trace, 'dns-query').some((q) => q.qname === '_vlmcs._tcp.flow.test' && q.qtype === 'SRV')).toBe(true)
    expect(ofKind(trace, 'srv-records')[0]!.records).toHaveLength(3)
    expect(ofKind(trace, 'srv-draw').map((d) => d.chosen.target)).toEqual(['refused.flow.test', 'hang.flow.test', 'live.flow.test'])
    expect(result.attempts.map((a) => [a.host, a.outcome, a.code ?? null])).toEqual([
      ['refused.flow.test', 'failed', 'refused'],
      ['hang.flow.test', 'cancelled', null],
      ['live.flow.test', 'verified', null]
    ])
    expect(result.attempts[0]!.windowsCode).toBe('0x800706BA')
    // The live host was started while the hanging one was still pending (and then cancelled).
    const starts = ofKind(trace, 'candidate-start')
    expect(starts[0]!.reason).toBe('first')
    expect(starts[2]).toMatchObject({ host: 'live.flow.test', inFlight: 1 })
    expect(kinds(trace).indexOf('cache-lookup')).toBeLessThan(kinds(trace).indexOf('dns-query'))
    expect(ofKind(trace, 'cache-update')[0]).toMatchObject({ action: 'stored', host: 'live.flow.test', address: '127.0.0.10' })
    expect(trace.at(-1)).toMatchObject({ kind: 'flow-result', outcome: 'answered', host: 'live.flow.test' })
    expect(JSON.parse(JSON.stringify(result.trace))).toEqual(result.trace)
  })

  it('3 hanging hosts ranked before a live one: the live host answers and the pending attempts are aborted', async () => {
    const closedBefore = hangs.map((h) => h.closedByClient())
    const result = await flow({ lookupDomains: ['stagger.test'] })
    expect(result.answered).toMatchObject({ host: 'live.stagger.test', address: '127.0.0.11' })
    const starts = ofKind(result.trace, 'candidate-start')
    expect(starts.map((s) => [s.host, s.reason])).toEqual([
      ['hang1.stagger.test', 'first'],
      ['hang2.stagger.test', 'stagger'],
      ['hang3.stagger.test', 'stagger'],
      ['live.stagger.test', 'stagger']
    ])
    expect(starts.map((s) => s.inFlight)).toEqual([0, 1, 2, 3])
    const ends = ofKind(result.trace, 'attempt-end')
    expect(ends[0]).toMatchObject({ host: 'live.stagger.test', outcome: 'verified' })
    expect(ends.slice(1).map((e) => [e.host, e.outcome])).toEqual(
      expect.arrayContaining([
        ['hang1.stagger.test', 'cancelled'],
        ['hang2.stagger.test', 'cancelled'],
        ['hang3.stagger.test', 'cancelled']
      ])
    )
    // The cancelled attempts really closed their connections.
    await Promise.all(hangs.map((h, i) => h.waitForClosed(closedBefore[i]! + 1)))
  })

  it('sequential mode tries one host at a time', async () => {
    const result = await flow({ lookupDomains: ['flow.test'], failover: { mode: 'sequential' } })
    expect(result.answered?.host).toBe('live.flow.test')
    const steps = result.trace
      .filter((e) => e.kind === 'attempt-start' || e.kind === 'attempt-end')
      .map((e) => `${e.kind} ${'host' in e ? e.host : ''}`)
    expect(steps).toEqual([
      'attempt-start refused.flow.test',
      'attempt-end refused.flow.test',
      'attempt-start hang.flow.test',
      'attempt-end hang.flow.test',
      'attempt-start live.flow.test',
      'attempt-end live.flow.test'
    ])
    expect(result.attempts[1]).toMatchObject({ outcome: 'failed', code: 'timeout', phase: 'bind', windowsCode: '0x800706BE' })
  })

  it('a host with two addresses: the addresses are tried in order within the one candidate', async () => {
    const result = await flow({ lookupDomains: ['multi.test'], failover: { mode: 'sequential' } })
    const start = ofKind(result.trace, 'candidate-start')
    expect(start).toHaveLength(1)
    expect([...start[0]!.addresses].sort()).toEqual(['127.0.0.10', '127.0.0.24'])
    expect(result.attempts.map((a) => a.address)).toEqual(start[0]!.addresses.slice(0, result.attempts.length))
    expect(result.answered).toMatchObject({ host: 'kms.multi.test', address: '127.0.0.10' })
    for (const failed of result.attempts.filter((a) => a.outcome === 'failed'))
      expect(failed).toMatchObject({ address: '127.0.0.24', code: 'refused' })
  })

  it('all hosts dead → 0xC004F074 with each attempt and the closest Windows code', async () => {
    const result = await flow({ lookupDomains: ['dead.test'] })
    expect(result.outcome).toBe('failed')
    expect(result.error).toMatchObject({ kind: 'no-host-contacted', windows: { code: '0xC004F074' } })
    expect(result.attempts.map((a) => a.code).sort()).toEqual(['refused', 'timeout'])
    expect(result.error?.message).toContain('0x800706BA')
    expect(result.cache.update).toBe('none')
  })

  it('NXDOMAIN → 0x8007232B, an SRV name with no records → 0x8007251D', async () => {
    const nx = await flow({ lookupDomains: ['nx.test'] })
    expect(nx.error).toMatchObject({ kind: 'no-records', windows: { code: '0x8007232B', summary: 'DNS name does not exist' } })
    expect(nx.discovery.results[0]).toMatchObject({ outcome: 'nxdomain', code: 'nxdomain' })
    expect(nx.attempts).toEqual([])
    const empty = await flow({ lookupDomains: ['empty.test'] })
    expect(empty.error).toMatchObject({ kind: 'no-records', windows: { code: '0x8007251D' } })
    expect(empty.discovery.results[0]).toMatchObject({ outcome: 'nodata' })
  })

  it('domains are searched in order and the first with records is used', async () => {
    const result = await flow({ lookupDomains: ['nx.test', 'empty.test', 'flow.test', 'stagger.test'] })
    expect(ofKind(result.trace, 'domain-result').map((d) => [d.domain, d.outcome])).toEqual([
      ['nx.test', 'nxdomain'],
      ['empty.test', 'nodata'],
      ['flow.test', 'records']
    ])
    expect(result.discovery.usedDomain).toBe('flow.test')
    expect(result.answered?.host).toBe('live.flow.test')
  })

  it('when every host of the first domain with records fails, later domains are not searched', async () => {
    const result = await flow({ lookupDomains: ['dead.test', 'flow.test'] })
    expect(result.error?.windows.code).toBe('0xC004F074')
    expect(ofKind(result.trace, 'domain-lookup').map((d) => d.domain)).toEqual(['dead.test'])
  })

  it('without configured server and domain, the OS resolver configuration supplies both, in order', async () => {
    const result = await runClientFlow<KmsAnswerSummary>(
      { applicationId: identity.appId, hostCaching: false },
      {
        probe,
        random: createSeededRandom(3).int,
        readOsResolverConfig: async () => ({
          servers: [dnsmasq.spec4],
          domains: ['nx.test', 'flow.test'],
          source: 'test resolver config',
          warnings: [],
          domainServers: []
        })
      }
    )
    expect(ofKind(result.trace, 'dns-servers')[0]).toMatchObject({ source: 'os', servers: [dnsmasq.spec4], from: 'test resolver config' })
    expect(ofKind(result.trace, 'domains')[0]).toMatchObject({ source: 'os', domains: ['nx.test', 'flow.test'] })
    expect(result.discovery).toMatchObject({ usedDomain: 'flow.test', domains: { source: 'os' } })
    expect(result.answered?.host).toBe('live.flow.test')
  })

  it('a count below the threshold is still a verified answer (the report judges it)', async () => {
    const result = await flow({ lookupDomains: ['low.test'] })
    expect(result.answered?.answer).toMatchObject({ count: 3, threshold: 25, countSufficient: false })
  })
})

describe('host cache', () => {
  it('a success is persisted and reused: the second run hits the cache and needs no DNS query', async () => {
    const cache = newCache()
    const first = await flow({ lookupDomains: ['flow.test'] }, { cache })
    expect(first.answered?.source).toBe('dns')
    expect(await cache.get(identity.appId)).toMatchObject({ host: 'live.flow.test', port: live1.port, address: '127.0.0.10' })

    const callsBefore = live1.calls.length
    const second = await flow({ lookupDomains: ['flow.test'] }, { cache })
    expect(second.answered).toMatchObject({ source: 'cache', host: 'live.flow.test', address: '127.0.0.10' })
    expect(ofKind(second.trace, 'cache-lookup')[0]).toMatchObject({ result: 'hit', host: 'live.flow.test' })
    expect(ofKind(second.trace, 'dns-query')).toEqual([])
    expect(ofKind(second.trace, 'domain-lookup')).toEqual([])
    expect(second.cache).toMatchObject({ lookup: 'hit', update: 'refreshed' })
    expect(live1.calls.length).toBe(callsBefore + 1)
  })

  it('a cached host that fails is cleared and discovery runs again; the new host is cached', async () => {
    const cache = newCache()
    await cache.recordSuccess(identity.appId, { host: 'refused.flow.test', port: refusedPort, address: '127.0.0.20' })
    const result = await flow({ lookupDomains: ['flow.test'] }, { cache })
    expect(ofKind(result.trace, 'cache-lookup')[0]).toMatchObject({ result: 'hit', host: 'refused.flow.test' })
    expect(result.attempts[0]).toMatchObject({ source: 'cache', outcome: 'failed', code: 'refused' })
    expect(ofKind(result.trace, 'cache-update').map((u) => u.action)).toEqual(['cleared', 'stored'])
    // The host that just failed as the cached host is not drawn again.
    expect(ofKind(result.trace, 'srv-remove')[0]).toMatchObject({ removed: [{ target: 'refused.flow.test', port: refusedPort }] })
    expect(result.attempts.filter((a) => a.host === 'refused.flow.test')).toHaveLength(1)
    expect(result.answered).toMatchObject({ source: 'dns', host: 'live.flow.test' })
    expect(await cache.get(identity.appId)).toMatchObject({ host: 'live.flow.test' })
    expect(result.cache).toMatchObject({ lookup: 'hit', update: 'stored' })
  })

  it('host caching off (like /ckhc): the cache is neither read nor written', async () => {
    const cache = newCache()
    await cache.recordSuccess(identity.appId, { host: 'live.stagger.test', port: live2.port, address: '127.0.0.11' })
    const result = await flow({ lookupDomains: ['flow.test'], hostCaching: false }, { cache })
    expect(ofKind(result.trace, 'cache-lookup')[0]).toMatchObject({ result: 'disabled' })
    expect(result.answered).toMatchObject({ source: 'dns', host: 'live.flow.test' })
    expect(await cache.get(identity.appId)).toMatchObject({ host: 'live.stagger.test' })
    expect(ofKind(result.trace, 'cache-update')[0]).toMatchObject({ action: 'skipped' })
  })

  it('a manual host overrides the cache and DNS discovery, and is not cached', async () => {
    const cache = newCache()
    await cache.recordSuccess(identity.appId, { host: 'live.flow.test', port: live1.port, address: '127.0.0.10' })
    const result = await flow({ lookupDomains: ['flow.test'], manualHost: { host: '127.0.0.11', port: live2.port } }, { cache })
    expect(result.answered).toMatchObject({ source: 'manual', host: '127.0.0.11', port: live2.port })
    expect(ofKind(result.trace, 'dns-query')).toEqual([])
    expect(ofKind(result.trace, 'cache-lookup')).toEqual([])
    expect(result.cache.lookup).toBe('not-used')
    expect(await cache.get(identity.appId)).toMatchObject({ host: 'live.flow.test' })
  })

  it('a failing manual host is not replaced by discovery', async () => {
    const result = await flow({ lookupDomains: ['flow.test'], manualHost: { host: '127.0.0.20', port: refusedPort } })
    expect(result.error).toMatchObject({ kind: 'no-host-contacted', windows: { code: '0xC004F074' }, inner: { code: '0x800706BA' } })
    expect(result.attempts).toHaveLength(1)
    expect(ofKind(result.trace, 'dns-query')).toEqual([])
  })
})
