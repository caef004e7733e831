/**
 * macOS `scutil --dns` output.
 *
 * The output has a "DNS configuration" section (the resolvers the system uses, in order) and a "DNS
 * configuration (for scoped queries)" section (per-interface copies). Each `resolver #N` block holds lines such
 * as `nameserver[0] : 10.0.0.2`, `search domain[0] : corp.example`, `domain : corp.example`, `port : 53`,
 * `options : mdns`, `if_index : 6 (en0)`, `flags : …`, `order : 200000`.
 *
 * Selection (mirrors how macOS routes queries):
 *  - the default resolver is the first block of the main section without a `domain` line that has
 *    nameservers; its nameservers and search domains become `servers` / `domains`;
 *  - blocks with a `domain` and nameservers (not mDNS, not reverse zones) are supplemental (split DNS, often
 *    a VPN): macOS sends names under that domain to those servers. They become `domainServers`, and their
 *    domain is appended to `domains` so discovery looks there too.
 */
import { formatHostPort } from '../../common/host-port'
import { isIP } from 'node:net'
import { appendUniqueDomains, type OsResolverConfig } from './resolver-config'

export interface ScutilResolver {
  readonly number: number
  readonly nameservers: readonly string[]
  readonly searchDomains: readonly string[]
  readonly domain?: string
  readonly port?: number
  readonly options: readonly string[]
  readonly interfaceName?: string
  readonly flags: readonly string[]
  readonly order?: number
}

export interface ScutilDns {
  readonly resolvers: readonly ScutilResolver[]
  readonly scopedResolvers: readonly ScutilResolver[]
  readonly warnings: readonly string[]
}

interface MutableResolver {
  number: number
  nameservers: string[]
  searchDomains: string[]
  domain?: string
  port?: number
  options: string[]
  interfaceName?: string
  flags: string[]
  order?: number
}

export function parseScutilDns(text: string): ScutilDns {
  const resolvers: ScutilResolver[] = []
  const scopedResolvers: ScutilResolver[] = []
  const warnings: string[] = []
  let section: ScutilResolver[] | undefined
  let current: MutableResolver | undefined

  const close = (): void => {
    if (current && section) section.push(current)
    current = undefined
  }

  text.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim()
    if (trimmed === '') return
    if (/^DNS configuration \(for scoped queries\)/i.test(trimmed)) {
      close()
      section = scopedResolvers
      return
    }
    if (/^DNS configuration/i.test(trimmed)) {
      close()
      section = /\(/.test(trimmed) ? undefined : resolvers // other parenthesised sections (e.g. service-specific) are skipped
      return
    }
    const header = /^resolver #(\d+)$/i.exec(trimmed)
    if (header) {
      close()
      current = { number: Number(header[1]), nameservers: [], searchDomains: [], options: [], flags: [] }
      return
    }
    const field = /^([^:]+?)\s*:\s(.*)$/.exec(trimmed)
    if (!field || !current) {
      if (section !== undefined) warnings.push(`line ${index + 1}: not understood, ignored: ${trimmed.slice(0, 60)}`)
      return
    }
    const key = field[1]!.toLowerCase()
    const value = field[2]!.trim()
    if (/^nameserver\[\d+\]$/.test(key)) {
      if (isIP(value) === 0) warnings.push(`line ${index + 1}: nameserver "${value}" is not an IP address, ignored`)
      else current.nameservers.push(value)
    } else if (/^search domain\[\d+\]$/.test(key)) {
      current.searchDomains.push(value)
    } else if (key === 'domain') {
      current.domain = value
    } else if (key === 'port') {
      const port = Number(value)
      if (Number.isInteger(port) && port > 0 && port < 65536) current.port = port
    } else if (key === 'options') {
      current.options.push(...value.split(/[\s,]+/).filter(Boolean))
    } else if (key === 'if_index') {
      const name = /\(([^)]+)\)/.exec(value)
      if (name) current.interfaceName = name[1]!
    } else if (key === 'flags') {
      current.flags.push(
        ...value
          .split(',')
          .map((f) => f.trim())
          .filter(Boolean)
      )
    } else if (key === 'order') {
      const order = Number(value)
      if (Number.isFinite(order)) current.order = order
    }
  })
  close()
  return { resolvers, scopedResolvers, warnings }
}

function serverSpecs(resolver: ScutilResolver): string[] {
  const port = resolver.port
  return resolver.nameservers.map((ns) => {
    if (port === undefined || port === 53) return ns
    return formatHostPort(ns, port)
  })
}

function isReverseZone(domain: string): boolean {
  return /\.(in-addr|ip6)\.arpa\.?$/i.test(domain)
}

export function resolverConfigFromScutil(parsed: ScutilDns, source = 'scutil --dns'): OsResolverConfig {
  const warnings = [...parsed.warnings]
  const main = parsed.resolvers
  const defaultResolver =
    main.find((r) => r.domain === undefined && r.nameservers.length > 0) ??
    main.find((r) => r.nameservers.length > 0 && !r.options.includes('mdns'))
  if (!defaultResolver) warnings.push('scutil --dns lists no resolver with nameservers: this Mac has no DNS servers configured')

  const domains: string[] = []
  if (defaultResolver) {
    appendUniqueDomains(domains, defaultResolver.searchDomains)
    if (defaultResolver.domain !== undefined) appendUniqueDomains(domains, [defaultResolver.domain])
  }

  const domainServers: Array<{ domain: string; servers: string[] }> = []
  for (const r of main) {
    if (r === defaultResolver || r.domain === undefined) continue
    if (r.options.includes('mdns') || isReverseZone(r.domain) || r.nameservers.length === 0) continue
    domainServers.push({ domain: r.domain.replace(/\.$/, ''), servers: serverSpecs(r) })
    appendUniqueDomains(domains, [r.domain])
    warnings.push(
      `split DNS: names under ${r.domain} go to ${serverSpecs(r).join(', ')} (resolver #${r.number}${r.interfaceName ? `, ${r.interfaceName}` : ''})`
    )
  }

  return {
    servers: defaultResolver ? serverSpecs(defaultResolver) : [],
    domains,
    source,
    warnings,
    domainServers
  }
}
