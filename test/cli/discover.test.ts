/**
 * `kms-scout discover` in-process against a real dnsmasq: records in selection order with priority, weight,
 * port, target, addresses, TTL and first-pick chance; several domains; NXDOMAIN / no records; legacy mode;
 * exit codes. No KMS host is contacted. Requires dnsmasq (`apt-get install -y dnsmasq-base`).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../src-main/cli/run'
import { captureIo } from '../helpers/cli-io'
import { startDnsmasq, type RunningDnsmasq } from '../helpers/dnsmasq'

let dnsmasq: RunningDnsmasq
const dirs: string[] = []

beforeAll(async () => {
  dnsmasq = await startDnsmasq([
    'local=/corp.test/',
    'local=/nx.test/',
    'local=/empty.test/',
    'srv-host=_vlmcs._tcp.corp.test,kms-a.corp.test,1688,0,60',
    'srv-host=_vlmcs._tcp.corp.test,kms-b.corp.test,1688,0,30',
    'srv-host=_vlmcs._tcp.corp.test,kms-z.corp.test,1688,0,0',
    'srv-host=_vlmcs._tcp.corp.test,kms-backup.corp.test,1700,10,5',
    'host-record=kms-a.corp.test,127.0.0.2',
    'host-record=kms-b.corp.test,127.0.0.3,::1',
    'host-record=kms-z.corp.test,127.0.0.4',
    'host-record=kms-backup.corp.test,127.0.0.5',
    'txt-record=_vlmcs._tcp.empty.test,"nothing"'
  ])
})

afterAll(async () => {
  await dnsmasq?.stop()
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
})

async function discover(args: string[], settings?: unknown): Promise<{ code: number; out: string; err: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'kms-scout-discover-cli-'))
  dirs.push(dir)
  if (settings !== undefined) await writeFile(join(dir, 'settings.json'), JSON.stringify(settings))
  const io = captureIo({ KMS_SCOUT_CONFIG_DIR: dir })
  const code = await runCli(['discover', ...args], io)
  return { code, out: io.out(), err: io.err() }
}

interface RankedJson {
  order: number
  priority: number
  weight: number
  port: number
  target: string
  ttl: number
  addresses: string[]
  chanceFirst: number
}

describe('kms-scout discover', () => {
  it('--json: records in selection order (priority groups in order) with addresses, TTL and first-pick chances', async () => {
    const r = await discover(['--domain', 'corp.test', '--dns-server', dnsmasq.spec4, '--json'])
    expect(r.code).toBe(0)
    const report = JSON.parse(r.out)
    expect(report).toMatchObject({
      ok: true,
      exitCode: 0,
      selection: 'rfc2782',
      usedDomain: 'corp.test',
      servers: { source: 'configured', list: [dnsmasq.spec4] }
    })
    const records: RankedJson[] = report.results[0].records
    expect(records.map((x) => x.order)).toEqual([1, 2, 3, 4])
    expect(records.at(-1)).toMatchObject({
      target: 'kms-backup.corp.test',
      priority: 10,
      port: 1700,
      addresses: ['127.0.0.5'],
      chanceFirst: 0
    })
    expect(records.slice(0, 3).every((x) => x.priority === 0)).toBe(true)
    const byTarget = new Map(records.map((x) => [x.target, x]))
    expect(byTarget.get('kms-a.corp.test')!.chanceFirst).toBeCloseTo(60 / 91, 12)
    expect(byTarget.get('kms-b.corp.test')!.chanceFirst).toBeCloseTo(30 / 91, 12)
    expect(byTarget.get('kms-z.corp.test')!.chanceFirst).toBeCloseTo(1 / 91, 12)
    expect(byTarget.get('kms-b.corp.test')!.addresses).toEqual(['127.0.0.3', '::1'])
    expect(records.every((x) => x.ttl === 300)).toBe(true)
    expect(report.trace.filter((e: { kind: string }) => e.kind === 'srv-draw')).toHaveLength(4)
  })

  it('human output: one table per domain in selection order, the used domain marked', async () => {
    const r = await discover(['--domain', 'nx.test', '--domain', 'corp.test', '--dns-server', dnsmasq.spec4])
    expect(r.code).toBe(0)
    expect(r.out).toContain('_vlmcs._tcp.nx.test: NXDOMAIN')
    expect(r.out).toMatch(/_vlmcs\._tcp\.corp\.test: 4 record\(s\) from 127\.0\.0\.1:\d+, TTL 300 s {2}\[used by clients\]/)
    const table = r.out.split('\n').filter((l) => /^\s+\d+\s+\d+\s+\d+\s+\d+\s+kms-/.test(l))
    expect(table).toHaveLength(4)
    expect(table[3]).toMatch(/^\s+4\s+10\s+5\s+1700\s+kms-backup\.corp\.test\s+127\.0\.0\.5\s+300\s+0%$/)
    expect(r.out).toMatch(/#\s+PRIO\s+WEIGHT\s+PORT\s+TARGET\s+ADDRESSES\s+TTL\s+FIRST/)
  })

  it('a later domain with records is listed but marked as not used by clients', async () => {
    const report = JSON.parse(
      (await discover(['--domain', 'corp.test', '--domain', 'corp.test.', '--domain', 'nx.test', '--dns-server', dnsmasq.spec4, '--json']))
        .out
    )
    // "corp.test." is the same domain: de-duplicated.
    expect(report.domains.list).toEqual(['corp.test', 'nx.test'])
    expect(report.results.map((d: { used: boolean }) => d.used)).toEqual([true, false])
  })

  it('NXDOMAIN → exit 2 with 0x8007232B; a name without SRV records → 0x8007251D', async () => {
    const nx = await discover(['--domain', 'nx.test', '--dns-server', dnsmasq.spec4])
    expect(nx.code).toBe(2)
    expect(nx.err).toMatch(/^kms-scout discover: 0x8007232B DNS name does not exist: /)
    expect(nx.err).toMatch(/\n {2}fix: /)
    const empty = JSON.parse((await discover(['--domain', 'empty.test', '--dns-server', dnsmasq.spec4, '--json'])).out)
    expect(empty).toMatchObject({ ok: false, exitCode: 2, error: { kind: 'no-records', windows: { code: '0x8007251D' } } })
  })

  it('--legacy-selection ignores priority and weight (uniform chances)', async () => {
    const report = JSON.parse(
      (await discover(['--domain', 'corp.test', '--dns-server', dnsmasq.spec4, '--legacy-selection', '--json'])).out
    )
    expect(report.selection).toBe('legacy-random')
    expect(report.results[0].records.map((x: RankedJson) => x.chanceFirst)).toEqual([0.25, 0.25, 0.25, 0.25])
  })

  it('settings supply the lookup domain and DNS server', async () => {
    const report = JSON.parse((await discover(['--json'], { client: { lookupDomain: 'corp.test', dnsServer: dnsmasq.spec4 } })).out)
    expect(report).toMatchObject({ ok: true, domains: { source: 'configured', list: ['corp.test'] } })
  })

  it('--verbose prints the DNS queries, answers and draws', async () => {
    const r = await discover(['--domain', 'corp.test', '--dns-server', dnsmasq.spec4, '--verbose'])
    expect(r.out).toMatch(/dns-reply\s+udp 127\.0\.0\.1:\d+ _vlmcs\._tcp\.corp\.test SRV NOERROR an=4/)
    expect(r.out).toMatch(/srv-draw\s+rfc2782 priority 10: drew [1-5] in \[1, 5\]/)
  })

  it('bad options are usage errors (exit 3)', async () => {
    expect((await discover(['--domain', 'bad..name', '--dns-server', dnsmasq.spec4])).code).toBe(3)
    const server = await discover(['--domain', 'corp.test', '--dns-server', '127.0.0.1:99999'])
    expect(server.code).toBe(3)
    expect(server.err).toMatch(/port 99999 is out of range/)
    expect((await discover(['corp.test'])).code).toBe(3)
  })
})
