/**
 * Runs a real BIND 9 `named` on 127.0.0.1 for the DNS publishing tests: an authoritative server for the given
 * zones that accepts dynamic updates signed with a TSIG key made by `tsig-keygen` (or refuses them, per zone).
 *
 * - A temp directory holds named.conf, the key file, the zone files and named's journals.
 * - `named -g` stays in the foreground and logs to stderr; `controls {}` turns rndc off, `recursion no` means
 *   it never asks anyone else; it listens on 127.0.0.1 only, on a port free for UDP and TCP.
 * - Ready when every zone answers its SOA authoritatively (each query bounded by a short timeout), so a zone
 *   file that does not load fails the start with named's log.
 * - `stop()` sends SIGTERM, waits for the exit and removes the directory.
 * CI needs: `apt-get install -y bind9 bind9-dnsutils` (named, tsig-keygen, nsupdate, dig).
 */
import type { Buffer } from 'node:buffer'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as dnsPacket from 'dns-packet'

export interface BindZone {
  readonly name: string
  /** Zone-file lines after the SOA and NS records (absolute names end with a dot). */
  readonly records?: readonly string[]
  /** Who may update: holders of the test key (default), or nobody. */
  readonly allowUpdate?: 'key' | 'none'
}

export interface RunningBind {
  readonly port: number
  /** `127.0.0.1:<port>` */
  readonly spec: string
  readonly dir: string
  /** The key file named trusts (tsig-keygen output) and its key name. */
  readonly keyFile: string
  readonly keyName: string
  log(): string
  stop(): Promise<void>
}

const NAMED = '/usr/sbin/named'
const INSTALL_HINT = 'BIND 9 is required for the DNS publishing tests: `apt-get install -y bind9 bind9-dnsutils` (CI does this).'

/** Path of a BIND tool; throws with install instructions when missing. */
export function bindTool(name: 'named' | 'tsig-keygen' | 'nsupdate' | 'dig'): string {
  const candidates = name === 'named' ? [NAMED] : [`/usr/sbin/${name}`, `/usr/bin/${name}`]
  const found = candidates.find((c) => existsSync(c))
  if (!found) throw new Error(INSTALL_HINT)
  return found
}

/** A key file as `tsig-keygen` writes it (the real tool), in `dir`. */
export async function makeKeyFile(dir: string, keyName: string, file: string, algorithm = 'hmac-sha256'): Promise<string> {
  const made = spawnSync(bindTool('tsig-keygen'), ['-a', algorithm, keyName], { encoding: 'utf8' })
  if (made.status !== 0) throw new Error(`tsig-keygen failed: ${made.stderr}`)
  const path = join(dir, file)
  await writeFile(path, made.stdout)
  return path
}

function freeUdpTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const udp = createSocket('udp4')
    udp.once('error', reject)
    udp.bind(0, '127.0.0.1', () => {
      const port = udp.address().port
      const tcp = createServer()
      tcp.once('error', () => udp.close(() => resolve(freeUdpTcpPort())))
      tcp.listen(port, '127.0.0.1', () => tcp.close(() => udp.close(() => resolve(port))))
    })
  })
}

/** One SOA query; true when the server answers it authoritatively with the SOA. */
function soaAnswered(port: number, zone: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4')
    const id = Math.floor(Math.random() * 0xffff)
    const timer = setTimeout(() => finish(false), timeoutMs)
    function finish(ok: boolean): void {
      clearTimeout(timer)
      socket.close()
      resolve(ok)
    }
    socket.on('error', () => finish(false))
    socket.on('message', (msg: Buffer) => {
      try {
        const reply = dnsPacket.decode(msg)
        if (reply.id === id) finish(reply.flag_aa === true && (reply.answers ?? []).some((a) => a.type === 'SOA'))
      } catch {
        finish(false)
      }
    })
    socket.send(dnsPacket.encode({ type: 'query', id, questions: [{ type: 'SOA', name: zone }] }), port, '127.0.0.1')
  })
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

function zoneFile(zone: BindZone): string {
  return [
    '$TTL 300',
    `@ IN SOA ns.${zone.name}. hostmaster.${zone.name}. 1 3600 600 86400 300`,
    `@ IN NS ns.${zone.name}.`,
    'ns IN A 127.0.0.1',
    ...(zone.records ?? []),
    ''
  ].join('\n')
}

export async function startBind(zones: readonly BindZone[], keyName = 'kms-scout-test'): Promise<RunningBind> {
  const named = bindTool('named')
  const dir = await mkdtemp(join(tmpdir(), 'kms-scout-bind-'))
  const keyFile = await makeKeyFile(dir, keyName, 'update.key')
  for (const zone of zones) await writeFile(join(dir, `${zone.name}.zone`), zoneFile(zone))

  let lastLog = ''
  for (let tries = 0; tries < 5; tries++) {
    const port = await freeUdpTcpPort()
    const conf = [
      'options {',
      `  directory "${dir}";`,
      '  pid-file none;',
      `  session-keyfile "${join(dir, 'session.key')}";`,
      `  listen-on port ${port} { 127.0.0.1; };`,
      '  listen-on-v6 { none; };',
      '  recursion no;',
      '  notify no;',
      '  dnssec-validation no;',
      '};',
      'controls { };',
      `include "${keyFile}";`,
      ...zones.map(
        (z) =>
          `zone "${z.name}" { type primary; file "${z.name}.zone"; allow-update { ${z.allowUpdate === 'none' ? 'none' : `key "${keyName}"`}; }; };`
      ),
      ''
    ].join('\n')
    const confPath = join(dir, 'named.conf')
    await writeFile(confPath, conf)
    const child = spawn(named, ['-g', '-n', '1', '-c', confPath], { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()))
    let exited = false
    child.once('exit', () => (exited = true))
    const deadline = Date.now() + 20_000
    let ready = false
    while (!exited && Date.now() < deadline) {
      const answers = await Promise.all(zones.map((z) => soaAnswered(port, z.name, 200)))
      if (answers.every(Boolean)) {
        ready = true
        break
      }
    }
    if (ready) {
      return {
        port,
        spec: `127.0.0.1:${port}`,
        dir,
        keyFile,
        keyName,
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
    lastLog = output.trim()
    if (!/address in use|already in use/i.test(output)) break // a config or zone error will not go away with another port
  }
  const confText = await readFile(join(dir, 'named.conf'), 'utf8').catch(() => '')
  await rm(dir, { recursive: true, force: true })
  throw new Error(`named did not start or did not serve its zones. Its log:\n${lastLog || '(none)'}\nConfig:\n${confText}`)
}
