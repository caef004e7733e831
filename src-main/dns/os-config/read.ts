/**
 * Reads the OS's DNS client configuration. Thin: all parsing lives in the pure parsers next to this file;
 * the process runner, file reader, host name and platform are injected so every branch is testable anywhere.
 *
 *  - win32:  four PowerShell commands (run in parallel; one failing only adds a warning), see ./windows.ts;
 *            PowerShell by its absolute path (common/windows-paths.ts)
 *  - darwin: `scutil --dns` (what the system resolver really uses, including split DNS); if that fails,
 *            /etc/resolv.conf (macOS keeps a copy of the primary resolver there)
 *  - others: /etc/resolv.conf with glibc semantics, LOCALDOMAIN overriding the search list, and the host
 *            name's domain when neither `search` nor `domain` is set
 */
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { windowsPowerShellPath } from '../../common/windows-paths'
import { parseResolvConf } from './resolv-conf'
import { parseScutilDns, resolverConfigFromScutil } from './scutil'
import { appendUniqueDomains, type OsResolverConfig } from './resolver-config'
import { DNS_CLIENT_SCRIPT, GLOBAL_SETTING_SCRIPT, PRIMARY_SUFFIX_SCRIPT, SERVER_ADDRESSES_SCRIPT, windowsResolverConfig } from './windows'

export interface ResolverConfigDeps {
  readonly platform: string
  /** Runs a program without a shell and resolves with its stdout; rejects on failure or timeout. */
  readonly exec: (file: string, args: readonly string[], options: { readonly timeoutMs: number }) => Promise<string>
  readonly readFile: (path: string) => Promise<string>
  readonly hostname?: () => string
  readonly env?: Readonly<Record<string, string | undefined>>
}

const RESOLV_CONF_PATH = '/etc/resolv.conf'
const SCUTIL_PATH = '/usr/sbin/scutil'
const EXEC_TIMEOUT_MS = 15_000

/** PowerShell arguments for one script; output forced to UTF-8 so non-ASCII interface names survive. */
function powershellArgs(script: string): string[] {
  return [
    '-NoProfile',
    '-NonInteractive',
    '-ExecutionPolicy',
    'Bypass',
    '-Command',
    `[Console]::OutputEncoding = [Text.Encoding]::UTF8; ${script}`
  ]
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** Real implementations for the running process. */
function nodeResolverConfigDeps(): ResolverConfigDeps {
  return {
    platform: process.platform,
    exec: (file, args, options) =>
      new Promise((resolve, reject) => {
        execFile(
          file,
          [...args],
          { timeout: options.timeoutMs, windowsHide: true, maxBuffer: 4 * 1024 * 1024, encoding: 'utf8' },
          (error, stdout) => {
            if (error) reject(error)
            else resolve(stdout)
          }
        )
      }),
    readFile: (path) => readFile(path, 'utf8'),
    hostname: () => hostname(),
    env: process.env
  }
}

async function readWindows(deps: ResolverConfigDeps): Promise<OsResolverConfig> {
  const warnings: string[] = []
  const run = async (what: string, script: string): Promise<string | undefined> => {
    try {
      return await deps.exec(windowsPowerShellPath(deps.env ?? {}), powershellArgs(script), { timeoutMs: EXEC_TIMEOUT_MS })
    } catch (error) {
      warnings.push(`${what} failed: ${message(error)}`)
      return undefined
    }
  }
  const [serverAddresses, dnsClients, globalSetting, primarySuffix] = await Promise.all([
    run('Get-DnsClientServerAddress', SERVER_ADDRESSES_SCRIPT),
    run('Get-DnsClient', DNS_CLIENT_SCRIPT),
    run('Get-DnsClientGlobalSetting', GLOBAL_SETTING_SCRIPT),
    run('reading the primary DNS suffix', PRIMARY_SUFFIX_SCRIPT)
  ])
  return windowsResolverConfig({ serverAddresses, dnsClients, globalSetting, primarySuffix, warnings })
}

async function readResolvConf(deps: ResolverConfigDeps, extraWarnings: readonly string[] = []): Promise<OsResolverConfig> {
  const warnings = [...extraWarnings]
  let text: string
  try {
    text = await deps.readFile(RESOLV_CONF_PATH)
  } catch (error) {
    warnings.push(`cannot read ${RESOLV_CONF_PATH}: ${message(error)}`)
    return { servers: [], domains: [], source: RESOLV_CONF_PATH, warnings, domainServers: [] }
  }
  const parsed = parseResolvConf(text)
  warnings.push(...parsed.warnings.map((w) => `${RESOLV_CONF_PATH}: ${w}`))

  let servers = [...parsed.nameservers]
  if (servers.length === 0) {
    servers = ['127.0.0.1']
    warnings.push(`${RESOLV_CONF_PATH} lists no nameserver; like glibc, using 127.0.0.1`)
  }
  if (servers.includes('127.0.0.53')) {
    warnings.push(
      '127.0.0.53 is the systemd-resolved stub: it forwards to the per-link servers shown by `resolvectl status` (per-link search domains are only listed there)'
    )
  }

  const domains: string[] = []
  const localDomain = deps.env?.LOCALDOMAIN
  if (localDomain !== undefined && localDomain.trim() !== '') {
    appendUniqueDomains(domains, localDomain.trim().split(/\s+/))
    warnings.push('LOCALDOMAIN is set in the environment and replaces the search list of resolv.conf')
  } else if (parsed.searchFrom !== 'none') {
    appendUniqueDomains(domains, parsed.search)
  } else {
    const name = deps.hostname?.() ?? ''
    const dot = name.indexOf('.')
    if (dot > 0 && dot < name.length - 1) {
      appendUniqueDomains(domains, [name.slice(dot + 1)])
      warnings.push(`no search or domain line; like glibc, using the host name's domain "${name.slice(dot + 1)}"`)
    }
  }
  return { servers, domains, source: RESOLV_CONF_PATH, warnings, domainServers: [] }
}

async function readMac(deps: ResolverConfigDeps): Promise<OsResolverConfig> {
  try {
    const text = await deps.exec(SCUTIL_PATH, ['--dns'], { timeoutMs: EXEC_TIMEOUT_MS })
    const config = resolverConfigFromScutil(parseScutilDns(text))
    if (config.servers.length > 0 || config.domainServers.length > 0) return config
    return readResolvConf(deps, [...config.warnings, 'scutil --dns gave no usable resolver; falling back to /etc/resolv.conf'])
  } catch (error) {
    return readResolvConf(deps, [`scutil --dns failed (${message(error)}); falling back to /etc/resolv.conf`])
  }
}

/** Reads the DNS servers and search domains the OS uses. Never throws: problems become `warnings`. */
export async function readOsResolverConfig(deps: ResolverConfigDeps = nodeResolverConfigDeps()): Promise<OsResolverConfig> {
  switch (deps.platform) {
    case 'win32':
      return readWindows(deps)
    case 'darwin':
      return readMac(deps)
    default:
      return readResolvConf(deps)
  }
}
