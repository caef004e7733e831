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
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import * as dnsPacket from 'dns-packet'
import { queryOnce, startDaemon } from './daemon'

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

export async function startDnsmasq(configLines: readonly string[], options: { ipv6?: boolean } = {}): Promise<RunningDnsmasq> {
  const binary = findDnsmasq()
  const ipv6 = options.ipv6 ?? false
  const dir = await mkdtemp(join(tmpdir(), 'kms-scout-dnsmasq-'))
  const confPath = join(dir, 'dnsmasq.conf')
  const configText = `${configLines.join('\n')}\n`
  await writeFile(confPath, configText)

  const daemon = await startDaemon({
    workDir: dir,
    name: 'dnsmasq',
    ipv6,
    readyTimeoutMs: 15_000,
    portTaken: /address already in use/i,
    command: async (port) => ({
      binary,
      args: [
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
    }),
    isReady: async (port) => (await answers('127.0.0.1', port)) && (!ipv6 || (await answers('::1', port))),
    describe: async () => `Config:\n${configText}`
  })
  return {
    port: daemon.port,
    spec4: `127.0.0.1:${daemon.port}`,
    spec6: ipv6 ? `[::1]:${daemon.port}` : undefined,
    commandLine: [daemon.binary, ...daemon.args],
    configText,
    log: daemon.log,
    stop: () => daemon.stop()
  }
}

/** Any reply to a query for a name nobody serves: dnsmasq is up on that address. */
async function answers(host: string, port: number): Promise<boolean> {
  const reply = await queryOnce(host, port, { type: 'A', name: 'probe.kms-scout.invalid' }, 200, dnsPacket.RECURSION_DESIRED)
  return reply !== undefined
}
