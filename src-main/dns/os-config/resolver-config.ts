/**
 * The OS's DNS client configuration, reduced to what KMS discovery needs: which servers to ask and which DNS
 * domains to search for `_vlmcs._tcp.<domain>`.
 */
export interface OsResolverConfig {
  /** DNS servers as `IP[:PORT]` specs, in the order the OS would use them. */
  readonly servers: readonly string[]
  /**
   * Domains to search, de-duplicated (case-insensitively), in order: primary DNS suffix, connection-specific
   * suffixes, then the search list. Platforms without a separate primary suffix (Linux, macOS) give only their
   * search list (glibc: `search`/`domain`, else the host name's domain).
   */
  readonly domains: readonly string[]
  /** Where the data came from, for display ("/etc/resolv.conf", "scutil --dns", "PowerShell: …"). */
  readonly source: string
  /** Things a technician should know (ignored lines, placeholders dropped, pending changes…). */
  readonly warnings: readonly string[]
  /**
   * Split DNS: domains the OS resolves through other servers than `servers` (macOS supplemental resolvers,
   * e.g. a VPN's internal zone). Empty elsewhere. See `serversForDomain`.
   */
  readonly domainServers: ReadonlyArray<{ readonly domain: string; readonly servers: readonly string[] }>
}

/** Appends domains not yet present (case-insensitive, trailing dot ignored), keeping first occurrence order. */
export function appendUniqueDomains(target: string[], domains: Iterable<string>): void {
  const seen = new Set(target.map(domainKey))
  for (const raw of domains) {
    const domain = raw.trim().replace(/\.$/, '')
    if (domain === '' || domain === '.') continue
    const key = domainKey(domain)
    if (seen.has(key)) continue
    seen.add(key)
    target.push(domain)
  }
}

function domainKey(domain: string): string {
  return domain.trim().replace(/\.$/, '').toLowerCase()
}

/**
 * The servers the OS would ask for names under `domain`: the most specific split-DNS entry that covers it,
 * else the default servers.
 */
export function serversForDomain(config: OsResolverConfig, domain: string): readonly string[] {
  const key = domainKey(domain)
  let best: { length: number; servers: readonly string[] } | undefined
  for (const entry of config.domainServers) {
    const suffix = domainKey(entry.domain)
    if ((key === suffix || key.endsWith(`.${suffix}`)) && entry.servers.length > 0 && (!best || suffix.length > best.length)) {
      best = { length: suffix.length, servers: entry.servers }
    }
  }
  return best ? best.servers : config.servers
}
