/**
 * The offline promise for the CLI: the built `kms-scout check` runs in a child process with every outbound TCP
 * connection, UDP send and system-resolver call recorded (net-recorder.ts, loaded with --import), and the run
 * must reach nothing but the loopback DNS server (a real dnsmasq), the KMS host it names and the lab-host
 * listener behind it (a real lab host). A second run proves the recorder sees what it must catch.
 * Requires dnsmasq and a build (`npm run build`).
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDnsmasq, type RunningDnsmasq } from '../helpers/dnsmasq'
import { closedPort } from '../helpers/kms-test-host'
import { useLabHosts } from '../helpers/lab-host-fixture'
import { readNetEvents, violations } from './offline-policy'
import { repoRoot } from '../e2e/bridge-page'

const cliBundle = join(repoRoot, 'out/main/cli.js')
const recorder = join(repoRoot, 'test/release/net-recorder.ts')
const labHosts = useLabHosts()
let dnsmasq: RunningDnsmasq
let labPort: number
let stopHost: () => Promise<void>
const dirs: string[] = []

beforeAll(async () => {
  if (!existsSync(cliBundle)) throw new Error('out/main/cli.js is missing: run `npm run build` first')
  // useLabHosts stops its hosts after each test; this one must outlive the file's tests, so it is stopped here.
  const { LabHost } = await import('../../src-main/lab-host/lab-host')
  const dir = await mkdtemp(join(tmpdir(), 'kms-scout-offline-'))
  dirs.push(dir)
  const host = new LabHost({ listen: ['127.0.0.1:0'], identity: await labHosts.identity(dir), dbPath: join(dir, 'client-log.sqlite') })
  labPort = (await host.start())[0]!.port
  stopHost = () => host.stop()
  dnsmasq = await startDnsmasq([
    'local=/offline.test/',
    `srv-host=_vlmcs._tcp.offline.test,kms.offline.test,${labPort},0,0`,
    'host-record=kms.offline.test,127.0.0.1'
  ])
})

afterAll(async () => {
  await dnsmasq?.stop()
  await stopHost?.()
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
})

async function recordedCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'kms-scout-offline-cli-'))
  dirs.push(dir)
  const file = join(dir, 'net-events.jsonl')
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', recorder, cliBundle, ...args], {
    cwd: repoRoot,
    env: { ...process.env, KMS_SCOUT_CONFIG_DIR: join(dir, 'config'), KMS_SCOUT_NET_RECORD: file },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  return { code, stdout, stderr, file }
}

describe('offline promise: kms-scout check', () => {
  it('reaches only the configured loopback DNS server, the KMS host it names and the lab-host listener', async () => {
    const run = await recordedCli(['check', '--domain', 'offline.test', '--dns-server', dnsmasq.spec4, '--json'])
    // A fresh lab host has seen one client: below the threshold, so the check warns (exit 1) — after a full exchange.
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 1, stderr: '' })
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'warning' })

    const events = await readNetEvents(run.file)
    // The recorder saw the traffic the check must make: DNS over UDP and the KMS exchange over TCP.
    expect(events).toContainEqual({ kind: 'udp', host: '127.0.0.1', port: dnsmasq.port })
    expect(events).toContainEqual({ kind: 'tcp-connected', host: '127.0.0.1', port: labPort })
    expect(
      violations(events, {
        endpoints: [
          { host: '127.0.0.1', port: dnsmasq.port },
          { host: 'kms.offline.test', port: labPort },
          { host: '127.0.0.1', port: labPort }
        ]
      })
    ).toEqual([])
  })

  it('the recorder and the rule catch a destination nobody configured', async () => {
    const stray = await closedPort('127.0.0.9')
    const run = await recordedCli(['query', `127.0.0.9:${stray}`, '--timeout', '2000'])
    expect(run.code).toBe(2)
    const events = await readNetEvents(run.file)
    expect(violations(events, { endpoints: [{ host: '127.0.0.1', port: labPort }] })).toContainEqual({
      kind: 'tcp',
      host: '127.0.0.9',
      port: stray
    })
  })
})
