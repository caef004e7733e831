/**
 * `kms-scout check` in-process, against a real dnsmasq and real loopback KMS hosts: status line and perfdata,
 * exit codes 0/1/2/3, --json, --verbose, settings as defaults, host cache and --no-cache, --host, stable CMID.
 * Requires dnsmasq (`apt-get install -y dnsmasq-base`).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../src-main/cli/run'
import { captureIo } from '../helpers/cli-io'
import { startDnsmasq, type RunningDnsmasq } from '../helpers/dnsmasq'
import { closedPort, startKmsTestHost, type KmsTestHost } from '../helpers/kms-test-host'
import { startHangingListener, type HangingListener } from '../helpers/hanging-listener'

let dnsmasq: RunningDnsmasq
let live: KmsTestHost
let other: KmsTestHost
let low: KmsTestHost
let hang: HangingListener
let refusedPort: number
const dirs: string[] = []

beforeAll(async () => {
  live = await startKmsTestHost({ address: '127.0.0.30' })
  other = await startKmsTestHost({ address: '127.0.0.31' })
  low = await startKmsTestHost({ address: '127.0.0.32', count: 7 })
  hang = await startHangingListener('127.0.0.33')
  refusedPort = await closedPort('127.0.0.34')
  dnsmasq = await startDnsmasq([
    ...['ok.test', 'low.test', 'dead.test', 'nx.test'].map((d) => `local=/${d}/`),
    `srv-host=_vlmcs._tcp.ok.test,kms01.ok.test,${live.port},0,0`,
    'host-record=kms01.ok.test,127.0.0.30',
    `srv-host=_vlmcs._tcp.low.test,kms.low.test,${low.port},0,0`,
    'host-record=kms.low.test,127.0.0.32',
    `srv-host=_vlmcs._tcp.dead.test,refused.dead.test,${refusedPort},0,0`,
    `srv-host=_vlmcs._tcp.dead.test,hang.dead.test,${hang.port},10,0`,
    'host-record=refused.dead.test,127.0.0.34',
    'host-record=hang.dead.test,127.0.0.33'
  ])
})

afterAll(async () => {
  await dnsmasq?.stop()
  await Promise.all([live?.close(), other?.close(), low?.close(), hang?.close()])
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
})

async function configDir(settings?: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kms-scout-check-cli-'))
  dirs.push(dir)
  if (settings !== undefined) await writeFile(join(dir, 'settings.json'), JSON.stringify(settings))
  return dir
}

async function check(args: string[], dir?: string): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo({ KMS_SCOUT_CONFIG_DIR: dir ?? (await configDir()) })
  const code = await runCli(['check', ...args], io)
  return { code, out: io.out(), err: io.err() }
}

const dns = (): string[] => ['--dns-server', dnsmasq.spec4]

describe('kms-scout check', () => {
  it('OK: status line with perfdata first, details after, exit 0', async () => {
    const r = await check(['--domain', 'ok.test', ...dns()])
    expect(r.code).toBe(0)
    const [first, ...rest] = r.out.trimEnd().split('\n')
    expect(first).toMatch(
      new RegExp(`^KMS OK - kms01\\.ok\\.test:${live.port} count=50/25 ePID=\\S+ rtt=[0-9.]+ms \\| count=50;;;0 rtt=[0-9.]+ms$`)
    )
    expect(rest.join('\n')).toMatch(/a client would activate: yes/)
    expect(rest.join('\n')).toMatch(/found via DNS discovery/)
    expect(r.err).toBe('')
  })

  it('WARNING: a host answers with a count below the threshold → exit 1 and 0xC004F038', async () => {
    const r = await check(['--domain', 'low.test', ...dns()])
    expect(r.code).toBe(1)
    const first = r.out.split('\n')[0]!
    expect(first).toMatch(/^KMS WARNING - kms\.low\.test:\d+ count=7\/25 below the threshold, clients would not activate \(0xC004F038\)/)
    expect(first).toMatch(/\| count=7;;;0 rtt=[0-9.]+ms$/)
  })

  it('CRITICAL: every host dead → exit 2 and 0xC004F074 with the attempts', async () => {
    const r = await check(['--domain', 'dead.test', ...dns(), '--timeout', '300'])
    expect(r.code).toBe(2)
    expect(r.out.split('\n')[0]).toMatch(/^KMS CRITICAL - No Key Management Service \(KMS\) could be contacted \(0xC004F074\)/)
    expect(r.out).toMatch(/refused\.dead\.test:\d+ .*refused 0x800706BA/)
    expect(r.out).toContain('Fix')
  })

  it('CRITICAL: no SRV records → exit 2 and 0x8007232B', async () => {
    const r = await check(['--domain', 'nx.test', ...dns()])
    expect(r.code).toBe(2)
    expect(r.out.split('\n')[0]).toMatch(/^KMS CRITICAL - DNS name does not exist \(0x8007232B\)/)
    expect(r.out.split('\n')[0]).not.toContain('|')
  })

  it('UNKNOWN: usage and configuration errors exit 3 with a status line and a hint', async () => {
    const badServer = await check(['--dns-server', 'dns.example.test', '--domain', 'ok.test'])
    expect(badServer.code).toBe(3)
    expect(badServer.out).toMatch(/^KMS UNKNOWN - Invalid DNS server "dns.example.test"/)
    expect(badServer.err).toMatch(/kms-scout: Invalid DNS server/)
    const badHost = await check(['--host', 'kms01:99999'])
    expect(badHost.code).toBe(3)
    expect(badHost.out).toMatch(/^KMS UNKNOWN - /)
    const badProduct = await check(['--product', 'no such product at all', ...dns(), '--domain', 'ok.test'])
    expect(badProduct.code).toBe(3)
    const both = await check(['--sequential', '--stagger', '100', ...dns(), '--domain', 'ok.test'])
    expect(both.code).toBe(3)
  })

  it('UNKNOWN with --json: one JSON error object on stdout', async () => {
    const r = await check(['--domain', 'bad..domain', ...dns(), '--json'])
    expect(r.code).toBe(3)
    expect(JSON.parse(r.out)).toMatchObject({ ok: false, error: { code: 'usage' } })
  })

  it('--json: the whole report with the trace, nothing else on stdout', async () => {
    const r = await check(['--domain', 'ok.test', ...dns(), '--json'])
    expect(r.code).toBe(0)
    const report = JSON.parse(r.out)
    expect(report).toMatchObject({
      ok: true,
      status: 'ok',
      exitCode: 0,
      wouldActivate: true,
      host: { host: 'kms01.ok.test', port: live.port, address: '127.0.0.30', source: 'dns' },
      answer: { count: 50, threshold: 25, countSufficient: true },
      product: { threshold: 25 }
    })
    expect(report.perfdata).toMatch(/^count=50;;;0 rtt=[0-9.]+ms$/)
    const kinds: string[] = report.trace.map((e: { kind: string }) => e.kind)
    for (const k of [
      'flow-start',
      'cache-lookup',
      'dns-servers',
      'domains',
      'dns-query',
      'dns-reply',
      'srv-records',
      'srv-draw',
      'attempt-start',
      'attempt-end',
      'cache-update',
      'flow-result'
    ]) {
      expect(kinds).toContain(k)
    }
  })

  it('--verbose prints the trace after the status line', async () => {
    const r = await check(['--domain', 'ok.test', ...dns(), '--verbose'])
    expect(r.code).toBe(0)
    expect(r.out.split('\n')[0]).toMatch(/^KMS OK - /)
    const trace = r.out.slice(r.out.indexOf('Trace:'))
    expect(trace).toMatch(/dns-query\s+udp 127\.0\.0\.1:\d+ _vlmcs\._tcp\.ok\.test SRV/)
    expect(trace).toMatch(/srv-draw\s+rfc2782 priority 0/)
    expect(trace).toMatch(/attempt-end\s+#1 attempt 1 kms01\.ok\.test:\d+ verified/)
    expect(trace).toMatch(/cache-update\s+stored/)
  })

  it('--verbose --json streams the trace to stderr and keeps stdout pure JSON', async () => {
    const r = await check(['--domain', 'ok.test', ...dns(), '--verbose', '--json'])
    expect(JSON.parse(r.out).status).toBe('ok')
    expect(r.err).toMatch(/flow-result\s+answered/)
  })

  it('caches the answering host: the next check uses it; --no-cache skips it', async () => {
    const dir = await configDir()
    await check(['--domain', 'ok.test', ...dns()], dir)
    const cached = JSON.parse(await readFile(join(dir, 'host-cache.json'), 'utf8'))
    expect(Object.values(cached.entries)).toMatchObject([{ host: 'kms01.ok.test', port: live.port, address: '127.0.0.30' }])
    const again = JSON.parse((await check(['--domain', 'ok.test', ...dns(), '--json'], dir)).out)
    expect(again.host.source).toBe('cache')
    expect(again.trace.some((e: { kind: string }) => e.kind === 'dns-query')).toBe(false)
    const noCache = JSON.parse((await check(['--domain', 'ok.test', ...dns(), '--json', '--no-cache'], dir)).out)
    expect(noCache.host.source).toBe('dns')
    expect(noCache.flow.cache).toMatchObject({ enabled: false, lookup: 'disabled' })
  })

  it('--host overrides discovery and the cache', async () => {
    const run = await check(['--host', `127.0.0.31:${other.port}`, '--domain', 'ok.test', ...dns(), '--json'])
    const r = JSON.parse(run.out)
    expect(r.host).toMatchObject({ host: '127.0.0.31', port: other.port, source: 'manual' })
    expect(run.err).toContain('overrides --domain')
    expect(r.trace.some((e: { kind: string }) => e.kind === 'dns-query')).toBe(false)
  })

  it('the settings file supplies defaults and flags override them', async () => {
    const dir = await configDir({ client: { lookupDomain: 'ok.test', dnsServer: dnsmasq.spec4, failover: { mode: 'sequential' } } })
    const fromSettings = JSON.parse((await check(['--json'], dir)).out)
    expect(fromSettings.status).toBe('ok')
    expect(fromSettings.trace[0]).toMatchObject({ kind: 'flow-start', failover: { mode: 'sequential' } })
    // (--no-cache: otherwise the host cached by the first run answers before any domain is searched)
    const overridden = await check(['--domain', 'nx.test', '--stagger', '50', '--no-cache', '--json'], dir)
    expect(overridden.code).toBe(2)
    expect(JSON.parse(overridden.out).trace[0]).toMatchObject({ failover: { mode: 'staggered', staggerMs: 50 } })
  })

  it("uses the installation's stable CMID on every check", async () => {
    const dir = await configDir()
    const first = JSON.parse((await check(['--domain', 'ok.test', ...dns(), '--json', '--no-cache'], dir)).out)
    const second = JSON.parse((await check(['--domain', 'ok.test', ...dns(), '--json', '--no-cache'], dir)).out)
    const identity = JSON.parse(await readFile(join(dir, 'identity.json'), 'utf8'))
    expect(first.cmid).toBe(identity.cmid)
    expect(second.cmid).toBe(identity.cmid)
    expect(live.calls.filter((c) => c.request.base.cmid === identity.cmid)).toHaveLength(2)
  })

  it('--product and --protocol choose the request', async () => {
    const r = JSON.parse(
      (await check(['--domain', 'ok.test', ...dns(), '--json', '--product', 'Windows Server 2019 Standard', '--protocol', '5'])).out
    )
    expect(r.product).toMatchObject({ name: 'Windows Server 2019 Standard', threshold: 5, protocol: 5 })
    expect(r.answer).toMatchObject({ count: 10, threshold: 5, protocol: '5.0' })
  })
})
