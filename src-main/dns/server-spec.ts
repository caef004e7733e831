/**
 * DNS server specifications as a user types them: `IP[:PORT]`.
 *
 * Accepted forms: `10.0.0.2`, `10.0.0.2:5353`, `[fd00::53]:5353`, `[fd00::53]`, bare `fd00::53`, and IPv6 with
 * a zone (`fe80::1%eth0`, `[fe80::1%12]:53`) because Windows and macOS report link-local resolvers that way.
 * Host names are rejected on purpose: resolving the DNS server's own name would need DNS (and, on a broken
 * machine, the very resolver we are trying to bypass).
 */
import { isIPv4, isIPv6 } from 'node:net'

export const DEFAULT_DNS_PORT = 53

export interface DnsServer {
  /** IP literal; IPv6 without brackets (may carry a `%zone`). */
  readonly host: string
  readonly port: number
  readonly family: 4 | 6
}

export class DnsServerSpecError extends Error {
  override readonly name = 'DnsServerSpecError'
  readonly code = 'bad-server-spec' as const
  readonly spec: string
  /** What was wrong, without the fix (for compact UI display). */
  readonly problem: string
  /** How to fix it. */
  readonly hint: string

  constructor(spec: string, problem: string, hint: string) {
    super(`Invalid DNS server "${spec}": ${problem}. ${hint}`)
    this.spec = spec
    this.problem = problem
    this.hint = hint
  }
}

const EXAMPLES = 'Examples: 10.0.0.2, 10.0.0.2:5353, fd00::53, [fd00::53]:5353'

function parsePort(spec: string, text: string): number {
  if (text === '') throw new DnsServerSpecError(spec, 'the port after ":" is empty', `Write a port number or leave out the ":". ${EXAMPLES}`)
  if (!/^[0-9]{1,5}$/.test(text)) {
    throw new DnsServerSpecError(spec, `"${text}" is not a port number`, 'A port is a whole number from 1 to 65535 (DNS normally uses 53)')
  }
  const port = Number(text)
  if (port < 1 || port > 65535) {
    throw new DnsServerSpecError(spec, `port ${port} is out of range`, 'A port is a whole number from 1 to 65535 (DNS normally uses 53)')
  }
  return port
}

function rejectUnusable(spec: string, host: string, family: 4 | 6): void {
  const bare = host.split('%')[0]!.toLowerCase()
  if (bare === '0.0.0.0' || bare === '::' || /^0+(:0+){7}$/.test(bare)) {
    throw new DnsServerSpecError(spec, 'the unspecified address cannot receive queries', 'Give the address of a real DNS server')
  }
  if (family === 4) {
    const first = Number(bare.split('.')[0])
    if (bare === '255.255.255.255' || (first >= 224 && first <= 239)) {
      throw new DnsServerSpecError(spec, 'a broadcast or multicast address is not a DNS server', 'Give the unicast address of a DNS server')
    }
  } else if (bare.startsWith('ff')) {
    throw new DnsServerSpecError(spec, 'a multicast address is not a DNS server', 'Give the unicast address of a DNS server')
  }
}

function looksLikeHostName(text: string): boolean {
  return /^[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$/i.test(text) && /[a-z_-]/i.test(text)
}

/** Parses `IP[:PORT]`; throws {@link DnsServerSpecError} saying what is wrong and how to write it instead. */
export function parseDnsServer(input: string): DnsServer {
  const spec = input.trim()
  if (spec === '') throw new DnsServerSpecError(input, 'it is empty', `Give the IP address of a DNS server. ${EXAMPLES}`)
  if (/\s/.test(spec)) {
    throw new DnsServerSpecError(spec, 'it contains spaces', 'Give one server per entry, e.g. 10.0.0.2:53 (separate several servers, do not join them with spaces)')
  }

  if (spec.startsWith('[')) {
    const close = spec.indexOf(']')
    if (close < 0) throw new DnsServerSpecError(spec, 'the "[" has no matching "]"', 'Write IPv6 with a port as [address]:port, e.g. [fd00::53]:5353')
    const host = spec.slice(1, close)
    const rest = spec.slice(close + 1)
    if (isIPv4(host)) {
      throw new DnsServerSpecError(spec, 'brackets are only for IPv6 addresses', 'Write an IPv4 address without brackets, e.g. 10.0.0.2:5353')
    }
    if (!isIPv6(host)) throw new DnsServerSpecError(spec, `"${host}" is not an IPv6 address`, 'Write IPv6 with a port as [address]:port, e.g. [fd00::53]:5353')
    let port = DEFAULT_DNS_PORT
    if (rest !== '') {
      if (!rest.startsWith(':')) {
        throw new DnsServerSpecError(spec, `unexpected "${rest}" after "]"`, 'Only ":port" may follow the closing bracket, e.g. [fd00::53]:5353')
      }
      port = parsePort(spec, rest.slice(1))
    }
    rejectUnusable(spec, host, 6)
    return { host, port, family: 6 }
  }

  const colons = spec.split(':').length - 1
  if (colons >= 2) {
    if (isIPv6(spec)) {
      rejectUnusable(spec, spec, 6)
      return { host: spec, port: DEFAULT_DNS_PORT, family: 6 }
    }
    // A common slip: "fd00::53:5353" meaning address + port. Say how to write a port with IPv6.
    const lastColon = spec.lastIndexOf(':')
    if (isIPv6(spec.slice(0, lastColon)) && /^[0-9]{1,5}$/.test(spec.slice(lastColon + 1))) {
      throw new DnsServerSpecError(spec, 'it is not a valid IPv6 address', `To give an IPv6 address with a port, put the address in brackets: [${spec.slice(0, lastColon)}]:${spec.slice(lastColon + 1)}`)
    }
    throw new DnsServerSpecError(spec, 'it is not a valid IPv6 address', `Check the address; with a port write [address]:port. ${EXAMPLES}`)
  }

  let host = spec
  let port = DEFAULT_DNS_PORT
  if (colons === 1) {
    const colon = spec.indexOf(':')
    host = spec.slice(0, colon)
    port = parsePort(spec, spec.slice(colon + 1))
    if (host === '') throw new DnsServerSpecError(spec, 'the address before ":" is empty', `Write the server address before the port. ${EXAMPLES}`)
  }
  if (isIPv4(host)) {
    rejectUnusable(spec, host, 4)
    return { host, port, family: 4 }
  }
  if (looksLikeHostName(host)) {
    throw new DnsServerSpecError(spec, `"${host}" is a host name, not an IP address`, 'Give the DNS server by IP address (a name would itself need DNS to be found), e.g. 10.0.0.2')
  }
  throw new DnsServerSpecError(spec, `"${host}" is not a valid IPv4 address`, `An IPv4 address is four numbers 0-255 separated by dots, without leading zeros. ${EXAMPLES}`)
}

/** Canonical text of a server, used in traces, errors and as a key: `10.0.0.2:53`, `[fd00::53]:53`. */
export function formatDnsServer(server: DnsServer): string {
  return server.family === 6 ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`
}

/** Accepts already-parsed servers or specs; throws {@link DnsServerSpecError} on the first bad spec. */
export function toDnsServer(server: string | DnsServer): DnsServer {
  return typeof server === 'string' ? parseDnsServer(server) : server
}
