/**
 * Windows DNS client configuration from PowerShell's DnsClient module, read as `ConvertTo-Json` output.
 *
 * Commands (run by `readOsResolverConfig`, each piped to `ConvertTo-Json`; the parsers also accept the full,
 * unselected cmdlet output with its CIM bookkeeping fields):
 *  - `Get-DnsClientServerAddress` → per interface and address family (2 = IPv4, 23 = IPv6): ServerAddresses.
 *  - `Get-DnsClient` → per interface: ConnectionSpecificSuffix (static or DHCP option 15) and
 *    ConnectionSpecificSuffixSearchList.
 *  - `Get-DnsClientGlobalSetting` → SuffixSearchList (the global "DNS suffix search list"), UseDevolution.
 *  - Primary DNS suffix: registry, see {@link PRIMARY_SUFFIX_SCRIPT} for why not Win32_ComputerSystem.
 *
 * `ConvertTo-Json` writes one object for a single result and an array for several; Windows PowerShell 5.1
 * sometimes wraps arrays as `{ "value": [...], "Count": n }`. All three shapes are accepted.
 */
import { isIP } from 'node:net'
import { z } from 'zod'
import { appendUniqueDomains, type OsResolverConfig } from './resolver-config'

/**
 * Primary DNS suffix. Chosen source: the TCP/IP parameters in the registry —
 *  - `Domain` is the suffix in effect now (what the resolver appends),
 *  - `NV Domain` is the configured value, which differs from `Domain` until the next restart,
 *  - the Group Policy value `HKLM\SOFTWARE\Policies\Microsoft\System\DNSClient\PrimaryDnsSuffix` overrides both.
 * Not `(Get-CimInstance Win32_ComputerSystem).Domain`: on a workgroup machine that returns the workgroup name
 * ("WORKGROUP"), which is not a DNS suffix, and for domain members it is the AD domain even when the primary
 * suffix was set differently (disjoint namespace).
 */
export const PRIMARY_SUFFIX_SCRIPT = [
  "$p = Get-ItemProperty -Path 'HKLM:\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters' -ErrorAction SilentlyContinue",
  "$g = Get-ItemProperty -Path 'HKLM:\\SOFTWARE\\Policies\\Microsoft\\System\\DNSClient' -ErrorAction SilentlyContinue",
  "[pscustomobject]@{ Domain = $p.Domain; NVDomain = $p.'NV Domain'; PolicyPrimaryDnsSuffix = $g.PrimaryDnsSuffix } | ConvertTo-Json -Compress"
].join('; ')

export const SERVER_ADDRESSES_SCRIPT =
  'Get-DnsClientServerAddress | Select-Object InterfaceAlias,InterfaceIndex,AddressFamily,ServerAddresses | ConvertTo-Json -Depth 3 -Compress'
export const DNS_CLIENT_SCRIPT =
  'Get-DnsClient | Select-Object InterfaceAlias,InterfaceIndex,ConnectionSpecificSuffix,ConnectionSpecificSuffixSearchList | ConvertTo-Json -Depth 3 -Compress'
export const GLOBAL_SETTING_SCRIPT =
  'Get-DnsClientGlobalSetting | Select-Object SuffixSearchList,UseSuffixSearchList,UseDevolution,DevolutionLevel | ConvertTo-Json -Depth 3 -Compress'

/** Placeholders Windows lists on interfaces without configured IPv6 DNS servers (deprecated site-local). */
const IPV6_PLACEHOLDERS = new Set(['fec0:0:0:ffff::1', 'fec0:0:0:ffff::2', 'fec0:0:0:ffff::3'])

const stringList = z
  .union([z.array(z.union([z.string(), z.null()])), z.string(), z.null()])
  .optional()
  .transform((v): string[] => (v == null ? [] : typeof v === 'string' ? [v] : v.filter((s): s is string => typeof s === 'string')))

const optionalString = z
  .string()
  .nullable()
  .optional()
  .transform((v) => (v ?? '').trim())
const optionalNumber = z.number().nullable().optional()
const optionalBoolean = z.boolean().nullable().optional()

const serverAddressEntry = z.object({
  InterfaceAlias: optionalString,
  InterfaceIndex: optionalNumber,
  AddressFamily: z.union([z.number(), z.string()]).nullable().optional(),
  ServerAddresses: stringList,
  /** The CIM property behind the ServerAddresses alias; used when the alias is missing. */
  Address: stringList
})

const dnsClientEntry = z.object({
  InterfaceAlias: optionalString,
  InterfaceIndex: optionalNumber,
  ConnectionSpecificSuffix: optionalString,
  ConnectionSpecificSuffixSearchList: stringList
})

const globalSetting = z.object({
  SuffixSearchList: stringList,
  UseSuffixSearchList: optionalBoolean,
  UseDevolution: optionalBoolean,
  DevolutionLevel: optionalNumber
})

const primarySuffix = z.object({
  Domain: optionalString,
  NVDomain: optionalString,
  'NV Domain': optionalString,
  PolicyPrimaryDnsSuffix: optionalString,
  PrimaryDnsSuffix: optionalString
})

export class WindowsConfigParseError extends Error {
  override readonly name = 'WindowsConfigParseError'
}

function parseJsonText(text: string, what: string): unknown {
  const clean = text.replace(/^\uFEFF/, '').trim()
  if (clean === '') return null
  try {
    return JSON.parse(clean)
  } catch (error) {
    throw new WindowsConfigParseError(
      `${what}: output is not JSON (${error instanceof Error ? error.message : String(error)}). Was it run with "| ConvertTo-Json"?`
    )
  }
}

/** Object, array, `{value: [...], Count}` or empty output → list of raw entries. */
function asEntries(value: unknown): unknown[] {
  if (value === null || value === undefined) return []
  if (Array.isArray(value)) return value
  if (typeof value === 'object') {
    const wrapped = value as { value?: unknown; Count?: unknown }
    if (Array.isArray(wrapped.value) && 'Count' in wrapped) return wrapped.value
  }
  return [value]
}

function parseEntries<T extends z.ZodType>(text: string, schema: T, what: string): Array<z.output<T>> {
  return asEntries(parseJsonText(text, what)).map((entry, i) => {
    const result = schema.safeParse(entry)
    if (!result.success) {
      throw new WindowsConfigParseError(
        `${what}: entry ${i + 1} has an unexpected shape: ${result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`
      )
    }
    return result.data
  })
}

export interface WindowsServerEntry {
  readonly interfaceAlias: string
  readonly interfaceIndex: number | undefined
  readonly family: 4 | 6 | undefined
  readonly servers: readonly string[]
}

function familyOf(value: number | string | null | undefined): 4 | 6 | undefined {
  if (value === 2 || value === 'IPv4' || value === 'InterNetwork') return 4
  if (value === 23 || value === 'IPv6' || value === 'InterNetworkV6') return 6
  return undefined
}

/** `Get-DnsClientServerAddress | ConvertTo-Json` → entries per interface and family, in output order. */
export function parseDnsClientServerAddressJson(text: string): WindowsServerEntry[] {
  return parseEntries(text, serverAddressEntry, 'Get-DnsClientServerAddress').map((e) => ({
    interfaceAlias: e.InterfaceAlias,
    interfaceIndex: e.InterfaceIndex ?? undefined,
    family: familyOf(e.AddressFamily),
    servers: (e.ServerAddresses.length > 0 ? e.ServerAddresses : e.Address).map((s) => s.trim()).filter(Boolean)
  }))
}

export interface WindowsDnsClientEntry {
  readonly interfaceAlias: string
  readonly interfaceIndex: number | undefined
  readonly connectionSpecificSuffix: string
  readonly connectionSpecificSuffixSearchList: readonly string[]
}

/** `Get-DnsClient | ConvertTo-Json` → connection-specific suffixes per interface, in output order. */
export function parseDnsClientJson(text: string): WindowsDnsClientEntry[] {
  return parseEntries(text, dnsClientEntry, 'Get-DnsClient').map((e) => ({
    interfaceAlias: e.InterfaceAlias,
    interfaceIndex: e.InterfaceIndex ?? undefined,
    connectionSpecificSuffix: e.ConnectionSpecificSuffix,
    connectionSpecificSuffixSearchList: e.ConnectionSpecificSuffixSearchList.map((s) => s.trim()).filter(Boolean)
  }))
}

export interface WindowsGlobalSetting {
  readonly suffixSearchList: readonly string[]
  readonly useSuffixSearchList: boolean | undefined
  readonly useDevolution: boolean | undefined
  readonly devolutionLevel: number | undefined
}

/** `Get-DnsClientGlobalSetting | ConvertTo-Json` → the global suffix search list and devolution settings. */
export function parseDnsClientGlobalSettingJson(text: string): WindowsGlobalSetting {
  const entries = parseEntries(text, globalSetting, 'Get-DnsClientGlobalSetting')
  const e = entries[0]
  return {
    suffixSearchList: (e?.SuffixSearchList ?? []).map((s) => s.trim()).filter(Boolean),
    useSuffixSearchList: e?.UseSuffixSearchList ?? undefined,
    useDevolution: e?.UseDevolution ?? undefined,
    devolutionLevel: e?.DevolutionLevel ?? undefined
  }
}

export interface WindowsPrimarySuffix {
  /** The suffix to use (policy value if set, else the current `Domain`), '' when none. */
  readonly suffix: string
  readonly warnings: readonly string[]
}

/** Output of {@link PRIMARY_SUFFIX_SCRIPT} (or a raw `Get-ItemProperty …\Tcpip\Parameters | ConvertTo-Json`). */
export function parsePrimarySuffixJson(text: string): WindowsPrimarySuffix {
  const e = parseEntries(text, primarySuffix, 'primary DNS suffix')[0]
  const warnings: string[] = []
  if (!e) return { suffix: '', warnings }
  const current = e.Domain
  const configured = e.NVDomain || e['NV Domain']
  const policy = e.PolicyPrimaryDnsSuffix || e.PrimaryDnsSuffix
  if (policy !== '') {
    if (current !== '' && current.toLowerCase() !== policy.toLowerCase()) {
      warnings.push(
        `Group Policy sets the primary DNS suffix to "${policy}" (the TCP/IP setting says "${current}"); using the policy value`
      )
    }
    return { suffix: policy, warnings }
  }
  if (configured !== '' && configured.toLowerCase() !== current.toLowerCase()) {
    warnings.push(
      `the primary DNS suffix was changed to "${configured}" but takes effect after a restart; using the current "${current || '(none)'}"`
    )
  }
  return { suffix: current, warnings }
}

export interface WindowsDnsInputs {
  /** Raw JSON texts; undefined when that command failed (its failure goes in `warnings`). */
  readonly serverAddresses?: string | undefined
  readonly dnsClients?: string | undefined
  readonly globalSetting?: string | undefined
  readonly primarySuffix?: string | undefined
  readonly warnings?: readonly string[]
}

/**
 * Combines the four outputs. Servers: every interface's addresses in listing order, duplicates and the fec0
 * placeholders removed. Domains: primary suffix, connection-specific suffixes (then per-connection search
 * lists), then the global suffix search list. A parse failure of one input becomes a warning; the others
 * still count.
 */
export function windowsResolverConfig(inputs: WindowsDnsInputs): OsResolverConfig {
  const warnings: string[] = [...(inputs.warnings ?? [])]
  const attempt = <T>(text: string | undefined, parse: (t: string) => T): T | undefined => {
    if (text === undefined) return undefined
    try {
      return parse(text)
    } catch (error) {
      warnings.push(error instanceof Error ? error.message : String(error))
      return undefined
    }
  }
  const serverEntries = attempt(inputs.serverAddresses, parseDnsClientServerAddressJson) ?? []
  const clients = attempt(inputs.dnsClients, parseDnsClientJson) ?? []
  const global = attempt(inputs.globalSetting, parseDnsClientGlobalSettingJson)
  const primary = attempt(inputs.primarySuffix, parsePrimarySuffixJson)

  const servers: string[] = []
  const seen = new Set<string>()
  let placeholders = 0
  for (const entry of serverEntries) {
    if (/^loopback pseudo-interface/i.test(entry.interfaceAlias)) continue
    for (const address of entry.servers) {
      const bare = address.split('%')[0]!.toLowerCase()
      if (IPV6_PLACEHOLDERS.has(bare)) {
        placeholders++
        continue
      }
      if (isIP(address) === 0) {
        warnings.push(`${entry.interfaceAlias}: "${address}" is not an IP address, ignored`)
        continue
      }
      if (seen.has(address.toLowerCase())) continue
      seen.add(address.toLowerCase())
      servers.push(address)
    }
  }
  if (placeholders > 0)
    warnings.push(
      `ignored ${placeholders} fec0:0:0:ffff::1/2/3 placeholder address(es): Windows lists them when no IPv6 DNS server is configured`
    )
  if (servers.length === 0) warnings.push('no DNS server is configured on any interface')

  const domains: string[] = []
  if (primary) {
    warnings.push(...primary.warnings)
    appendUniqueDomains(domains, [primary.suffix])
  }
  appendUniqueDomains(
    domains,
    clients.map((c) => c.connectionSpecificSuffix)
  )
  appendUniqueDomains(
    domains,
    clients.flatMap((c) => c.connectionSpecificSuffixSearchList)
  )
  if (global) appendUniqueDomains(domains, global.suffixSearchList)
  if (domains.length === 0) {
    warnings.push(
      'no primary DNS suffix, connection-specific suffix or suffix search list: Windows KMS clients in this state are reported not to query DNS at all (error 0x8007007B); set a primary DNS suffix or give the domain to search explicitly'
    )
  }

  return {
    servers,
    domains,
    source: 'PowerShell: Get-DnsClientServerAddress, Get-DnsClient, Get-DnsClientGlobalSetting, HKLM\\…\\Tcpip\\Parameters',
    warnings,
    domainServers: []
  }
}
