/**
 * Settings of the app and the CLI (one file, `settings.json` in the config directory), as a zod schema with
 * defaults. Every field has a default, so a partly hand-broken file keeps its valid values (see json-store's
 * salvage policy) and a missing file means "all defaults".
 *
 * Client-side names follow slmgr where there is an equivalent: manualHost ≈ /skms, lookupDomain ≈ /skms-domain,
 * hostCaching ≈ /skhc (true) and /ckhc (false).
 */
import { isIP } from 'node:net'
import { z } from 'zod'
import { DEFAULT_KMS_PORT } from '../common/host-port'
import { JsonStore } from './json-store'
import type { JsonStoreOptions } from './json-store'

export const SETTINGS_SCHEMA_VERSION = 1

/** Minutes; the range Windows accepts for VLActivationInterval / VLRenewalInterval (slmgr /sai, /sri). */
const INTERVAL_MIN = 15
const INTERVAL_MAX = 43_200

const portSchema = z.number().int().min(1).max(65_535)

/** A parsed `IP[:PORT]` (IPv6 with a port must be bracketed: `[::1]:53`). */
export interface IpEndpoint {
  address: string
  port: number
  family: 4 | 6
}

/**
 * Parses `1.2.3.4`, `1.2.3.4:53`, `::1`, `[::1]` or `[::1]:53`. Only IP literals: these are DNS servers and
 * listen addresses, which must not need DNS themselves. Returns undefined for anything else.
 */
export function parseIpEndpoint(text: string, defaultPort: number): IpEndpoint | undefined {
  const trimmed = text.trim()
  let address: string
  let portText: string | undefined
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(trimmed)
  if (bracketed) {
    address = bracketed[1] ?? ''
    portText = bracketed[2]
    if (isIP(address) !== 6) return undefined
  } else if (isIP(trimmed) === 6) {
    address = trimmed
  } else {
    const v4 = /^([^:]+)(?::(\d+))?$/.exec(trimmed)
    if (!v4) return undefined
    address = v4[1] ?? ''
    portText = v4[2]
    if (isIP(address) !== 4) return undefined
  }
  const port = portText === undefined ? defaultPort : Number(portText)
  if (!Number.isInteger(port) || port < 1 || port > 65_535) return undefined
  return { address, port, family: isIP(address) === 6 ? 6 : 4 }
}

const ipEndpointString = (what: string, defaultPort: number) =>
  z
    .string()
    .trim()
    .refine((text) => parseIpEndpoint(text, defaultPort) !== undefined, {
      message: `${what} must be an IP address with an optional port: 192.0.2.1, 192.0.2.1:${defaultPort}, ::1 or [::1]:${defaultPort}`,
    })

/** A DNS domain (for /skms-domain-like lookups): labels of 1–63 letters, digits, '-' or '_', at most 253 characters. */
export const domainSchema = z
  .string()
  .trim()
  .max(253)
  .regex(/^(?!-)[A-Za-z0-9_-]{1,63}(?:\.[A-Za-z0-9_-]{1,63})*\.?$/, 'must be a DNS domain such as corp.example.com')

/** KMS host name as slmgr /skms accepts it: FQDN, NetBIOS name, IPv4 or IPv6 (without brackets here). */
const hostNameSchema = z
  .string()
  .trim()
  .min(1)
  .max(255)
  .regex(/^[^\s[\]/\\]+$/, 'must be a host name or IP address without spaces, brackets or slashes')

export const guidSchema = z
  .string()
  .trim()
  .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'must be a GUID')
  .transform((guid) => guid.toLowerCase())

/** ePID as in PROTOCOL.md §9.1, e.g. 03612-00206-567-887631-03-2074-14393.0000-0092024. */
const epidSchema = z
  .string()
  .trim()
  .regex(/^\d{5}-\d{5}-\d{3}-\d{6}-03-\d{1,5}-\d{4,5}\.0000-\d{3}\d{4}$/, 'must be an ePID like 03612-00206-567-887631-03-1033-17763.0000-2972018')

/** The HwId is 8 bytes on the wire (v6), written as 16 hex digits in wire order. */
const hwidSchema = z
  .string()
  .trim()
  .regex(/^[0-9a-fA-F]{16}$/, 'must be 16 hex digits (8 bytes), e.g. 3A1C049600B60076')
  .transform((hex) => hex.toUpperCase())

export const manualHostSchema = z.object({
  host: hostNameSchema,
  port: portSchema.default(DEFAULT_KMS_PORT),
})

export const failoverSchema = z.object({
  /** staggered: start the next SRV target after staggerMs while earlier ones are still trying; sequential: one at a time */
  mode: z.enum(['staggered', 'sequential']).default('staggered'),
  staggerMs: z.number().int().min(0).max(10_000).default(250),
})

export const timeoutsSchema = z.object({
  /** TCP connect; short, so failover to the next host starts soon */
  connectMs: z.number().int().min(100).max(120_000).default(3_000),
  /** DCE/RPC bind → bind_ack */
  bindMs: z.number().int().min(100).max(120_000).default(5_000),
  /** KMS request → response */
  requestMs: z.number().int().min(100).max(120_000).default(5_000),
})

export const clientSettingsSchema = z.object({
  /** like slmgr /skms: when set, DNS discovery is not used */
  manualHost: manualHostSchema.nullable().default(null),
  /** like slmgr /skms-domain: the one domain to query for _vlmcs._tcp instead of the client's own domains */
  lookupDomain: domainSchema.nullable().default(null),
  /** DNS server to ask (`IP[:PORT]`), or null for the OS's configured servers */
  dnsServer: ipEndpointString('dnsServer', 53).nullable().default(null),
  /** like slmgr /skhc (true, Windows' default) and /ckhc (false) */
  hostCaching: z.boolean().default(true),
  failover: failoverSchema.prefault({}),
  timeouts: timeoutsSchema.prefault({}),
  /** SKU (activation) ID to claim in checks; null → the product default */
  defaultProductSkuId: guidSchema.nullable().default(null),
  /** force a KMS protocol version; null → the product's default version */
  protocolOverride: z.union([z.literal(4), z.literal(5), z.literal(6)]).nullable().default(null),
  /** WorkstationName sent in requests (at most 63 characters on the wire); null → this computer's name */
  workstationName: z.string().trim().min(1).max(63).nullable().default(null),
  /** use the old SRV selection (no RFC 2782 weighting) */
  legacySelection: z.boolean().default(false),
})

export const windowBoundsSchema = z.object({
  x: z.number().int(),
  y: z.number().int(),
  width: z.number().int().min(1),
  height: z.number().int().min(1),
  maximized: z.boolean().default(false),
})

/** 'real': distinct CMIDs in the last 30 days (capped at 2 × N_Policy); `{ fixed: n }`: always report n. */
export const countModeSchema = z.union([
  z.literal('real'),
  z.object({ fixed: z.number().int().min(0).max(0xffff_ffff) }),
])

export const labHostSettingsSchema = z.object({
  /** addresses to listen on (`IP[:PORT]`, default port 1688); loopback by default so nothing is exposed by accident */
  listen: z
    .array(ipEndpointString('listen address', DEFAULT_KMS_PORT))
    .min(1)
    .max(16)
    .default(['127.0.0.1:1688']),
  /** client log database; null → client-log.sqlite in the config directory */
  dbPath: z.string().trim().min(1).nullable().default(null),
  countMode: countModeSchema.default('real'),
  /** fixed ePID per CSVLK group (keys as in products.json `csvlkGroups[].iniName`, e.g. "Windows", "Office2010") */
  epids: z.record(z.string().regex(/^[A-Za-z0-9]+$/), epidSchema).optional(),
  /** HwId sent in v6 responses */
  hwid: hwidSchema.optional(),
  /** VLActivationInterval sent to clients, minutes */
  activationInterval: z.number().int().min(INTERVAL_MIN).max(INTERVAL_MAX).default(120),
  /** VLRenewalInterval sent to clients, minutes */
  renewalInterval: z.number().int().min(INTERVAL_MIN).max(INTERVAL_MAX).default(10_080),
  maxConnections: z.number().int().min(1).max(65_535).default(256),
  /** a connection idle this long in the middle of an exchange is closed */
  exchangeTimeoutS: z.number().int().min(1).max(3_600).default(30),
  /** larger PDUs are refused (a KMS request is about 300 bytes) */
  maxPduBytes: z.number().int().min(512).max(65_536).default(4_096),
  /** client log rows older than this are purged */
  retentionDays: z.number().int().min(1).max(3_650).default(30),
  /** also write one JSON line per exchange to stdout */
  jsonLog: z.boolean().default(false),
})

export const settingsSchema = z.object({
  schemaVersion: z.literal(SETTINGS_SCHEMA_VERSION).default(SETTINGS_SCHEMA_VERSION),
  client: clientSettingsSchema.prefault({}),
  window: windowBoundsSchema.optional(),
  labHost: labHostSettingsSchema.prefault({}),
})

export type Settings = z.output<typeof settingsSchema>
/** What may be written to `save()`: any field may be left out and gets its default. */
export type SettingsInput = z.input<typeof settingsSchema>
export type ClientSettings = Settings['client']
export type ManualHost = z.output<typeof manualHostSchema>
export type FailoverSettings = ClientSettings['failover']
export type TimeoutSettings = ClientSettings['timeouts']
export type WindowBounds = z.output<typeof windowBoundsSchema>
export type LabHostSettings = Settings['labHost']
export type CountMode = z.output<typeof countModeSchema>

export function defaultSettings(): Settings {
  return settingsSchema.parse({})
}

export type SettingsStore = JsonStore<typeof settingsSchema>

/** The settings file store (salvage policy: one bad value does not cost the user the rest of their settings). */
export function createSettingsStore(
  file: string,
  options: Omit<JsonStoreOptions<typeof settingsSchema>, 'file' | 'schema' | 'defaults'> = {},
): SettingsStore {
  return new JsonStore({ ...options, file, schema: settingsSchema, defaults: defaultSettings })
}
