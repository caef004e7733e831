/**
 * DNS server specifications as a user types them: `IP[:PORT]`.
 *
 * Accepted forms: `10.0.0.2`, `10.0.0.2:5353`, `[fd00::53]:5353`, `[fd00::53]`, bare `fd00::53`, and IPv6 with
 * a zone (`fe80::1%eth0`, `[fe80::1%12]:53`) because Windows and macOS report link-local resolvers that way.
 * Host names are rejected on purpose: resolving the DNS server's own name would need DNS (and, on a broken
 * machine, the very resolver we are trying to bypass).
 */
import { DNS_SERVER_RULES, formatHostPort, parseHostPort } from '../common/host-port'

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

/** Parses `IP[:PORT]` (the project's one host:port parser, DNS-server rules); throws {@link DnsServerSpecError}. */
export function parseDnsServer(input: string): DnsServer {
  const parsed = parseHostPort(input, DNS_SERVER_RULES)
  if (!parsed.ok) throw new DnsServerSpecError(input.trim(), parsed.error.problem, capitalize(parsed.error.hint))
  const { host, port, family } = parsed.value
  // DNS_SERVER_RULES admit IP literals only, so the family is never 0 (a name).
  return { host, port, family: family === 6 ? 6 : 4 }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}

/** Canonical text of a server, used in traces, errors and as a key: `10.0.0.2:53`, `[fd00::53]:53`. */
export function formatDnsServer(server: DnsServer): string {
  return formatHostPort(server.host, server.port)
}

/** Accepts already-parsed servers or specs; throws {@link DnsServerSpecError} on the first bad spec. */
export function toDnsServer(server: string | DnsServer): DnsServer {
  return typeof server === 'string' ? parseDnsServer(server) : server
}
