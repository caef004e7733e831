/**
 * Runs a real dnsmasq on loopback for integration tests.
 *
 * - Picks a port free for UDP and TCP on 127.0.0.1 (and ::1 when IPv6 is wanted), writes the given config
 *   lines to a temp dir and starts
 *   `dnsmasq --no-resolv --no-hosts --no-daemon --port=P --listen-address=127.0.0.1 [--listen-address=::1]
 *    --bind-interfaces --local-ttl=300 --conf-file=<tmp>/dnsmasq.conf`.
 *   `--no-daemon` (debug mode) keeps it in the foreground, logs to stderr, writes no pid file and does not
 *   change user; `--no-resolv` with no `server=` lines means it never forwards anything anywhere.
 * - Waits until it answers a probe query (polling with queries, each bounded by a short reply timeout).
 * - `stop()` kills it and removes the temp dir.
 * CI needs: `apt-get install -y dnsmasq-base`.
 */
import type { Buffer } from 'node:buffer'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import * as dnsPacket from 'dns-packet'

export interface RunningDnsmasq {
  readonly port: number
  /** `127.0.0.1:<port>` */
  readonly spec4: string
  /** `[::1]:<port>` when started with IPv6, else undefined. */
  readonly spec6: string | undefined
  /** The exact command line used (for reports and debugging). */
  readonly commandLine: readonly string[]
  readonly configText: string
  /** Everything dnsmasq wrote to stderr/stdout so far. */
  log(): string
  stop(): Promise<void>
}

const INSTALL_HINT =
  'dnsmasq is required for the DNS integration tests: install it with `apt-get install -y dnsmasq-base` (Debian/Ubuntu; CI does this).'

/** Path of the dnsmasq binary; throws with install instructions when missing. */
function findDnsmasq(): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/local/sbin']
  for (const dir of dirs) {
    if (!dir) continue
    const candidate = join(dir, 'dnsmasq')
    if (existsSync(candidate)) {
      const probe = spawnSync(candidate, ['--version'], { encoding: 'utf8' })
      if (probe.status === 0) return candidate
    }
  }
  throw new Error(INSTALL_HINT)
}

function canBindUdp(family: 'udp4' | 'udp6', host: string, port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket(family)
    socket.once('error', () => {
      socket.close()
      resolve(undefined)
    })
    socket.bind(port, host, () => {
      const bound = socket.address().port
      socket.close(() => resolve(bound))
    })
  })
}

function canListenTcp(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, host, () => server.close(() => resolve(true)))
  })
}

async function findFreePort(ipv6: boolean): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await canBindUdp('udp4', '127.0.0.1', 0)
    if (port === undefined) continue
    if (!(await canListenTcp('127.0.0.1', port))) continue
    if (ipv6 && ((await canBindUdp('udp6', '::1', port)) === undefined || !(await canListenTcp('::1', port)))) continue
    return port
  }
  throw new Error('could not find a port free for UDP and TCP on loopback')
}

/** One query; resolves true on any reply with our ID, false after `timeoutMs` without one. */
function probe(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4')
    const id = Math.floor(Math.random() * 0xffff)
    const timer = setTimeout(() => finish(false), timeoutMs)
    function finish(ok: boolean): void {
      clearTimeout(timer)
      socket.close()
      resolve(ok)
    }
    socket.on('error', () => finish(false))
    socket.on('message', (msg: Buffer) => {
      if (msg.length >= 2 && msg.readUInt16BE(0) === id) finish(true)
    })
    const query = dnsPacket.encode({
      type: 'query',
      id,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: 'A', name: 'probe.kms-scout.invalid' }]
    })
    socket.send(query, port, host)
  })
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

export async function startDnsmasq(configLines: readonly string[], options: { ipv6?: boolean } = {}): Promise<RunningDnsmasq> {
  const binary = findDnsmasq()
  const ipv6 = options.ipv6 ?? false
  const dir = await mkdtemp(join(tmpdir(), 'kms-scout-dnsmasq-'))
  const confPath = join(dir, 'dnsmasq.conf')
  const configText = `${configLines.join('\n')}\n`
  await writeFile(confPath, configText)

  let lastError = ''
  for (let tries = 0; tries < 5; tries++) {
    const port = await findFreePort(ipv6)
    const args = [
      '--no-resolv',
      '--no-hosts',
      '--no-daemon',
      `--port=${port}`,
      '--listen-address=127.0.0.1',
      ...(ipv6 ? ['--listen-address=::1'] : []),
      '--bind-interfaces',
      '--local-ttl=300',
      `--conf-file=${confPath}`
    ]
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()))
    let exited = false
    child.once('exit', () => (exited = true))

    const deadline = Date.now() + 15_000
    let ready = false
    while (!exited && Date.now() < deadline) {
      if ((await probe('127.0.0.1', port, 200)) && (!ipv6 || (await probe('::1', port, 200)))) {
        ready = true
        break
      }
    }
    if (ready) {
      return {
        port,
        spec4: `127.0.0.1:${port}`,
        spec6: ipv6 ? `[::1]:${port}` : undefined,
        commandLine: [binary, ...args],
        configText,
        log: () => output,
        stop: async () => {
          child.kill('SIGTERM')
          await waitForExit(child)
          await rm(dir, { recursive: true, force: true })
        }
      }
    }
    child.kill('SIGKILL')
    await waitForExit(child)
    lastError = output.trim()
    if (!/address already in use/i.test(output)) break // a config error will not go away with another port
  }
  await rm(dir, { recursive: true, force: true })
  throw new Error(`dnsmasq did not start or did not answer queries. Its output:\n${lastError || '(none)'}\nConfig:\n${configText}`)
}
