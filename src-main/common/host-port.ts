/**
 * `HOST[:PORT]` as technicians type it — the ONE parser and formatter for KMS hosts (like `slmgr /skms`), DNS
 * servers and lab-host listen addresses, used by the settings schema, the API's input schemas, the CLI and the
 * DNS client alike, so the same text is accepted or refused with the same words everywhere.
 *
 * Accepted: `host`, `host:port`, an IPv4 literal with an optional port, a bare IPv6 literal (no port possible
 * without brackets), `[IPv6]` and `[IPv6]:port`; IPv6 may carry a zone (`fe80::1%eth0`) because Windows and macOS
 * report link-local resolvers that way. What differs between uses is a rule set ({@link HostPortRules}): whether
 * host names are allowed (DNS servers and listen addresses must not need DNS themselves), the default port, and
 * whether port 0 (any free port) makes sense.
 *
 * Parsing never touches the network: a host name is only checked for syntax here.
 */
import { isIP } from 'node:net'
import { DEFAULT_DNS_PORT, DEFAULT_KMS_PORT } from './defaults'

export interface HostPortRules {
  /** What the text names, for messages: "KMS host", "DNS server", "listen address". */
  readonly what: string
  /** How to ask for it in a hint: "a KMS host name or IP address". */
  readonly noun: string
  readonly defaultPort: number
  /** Host names allowed (KMS hosts), or IP literals only (DNS servers, listen addresses). */
  readonly names: boolean
  /** Port 0 allowed (a listener on any free port). */
  readonly portZero: boolean
  /** Examples for hints, IPv4/name first, then IPv6. */
  readonly examples: readonly [string, string]
  /** Why names are refused, for the hint (only when `names` is false). */
  readonly whyNoNames?: string
  /** Refuse the unspecified, broadcast and multicast addresses (a DNS server must be one real unicast host). */
  readonly unicastOnly?: boolean
}

export const KMS_HOST_RULES: HostPortRules = {
  what: 'KMS host',
  noun: 'a KMS host name or IP address',
  defaultPort: DEFAULT_KMS_PORT,
  names: true,
  portZero: false,
  examples: [`kms01.corp.example:${DEFAULT_KMS_PORT}`, `[2001:db8::10]:${DEFAULT_KMS_PORT}`]
}

export const DNS_SERVER_RULES: HostPortRules = {
  what: 'DNS server',
  noun: 'the IP address of a DNS server',
  defaultPort: DEFAULT_DNS_PORT,
  names: false,
  portZero: false,
  examples: ['10.0.0.2:5353', '[fd00::53]:5353'],
  whyNoNames: 'a name would itself need DNS to be found',
  unicastOnly: true
}

export const LISTEN_ADDRESS_RULES: HostPortRules = {
  what: 'listen address',
  noun: 'an IP address of this machine to listen on',
  defaultPort: DEFAULT_KMS_PORT,
  names: false,
  portZero: true,
  examples: [`127.0.0.1:${DEFAULT_KMS_PORT}`, `[::1]:${DEFAULT_KMS_PORT}`],
  whyNoNames: 'a listener must not depend on DNS'
}

export interface HostPort {
  /** Host name or IP literal, without brackets (IPv6 may carry a `%zone`). */
  readonly host: string
  readonly port: number
  /** 4 or 6 for an IP literal, 0 for a name that still needs resolving. */
  readonly family: 0 | 4 | 6
}

export type HostPortErrorCode = 'empty' | 'port' | 'ipv6-brackets' | 'host'

export interface HostPortError {
  readonly code: HostPortErrorCode
  /** What is wrong, without the fix: `the port after ":" is empty`. */
  readonly problem: string
  /** How to write it instead. */
  readonly hint: string
  /** One line naming the text and the problem: `DNS server '10.0.0.2:': the port after ":" is empty`. */
  readonly message: string
}

export type HostPortResult =
  /** `note`: the text was accepted, but it probably means something else (`::1:1688` is an address, not a port) */
  { readonly ok: true; readonly value: HostPort; readonly note?: string } | { readonly ok: false; readonly error: HostPortError }

const MAX_NAME_LENGTH = 253
/** DNS labels, plus '_' which NetBIOS-style names on Windows networks use. */
const LABEL = /^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$/

/** True for a syntactically valid host name (FQDN or single label, optional trailing dot). */
export function isHostName(name: string): boolean {
  const n = name.endsWith('.') ? name.slice(0, -1) : name
  if (n.length === 0 || n.length > MAX_NAME_LENGTH) return false
  return n.split('.').every((label) => LABEL.test(label))
}

function looksLikeHostName(text: string): boolean {
  return /^[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$/i.test(text) && /[a-z_-]/i.test(text)
}

/** Why an IP literal cannot be the one host a client talks to, or undefined. */
function nonUnicastProblem(host: string, family: 4 | 6): string | undefined {
  const bare = (host.split('%')[0] ?? host).toLowerCase()
  if (bare === '0.0.0.0' || bare === '::' || /^0+(:0+){7}$/.test(bare)) return 'the unspecified address cannot receive queries'
  if (family === 4) {
    const first = Number(bare.split('.')[0])
    if (bare === '255.255.255.255' || (first >= 224 && first <= 239)) return 'a broadcast or multicast address is not a single host'
  } else if (bare.startsWith('ff')) return 'a multicast address is not a single host'
  return undefined
}

/** Parses `HOST[:PORT]` by `rules`; never throws. */
export function parseHostPort(input: string, rules: HostPortRules): HostPortResult {
  const parsed = parseSyntax(input, rules)
  if (parsed.ok && rules.unicastOnly === true && parsed.value.family !== 0) {
    const problem = nonUnicastProblem(parsed.value.host, parsed.value.family)
    if (problem !== undefined) {
      return {
        ok: false,
        error: {
          code: 'host',
          problem,
          hint: `give the unicast address of a real ${rules.what}`,
          message: `${rules.what} '${input}': ${problem}`
        }
      }
    }
  }
  return parsed
}

function parseSyntax(input: string, rules: HostPortRules): HostPortResult {
  const text = input.trim()
  const examples = `e.g. ${rules.examples[0]} or ${rules.examples[1]}`
  const bracketHint = `write an IPv6 address with a port as [address]:port, e.g. ${rules.examples[1]}`
  const fail = (code: HostPortErrorCode, problem: string, hint: string): HostPortResult => ({
    ok: false,
    error: { code, problem, hint, message: `${rules.what} '${input}': ${problem}` }
  })
  const port = (portText: string): number | HostPortResult => {
    const lowest = rules.portZero ? 0 : 1
    const rangeHint = `a port is a whole number from ${lowest} to 65535 (${rules.what === 'DNS server' ? 'DNS normally uses 53' : `KMS uses ${DEFAULT_KMS_PORT}`})`
    if (portText === '') return fail('port', 'the port after ":" is empty', `write a port number or leave out the ":"; ${examples}`)
    if (!/^[0-9]{1,5}$/.test(portText)) return fail('port', `"${portText}" is not a port number`, rangeHint)
    const value = Number(portText)
    if (value < lowest || value > 65_535) return fail('port', `port ${value} is out of range`, rangeHint)
    return value
  }

  if (text === '') return fail('empty', 'it is empty', `give ${rules.noun}, ${examples}`)
  if (/\s/.test(text))
    return fail('host', 'it contains spaces', `give one ${rules.what === 'DNS server' ? 'server' : rules.what} per entry, ${examples}`)
  if (/[/\\]/.test(text)) return fail('host', 'it contains a slash', `give only the address and port (no URL, no path), ${examples}`)

  if (text.startsWith('[')) {
    const close = text.indexOf(']')
    if (close < 0) return fail('ipv6-brackets', 'the "[" has no matching "]"', bracketHint)
    const host = text.slice(1, close)
    const rest = text.slice(close + 1)
    if (isIP(host) === 4)
      return fail(
        'ipv6-brackets',
        'brackets are only for IPv6 addresses',
        `write an IPv4 address without brackets, e.g. ${rules.examples[0]}`
      )
    if (isIP(host) !== 6) return fail('ipv6-brackets', `"${host}" is not an IPv6 address`, bracketHint)
    if (rest === '') return { ok: true, value: { host, port: rules.defaultPort, family: 6 } }
    if (!rest.startsWith(':'))
      return fail(
        'ipv6-brackets',
        `unexpected "${rest}" after "]"`,
        `only ":port" may follow the closing bracket, e.g. ${rules.examples[1]}`
      )
    const p = port(rest.slice(1))
    return typeof p === 'number' ? { ok: true, value: { host, port: p, family: 6 } } : p
  }

  const colons = text.split(':').length - 1
  if (colons >= 2) {
    if (isIP(text) === 6) {
      // "::1:1688" is a valid IPv6 address, so it is read as one; but a port was probably meant
      const lastColon = text.lastIndexOf(':')
      const tail = text.slice(lastColon + 1)
      const head = text.slice(0, lastColon)
      const looksLikePort = /^[0-9]{2,5}$/.test(tail) && Number(tail) <= 65_535 && isIP(head) === 6
      const note = looksLikePort
        ? `'${text}' is read as the IPv6 address ${text} (port ${rules.defaultPort}); if ${tail} is the port, write [${head}]:${tail}`
        : undefined
      return { ok: true, value: { host: text, port: rules.defaultPort, family: 6 }, ...(note ? { note } : {}) }
    }
    // A common slip: "fd00::53:5353" meaning address + port. Say how to write a port with IPv6.
    const lastColon = text.lastIndexOf(':')
    const address = text.slice(0, lastColon)
    if (isIP(address) === 6 && /^[0-9]{1,5}$/.test(text.slice(lastColon + 1))) {
      return fail(
        'ipv6-brackets',
        'it is not a valid IPv6 address',
        `to give an IPv6 address with a port, put the address in brackets: [${address}]:${text.slice(lastColon + 1)}`
      )
    }
    return fail('ipv6-brackets', 'it is not a valid IPv6 address (nor HOST:PORT)', `check the address; ${bracketHint}`)
  }

  let host = text
  let portNumber = rules.defaultPort
  if (colons === 1) {
    const colon = text.indexOf(':')
    host = text.slice(0, colon)
    const p = port(text.slice(colon + 1))
    if (typeof p !== 'number') return p
    portNumber = p
    if (host === '') return fail('host', 'the address before ":" is empty', `write the address before the port, ${examples}`)
  }
  if (isIP(host) === 4) return { ok: true, value: { host, port: portNumber, family: 4 } }
  if (/^[0-9.]+$/.test(host))
    return fail(
      'host',
      `"${host}" is not a valid IPv4 address`,
      'an IPv4 address is four numbers 0-255 separated by dots, without leading zeros, e.g. 192.0.2.10'
    )
  if (!rules.names) {
    if (looksLikeHostName(host))
      return fail(
        'host',
        `"${host}" is a host name, not an IP address`,
        `give the ${rules.what} by IP address (${rules.whyNoNames ?? 'no names here'}), ${examples}`
      )
    return fail('host', `"${host}" is not an IP address`, examples)
  }
  if (!isHostName(host))
    return fail(
      'host',
      `"${host}" is not a valid host name`,
      `use letters, digits, - and . only (e.g. kms01.corp.example), or an IP address`
    )
  return { ok: true, value: { host, port: portNumber, family: 0 } }
}

/** `host:port`, or `[v6]:port` for an IPv6 literal — the one way every part of KMS Scout writes an endpoint. */
export function formatHostPort(host: string, port: number): string {
  // Only an IPv6 literal contains ':' (names and IPv4 cannot).
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`
}

/** A KMS host endpoint (compatibility shape used by the API and the CLI). */
export type KmsEndpoint = HostPort
export type EndpointError = HostPortError
export type EndpointParseResult = { ok: true; endpoint: KmsEndpoint } | { ok: false; error: EndpointError }

/** Parses a KMS host `HOST[:PORT]` (`defaultPort` when none is given). */
export function parseEndpoint(text: string, defaultPort = DEFAULT_KMS_PORT): EndpointParseResult {
  const parsed = parseHostPort(text, defaultPort === DEFAULT_KMS_PORT ? KMS_HOST_RULES : { ...KMS_HOST_RULES, defaultPort })
  return parsed.ok ? { ok: true, endpoint: parsed.value } : parsed
}
