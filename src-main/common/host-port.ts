/**
 * KMS host endpoints as technicians type them (like `slmgr /skms`): `host`, `host:port`, an IPv4 literal with
 * an optional port, a bare IPv6 literal, or `[IPv6]:port`. Shared by `query`, `check --host` and the UI.
 *
 * Parsing never touches the network: a host name is only checked for syntax here and resolved later by the
 * transport, so a typo is reported as a usage error before anything is sent.
 */
import { isIP } from 'node:net'

export const DEFAULT_KMS_PORT = 1688

export interface KmsEndpoint {
  /** host name or IP literal, without brackets */
  host: string
  port: number
  /** 4 or 6 for an IP literal, 0 for a name that still needs resolving */
  family: 0 | 4 | 6
}

export type EndpointErrorCode = 'empty' | 'port' | 'ipv6-brackets' | 'host'

export interface EndpointError {
  code: EndpointErrorCode
  /** one line: what is wrong */
  message: string
  /** one line: how to write it instead */
  hint: string
}

export type EndpointParseResult = { ok: true; endpoint: KmsEndpoint } | { ok: false; error: EndpointError }

const MAX_NAME_LENGTH = 253
/** DNS labels, plus '_' which NetBIOS-style names on Windows networks use. */
const LABEL = /^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$/

function fail(code: EndpointErrorCode, message: string, hint: string): EndpointParseResult {
  return { ok: false, error: { code, message, hint } }
}

function parsePort(text: string, whole: string): number | EndpointError {
  const port = /^[0-9]{1,5}$/.test(text) ? Number(text) : NaN
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    return { code: 'port', message: `'${text}' in '${whole}' is not a TCP port (1-65535)`, hint: `write HOST:PORT, e.g. kms.example.com:${DEFAULT_KMS_PORT}` }
  }
  return port
}

/** True for a syntactically valid host name (FQDN or single label, optional trailing dot). */
export function isHostName(name: string): boolean {
  const n = name.endsWith('.') ? name.slice(0, -1) : name
  if (n.length === 0 || n.length > MAX_NAME_LENGTH) return false
  return n.split('.').every((label) => LABEL.test(label))
}

/** Parses `HOST[:PORT]` / `[IPv6]:PORT` / bare IPv6; `defaultPort` when no port is given. */
export function parseEndpoint(text: string, defaultPort = DEFAULT_KMS_PORT): EndpointParseResult {
  const t = text.trim()
  if (t === '') return fail('empty', 'no KMS host given', `write HOST[:PORT], e.g. kms.example.com or 192.0.2.10:${DEFAULT_KMS_PORT}`)

  if (/[/\\\s]/.test(t)) {
    return fail('host', `'${t}' is not a host name: it contains ${/\s/.test(t) ? 'a space' : 'a slash'}`, `give only the host and port, e.g. kms.example.com:${DEFAULT_KMS_PORT} (no URL, no path)`)
  }

  if (t.startsWith('[')) {
    const m = /^\[([^\]]*)\](?::(.*))?$/.exec(t)
    if (!m) return fail('ipv6-brackets', `'${t}' has an unclosed '[' or text after ']' that is not ':PORT'`, `write an IPv6 address with a port as [2001:db8::10]:${DEFAULT_KMS_PORT}`)
    const address = m[1]!
    if (isIP(address) !== 6) return fail('ipv6-brackets', `'${address}' inside brackets is not an IPv6 address`, 'brackets are only for IPv6 literals, e.g. [2001:db8::10]:1688')
    let port = defaultPort
    if (m[2] !== undefined) {
      const p = parsePort(m[2], t)
      if (typeof p !== 'number') return { ok: false, error: p }
      port = p
    }
    return { ok: true, endpoint: { host: address, port, family: 6 } }
  }

  // A bare IPv6 literal (more than one ':'): no port possible without brackets.
  if (isIP(t) === 6) return { ok: true, endpoint: { host: t, port: defaultPort, family: 6 } }
  const colons = t.split(':').length - 1
  if (colons > 1) {
    return fail('ipv6-brackets', `'${t}' is neither an IPv6 address nor HOST:PORT`, `put an IPv6 address with a port in brackets: [2001:db8::10]:${DEFAULT_KMS_PORT}`)
  }

  let host = t
  let port = defaultPort
  if (colons === 1) {
    const at = t.lastIndexOf(':')
    host = t.slice(0, at)
    const p = parsePort(t.slice(at + 1), t)
    if (typeof p !== 'number') return { ok: false, error: p }
    port = p
  }
  if (isIP(host) === 4) return { ok: true, endpoint: { host, port, family: 4 } }
  if (/^[0-9.]+$/.test(host)) {
    return fail('host', `'${host}' is not a valid IPv4 address`, 'an IPv4 address has four numbers 0-255, e.g. 192.0.2.10')
  }
  if (!isHostName(host)) {
    return fail('host', `'${host}' is not a valid host name`, 'use letters, digits, - and . only (e.g. kms01.corp.example.com), or an IP address')
  }
  return { ok: true, endpoint: { host, port, family: 0 } }
}

/** `host:port`, or `[v6]:port` for an IPv6 literal. */
export function formatEndpoint(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`
}
