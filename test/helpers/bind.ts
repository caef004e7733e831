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
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { queryOnce, startDaemon } from './daemon'

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

/** True when the server answers an SOA query for `zone` authoritatively with the SOA. */
async function soaAnswered(port: number, zone: string, timeoutMs: number): Promise<boolean> {
  const reply = await queryOnce('127.0.0.1', port, { type: 'SOA', name: zone }, timeoutMs)
  return reply !== undefined && reply.flag_aa === true && (reply.answers ?? []).some((a) => a.type === 'SOA')
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

function namedConf(dir: string, port: number, keyFile: string, keyName: string, zones: readonly BindZone[]): string {
  return [
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
}

export async function startBind(zones: readonly BindZone[], keyName = 'kms-scout-test'): Promise<RunningBind> {
  const named = bindTool('named')
  const dir = await mkdtemp(join(tmpdir(), 'kms-scout-bind-'))
  const keyFile = await makeKeyFile(dir, keyName, 'update.key')
  for (const zone of zones) await writeFile(join(dir, `${zone.name}.zone`), zoneFile(zone))

  const confPath = join(dir, 'named.conf')
  const daemon = await startDaemon({
    workDir: dir,
    name: 'named',
    readyTimeoutMs: 20_000,
    portTaken: /address in use|already in use/i,
    command: async (port) => {
      await writeFile(confPath, namedConf(dir, port, keyFile, keyName, zones))
      return { binary: named, args: ['-g', '-n', '1', '-c', confPath] }
    },
    isReady: async (port) => (await Promise.all(zones.map((z) => soaAnswered(port, z.name, 200)))).every(Boolean),
    describe: async () => `Config:\n${await readFile(confPath, 'utf8').catch(() => '')}`
  })
  return {
    port: daemon.port,
    spec: `127.0.0.1:${daemon.port}`,
    dir,
    keyFile,
    keyName,
    log: daemon.log,
    stop: () => daemon.stop()
  }
}
