/**
 * `kms-scout cache show|clear` on the host cache a real check filled (a dnsmasq zone and a KMS host on loopback),
 * and `--report FILE` of check, discover and query: the format from the extension, the file read back, an unknown
 * extension refused before anything is sent. Requires dnsmasq (`apt-get install -y dnsmasq-base`).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../src-main/cli/run'
import { captureIo } from '../helpers/cli-io'
import { startDnsmasq, type RunningDnsmasq } from '../helpers/dnsmasq'
import { startKmsTestHost, type KmsTestHost } from '../helpers/kms-test-host'

const zone = 'report.example.test'
let dns: RunningDnsmasq
let host: KmsTestHost
let dir: string
let env: NodeJS.ProcessEnv

beforeAll(async () => {
  host = await startKmsTestHost({ address: '127.0.0.40', count: 50 })
  dns = await startDnsmasq([
    `local=/${zone}/`,
    `host-record=kms.${zone},127.0.0.40`,
    `srv-host=_vlmcs._tcp.${zone},kms.${zone},${host.port},0,0`
  ])
  dir = await mkdtemp(join(tmpdir(), 'kms-scout-cache-cli-'))
  env = { KMS_SCOUT_CONFIG_DIR: dir }
})
afterAll(async () => {
  await dns.stop()
  await host.close()
  await rm(dir, { recursive: true, force: true })
})

const discovery = () => ['--domain', zone, '--dns-server', dns.spec4]

describe('kms-scout cache', () => {
  it('shows the host a check found in DNS and clears it', async () => {
    expect(await runCli(['check', ...discovery()], captureIo(env))).toBe(0)

    const shown = captureIo(env)
    expect(await runCli(['cache', 'show'], shown)).toBe(0)
    expect(shown.out()).toMatch(
      new RegExp(`^Windows\\s+kms\\.${zone.replaceAll('.', '\\.')}:${host.port} \\(127\\.0\\.0\\.40\\), cached since `, 'm')
    )

    const json = captureIo(env)
    expect(await runCli(['cache', 'show', '--json'], json)).toBe(0)
    // with the DNS answer it came from
    expect(shown.out()).toContain(`, from _vlmcs._tcp.${zone} (priority 0, weight 0)`)
    expect((JSON.parse(json.out()) as { entries: Array<{ application: string; port: number }> }).entries).toMatchObject([
      { application: 'Windows', port: host.port, origin: { domain: zone, priority: 0, weight: 0, port: host.port, target: `kms.${zone}` } }
    ])

    const unknown = captureIo(env)
    expect(await runCli(['cache', 'clear', '--application', 'Office2010'], unknown)).toBe(3)
    expect(unknown.err()).toContain("no cached host for application 'Office2010'")

    const cleared = captureIo(env)
    expect(await runCli(['cache', 'clear', '--application', 'windows'], cleared)).toBe(0)
    expect(cleared.out()).toBe('cleared 1 cached host(s)\n')
    const after = captureIo(env)
    await runCli(['cache', 'show'], after)
    expect(after.out()).toContain('No cached host')
  })

  it('refuses anything but show or clear with a cause and a fix', async () => {
    const io = captureIo(env)
    expect(await runCli(['cache', 'flush'], io)).toBe(3)
    expect(io.err()).toBe('kms-scout: cache takes show or clear\n  e.g. kms-scout cache show, or kms-scout cache clear\n')
  })
})

describe('--report FILE', () => {
  it('check writes a self-contained HTML report with the verdict, the timeline and the trace', async () => {
    const file = join(dir, 'check.html')
    expect(await runCli(['check', ...discovery(), '--no-cache', '--report', file], captureIo(env))).toBe(0)
    const html = await readFile(file, 'utf8')
    expect(html).toContain('OK — a client of Windows 10 Professional would activate (count 50 of 25)')
    expect(html).toContain('aria-label="Failover timeline"')
    expect(html).toContain('★ winner')
    expect(html).toContain('<h2>Trace</h2>')
    expect(html).not.toMatch(/<script|\bsrc=|\bhref=/i)
  })

  it('discover writes JSON and query writes text', async () => {
    const json = join(dir, 'discovery.json')
    expect(await runCli(['discover', ...discovery(), '--report', json], captureIo(env))).toBe(0)
    const parsed = JSON.parse(await readFile(json, 'utf8')) as {
      subject: string
      report: { results: Array<{ records: Array<{ port: number }> }> }
    }
    expect(parsed.subject).toBe('discovery')
    expect(parsed.report.results[0]!.records[0]!.port).toBe(host.port)

    const text = join(dir, 'query.txt')
    expect(await runCli(['query', `127.0.0.40:${host.port}`, '--report', text], captureIo(env))).toBe(0)
    const report = await readFile(text, 'utf8')
    expect(report).toContain('KMS Scout — KMS host query report')
    expect(report).toMatch(/^ {2}Count +50 of 25$/m)
  })

  it('refuses a file name whose format it cannot tell, before asking any host', async () => {
    const before = host.calls.length
    const io = captureIo(env)
    expect(await runCli(['query', `127.0.0.40:${host.port}`, '--report', join(dir, 'q.pdf')], io)).toBe(3)
    expect(io.err()).toContain("the format cannot be told from '.pdf'")
    expect(io.err()).toContain('end the file name in .txt (text), .json or .html')
    expect(host.calls.length).toBe(before)
  })
})
