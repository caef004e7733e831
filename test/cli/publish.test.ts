/**
 * `kms-scout publish`, `unpublish`, `serve --publish`, `plan-dns` and `audit-dns` in-process against a real BIND 9
 * and real lab hosts on 127.0.0.1: what they print, what they exit with, and what BIND holds afterwards.
 * Requires BIND 9 (`apt-get install -y bind9 bind9-dnsutils`).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../src-main/cli/run'
import type { CliIo } from '../../src-main/cli/io'
import { captureIo } from '../helpers/cli-io'
import { makeKeyFile, startBind, type RunningBind } from '../helpers/bind'
import { useLabHosts } from '../helpers/lab-host-fixture'

let bind: RunningBind
const dirs: string[] = []
const labHosts = useLabHosts()

beforeAll(async () => {
  bind = await startBind([
    { name: 'cli.test', records: ['live IN A 127.0.0.1', 'old IN A 127.0.0.1'] },
    { name: 'locked.test', allowUpdate: 'none' }
  ])
})
afterAll(async () => {
  await bind?.stop()
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
})

async function configDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kms-scout-publish-cli-'))
  dirs.push(dir)
  return dir
}

async function cli(args: string[], io?: CliIo & { out(): string; err(): string }): Promise<{ code: number; out: string; err: string }> {
  const used = io ?? captureIo({ KMS_SCOUT_CONFIG_DIR: await configDir() })
  const code = await runCli(args, used)
  return { code, out: used.out(), err: used.err() }
}

async function discovered(domain: string): Promise<string[]> {
  const r = await cli(['discover', '--domain', domain, '--dns-server', bind.spec, '--json'])
  const report = JSON.parse(r.out)
  return (report.results[0].records as Array<{ priority: number; weight: number; port: number; target: string }>)
    .map((x) => `${x.priority} ${x.weight} ${x.port} ${x.target}`)
    .sort()
}

const server = (): string[] => ['--dns-server', bind.spec]

describe('kms-scout publish / unpublish', () => {
  it('publishes, says so, and discover sees the record with its priority and weight; unpublish removes it', async () => {
    const r = await cli([
      'publish',
      '--domain',
      'cli.test',
      '--name',
      'kms01.cli.test',
      '--priority',
      '10',
      '--weight',
      '40',
      '--tsig-key',
      bind.keyFile,
      ...server()
    ])
    expect(r.code).toBe(0)
    expect(r.out).toBe(
      `published _vlmcs._tcp.cli.test SRV 10 40 1688 kms01.cli.test at ${bind.spec} (zone cli.test, signed with key ${bind.keyName}): NOERROR\n`
    )
    expect(await discovered('cli.test')).toEqual(['10 40 1688 kms01.cli.test'])

    const moved = await cli([
      'publish',
      '--domain',
      'cli.test',
      '--name',
      'kms01.cli.test',
      '--port',
      '1700',
      '--tsig-key',
      bind.keyFile,
      ...server()
    ])
    expect(moved.out).toContain('  replaced 10 40 1688 kms01.cli.test\n')
    const gone = await cli([
      'unpublish',
      '--domain',
      'cli.test',
      '--name',
      'kms01.cli.test',
      '--tsig-key',
      bind.keyFile,
      ...server(),
      '--json'
    ])
    expect(gone.code).toBe(0)
    expect(JSON.parse(gone.out)).toMatchObject({
      ok: true,
      results: [{ action: 'unpublish', removed: [{ port: 1700, priority: 0, weight: 0 }] }]
    })
    expect(await discovered('cli.test')).toEqual([])
  })

  it('a wrong key is refused and explained (exit 2)', async () => {
    const dir = await configDir()
    const wrong = await makeKeyFile(dir, bind.keyName, 'wrong.key')
    const r = await cli(['publish', '--domain', 'cli.test', '--name', 'kms01.cli.test', '--tsig-key', wrong, ...server()])
    expect(r.code).toBe(2)
    expect(r.out).toMatch(/^could not publish _vlmcs\._tcp\.cli\.test SRV .*: BADSIG — the signature does not verify/)
    expect(r.err).toBe(
      `kms-scout publish: _vlmcs._tcp.cli.test at ${bind.spec}: BADSIG: the signature does not verify: the server's secret for this key name differs from ours\n  fix: use the key file the DNS server was configured with (the same secret)\n`
    )
  })

  it('an update the server refuses is explained (exit 2), for each domain given', async () => {
    const r = await cli([
      'publish',
      '--domain',
      'locked.test',
      '--domain',
      'cli.test',
      '--name',
      'kms09.cli.test',
      '--tsig-key',
      bind.keyFile,
      ...server(),
      '--json'
    ])
    expect(r.code).toBe(2)
    expect(JSON.parse(r.out)).toMatchObject({
      ok: false,
      results: [
        { ok: false, code: 'REFUSED', zone: 'locked.test' },
        { ok: true, code: 'NOERROR' }
      ]
    })
    expect(r.err).toMatch(/REFUSED: the server refuses updates to this zone from this client or key\n {2}fix: allow this key/)
    await cli(['unpublish', '--domain', 'cli.test', '--name', 'kms09.cli.test', '--tsig-key', bind.keyFile, ...server()])
  })

  it('usage errors exit 3 with a cause and a fix', async () => {
    const noServer = await cli(['publish', '--domain', 'cli.test', '--name', 'kms01.cli.test'])
    expect(noServer).toMatchObject({
      code: 3,
      err: 'kms-scout: publish needs --dns-server IP[:PORT]\n  give the primary DNS server of the zone, e.g. --dns-server 10.0.0.2\n'
    })
    const badWeight = await cli(['publish', '--domain', 'cli.test', '--name', 'kms01.cli.test', '--weight', '70000', ...server()])
    expect(badWeight.code).toBe(3)
    expect(badWeight.err).toMatch(/--weight '70000' is not a whole number of weight from 0 to 65535/)
    const noKey = await cli([
      'publish',
      '--domain',
      'cli.test',
      '--name',
      'kms01.cli.test',
      '--tsig-key',
      '/nonexistent/k.key',
      ...server()
    ])
    expect(noKey.code).toBe(3)
    expect(noKey.err).toMatch(/cannot read the TSIG key file \/nonexistent\/k\.key: ENOENT/)
    const priorityOnUnpublish = await cli(['unpublish', '--domain', 'cli.test', '--name', 'x.cli.test', '--priority', '1', ...server()])
    expect(priorityOnUnpublish.code).toBe(3)
  })
})

describe('kms-scout serve --publish', () => {
  it('adds the record when it starts listening and removes it when it stops (SIGTERM)', async () => {
    let interrupt: (signal: string) => void = () => {}
    let atInterruptWait: () => void = () => {}
    const waiting = new Promise<void>((resolve) => (atInterruptWait = resolve))
    const base = captureIo({ KMS_SCOUT_CONFIG_DIR: await configDir() })
    const io = {
      ...base,
      // serve waits here once it listens and has published: the moment to look at DNS
      waitForInterrupt: () => {
        atInterruptWait()
        return new Promise<string>((resolve) => (interrupt = resolve))
      }
    }
    const running = cli(
      [
        'serve',
        '--listen',
        '127.0.0.1:0',
        '--publish',
        'cli.test',
        '--publish-server',
        bind.spec,
        '--publish-name',
        'lab.cli.test',
        '--priority',
        '3',
        '--weight',
        '30',
        '--tsig-key',
        bind.keyFile,
        '--json'
      ],
      io
    )
    await waiting
    const records = await discovered('cli.test')
    expect(records).toHaveLength(1)
    expect(records[0]).toMatch(/^3 30 \d+ lab\.cli\.test$/)
    const port = Number(records[0]!.split(' ')[2])
    expect(base.err()).toContain(`published _vlmcs._tcp.cli.test SRV 3 30 ${port} lab.cli.test`)

    interrupt('SIGTERM')
    const r = await running
    expect(r.code).toBe(0)
    expect(JSON.parse(r.out)).toMatchObject({ ok: true, dns: { published: [{ ok: true }], removed: [{ ok: true, removed: [{ port }] }] } })
    expect(await discovered('cli.test')).toEqual([])
  })

  it('refuses publishing flags without --publish, and --publish without a server, before starting', async () => {
    const r = await cli(['serve', '--listen', '127.0.0.1:0', '--publish-server', bind.spec])
    expect(r).toMatchObject({ code: 3, err: expect.stringMatching(/--publish-server needs --publish DOMAIN/) })
    const noServer = await cli(['serve', '--listen', '127.0.0.1:0', '--publish', 'cli.test'])
    expect(noServer).toMatchObject({ code: 3, err: expect.stringMatching(/--publish needs --publish-server/) })
  })
})

describe('kms-scout plan-dns', () => {
  it('prints the plan, its checks and every form; --format zone prints only the lines', async () => {
    const args = ['plan-dns', '--host', 'kms01.corp.test,0,100', '--host', 'kms02.corp.test:1700,0', '--domain', 'corp.test']
    const all = await cli(args)
    expect(all.code).toBe(1) // kms02 with weight 0 beside kms01 with 100 is starved
    expect(all.out).toContain('  kms01.corp.test:1688  priority 0  weight 100  tried first by 99.0% of clients')
    expect(all.out).toMatch(
      /WARNING priority 0: kms02\.corp\.test with weight 0 beside weighted hosts is tried first by only 0\.99% of clients/
    )
    for (const heading of ['Zone file', 'PowerShell', 'dnscmd', 'nsupdate script', 'DnsDomainPublishList'])
      expect(all.out).toContain(heading)

    const zone = await cli([...args, '--format', 'zone'])
    expect(zone.out).toBe(
      '_vlmcs._tcp.corp.test. 3600 IN SRV 0 100 1688 kms01.corp.test.\n_vlmcs._tcp.corp.test. 3600 IN SRV 0 0 1700 kms02.corp.test.\n'
    )
    expect(zone.err).toMatch(/^kms-scout plan-dns: WARNING/)
    const bad = await cli(['plan-dns', '--host', 'kms01.corp.test,x', '--domain', 'corp.test'])
    expect(bad).toMatchObject({ code: 3, err: expect.stringMatching(/the priority 'x' is not a whole number/) })
  })
})

describe('kms-scout audit-dns', () => {
  it('flags a stale record beside a healthy one (exit 1) and shows count, ePID and host key', async () => {
    const { port } = await labHosts.start()
    // a retired host: its name still resolves, nothing listens on its port any more
    const retired = createServer()
    await new Promise<void>((resolve) => retired.listen(0, '127.0.0.1', () => resolve()))
    const oldPort = (retired.address() as { port: number }).port
    await new Promise<void>((resolve) => retired.close(() => resolve()))
    const key = ['--tsig-key', bind.keyFile, ...server()]
    await cli(['publish', '--domain', 'audit.cli.test', '--name', 'live.cli.test', '--port', String(port), '--weight', '10', ...key])
    // publishing again replaces the record instead of adding a second one
    await cli(['publish', '--domain', 'audit.cli.test', '--name', 'live.cli.test', '--port', String(port), '--weight', '10', ...key])
    await cli(['publish', '--domain', 'audit.cli.test', '--name', 'old.cli.test', '--port', String(oldPort), '--weight', '10', ...key])
    const r = await cli(['audit-dns', '--domain', 'audit.cli.test', ...server()])
    expect(r.code).toBe(1)
    expect(r.out.split('\n')[0]).toBe('KMS DNS WARNING - 2 record(s), 1 answer, 1 stale or unresolved, clients use audit.cli.test')
    expect(r.out).toMatch(new RegExp(`live\\.cli\\.test:${port}\\s+answers\\s+1/25`))
    expect(r.out).toMatch(new RegExp(`old\\.cli\\.test:${oldPort}\\s+stale`))
    expect(r.out).toMatch(/live\.cli\.test: ePID \d{5}-\d{5}-\d{3}-\d{6}-03-\d+-\d+\.0000-\d{7}; the key activates /)
    expect(r.out).toContain(`WARNING  old.cli.test:${oldPort} does not answer KMS (`)
    expect(r.out).toContain('a stale record for a host that is down or retired')

    const json = await cli(['audit-dns', '--domain', 'audit.cli.test', ...server(), '--json'])
    expect(json.code).toBe(1)
    expect(JSON.parse(json.out)).toMatchObject({
      status: 'warning',
      records: [{ status: expect.any(String) }, { status: expect.any(String) }]
    })
  })
})
