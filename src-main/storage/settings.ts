/**
 * Settings of the app and the CLI (one file, `settings.json` in the config directory), as a zod schema with
 * defaults. Every field has a default, so a partly hand-broken file keeps its valid values (see json-store's
 * salvage policy) and a missing file means "all defaults".
 *
 * Client-side names follow slmgr where there is an equivalent: manualHost ≈ /skms, lookupDomain ≈ /skms-domain,
 * hostCaching ≈ /skhc (true) and /ckhc (false).
 */
import { z } from 'zod'
import {
  CLIENT_TIMEOUT_RANGE_MS,
  DEFAULT_ACTIVATION_INTERVAL_MIN,
  DEFAULT_CLIENT_TIMEOUTS,
  DEFAULT_KMS_PORT,
  DEFAULT_RENEWAL_INTERVAL_MIN,
  DEFAULT_STAGGER_MS,
  INTERVAL_RANGE_MIN,
  LAB_HOST_DEFAULTS,
  LAB_HOST_RANGES,
  STAGGER_RANGE_MS
} from '../common/defaults'
import { DNS_SERVER_RULES, LISTEN_ADDRESS_RULES, parseHostPort, type HostPortRules } from '../common/host-port'
import { JsonStore } from './json-store'
import type { JsonStoreOptions } from './json-store'

const SETTINGS_SCHEMA_VERSION = 1

const portSchema = z.number().int().min(1).max(65_535)

/** A `HOST[:PORT]` text checked by the project's one parser (common/host-port), with its message on failure. */
const hostPortString = (rules: HostPortRules) =>
  z
    .string()
    .trim()
    .superRefine((text, ctx) => {
      const parsed = parseHostPort(text, rules)
      if (!parsed.ok) ctx.addIssue({ code: 'custom', message: `${parsed.error.problem}; ${parsed.error.hint}` })
    })

const rangeInt = (range: { min: number; max: number }) => z.number().int().min(range.min).max(range.max)

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

/** ePID as in docs/protocol.md §9.1, e.g. 03612-00206-567-887631-03-2074-14393.0000-0092024. */
const epidSchema = z
  .string()
  .trim()
  .regex(
    /^\d{5}-\d{5}-\d{3}-\d{6}-03-\d{1,5}-\d{4,5}\.0000-\d{3}\d{4}$/,
    'must be an ePID like 03612-00206-567-887631-03-1033-17763.0000-2972018'
  )

/** The HwId is 8 bytes on the wire (v6), written as 16 hex digits in wire order. */
const hwidSchema = z
  .string()
  .trim()
  .regex(/^[0-9a-fA-F]{16}$/, 'must be 16 hex digits (8 bytes), e.g. 3A1C049600B60076')
  .transform((hex) => hex.toUpperCase())

const manualHostSchema = z.object({
  host: hostNameSchema,
  port: portSchema.default(DEFAULT_KMS_PORT)
})

const failoverSchema = z.object({
  /** staggered: start the next SRV target after staggerMs while earlier ones are still trying; sequential: one at a time */
  mode: z.enum(['staggered', 'sequential']).default('staggered'),
  staggerMs: rangeInt(STAGGER_RANGE_MS).default(DEFAULT_STAGGER_MS)
})

const timeoutsSchema = z.object({
  /** TCP connect; short, so failover to the next host starts soon */
  connectMs: rangeInt(CLIENT_TIMEOUT_RANGE_MS).default(DEFAULT_CLIENT_TIMEOUTS.connectMs),
  /** DCE/RPC bind → bind_ack */
  bindMs: rangeInt(CLIENT_TIMEOUT_RANGE_MS).default(DEFAULT_CLIENT_TIMEOUTS.bindMs),
  /** KMS request → response */
  requestMs: rangeInt(CLIENT_TIMEOUT_RANGE_MS).default(DEFAULT_CLIENT_TIMEOUTS.requestMs)
})

const clientSettingsSchema = z.object({
  /** like slmgr /skms: when set, DNS discovery is not used */
  manualHost: manualHostSchema.nullable().default(null),
  /** like slmgr /skms-domain: the one domain to query for _vlmcs._tcp instead of the client's own domains */
  lookupDomain: domainSchema.nullable().default(null),
  /** DNS server to ask (`IP[:PORT]`), or null for the OS's configured servers */
  dnsServer: hostPortString(DNS_SERVER_RULES).nullable().default(null),
  /** like slmgr /skhc (true, Windows' default) and /ckhc (false) */
  hostCaching: z.boolean().default(true),
  failover: failoverSchema.prefault({}),
  timeouts: timeoutsSchema.prefault({}),
  /** SKU (activation) ID to claim in checks; null → the product default */
  defaultProductSkuId: guidSchema.nullable().default(null),
  /** force a KMS protocol version; null → the product's default version */
  protocolOverride: z
    .union([z.literal(4), z.literal(5), z.literal(6)])
    .nullable()
    .default(null),
  /** WorkstationName sent in requests (at most 63 characters on the wire); null → this computer's name */
  workstationName: z.string().trim().min(1).max(63).nullable().default(null),
  /** use the old SRV selection (no RFC 2782 weighting) */
  legacySelection: z.boolean().default(false)
})

export const windowBoundsSchema = z.object({
  x: z.number().int(),
  y: z.number().int(),
  width: z.number().int().min(1),
  height: z.number().int().min(1),
  maximized: z.boolean().default(false)
})

/** 'real': distinct CMIDs in the last 30 days (capped at 2 × N_Policy); `{ fixed: n }`: always report n. */
const countModeSchema = z.union([z.literal('real'), z.object({ fixed: z.number().int().min(0).max(0xffff_ffff) })])

const labHostSettingsSchema = z.object({
  /** addresses to listen on (`IP[:PORT]`, default port 1688); loopback by default so nothing is exposed by accident */
  listen: z.array(hostPortString(LISTEN_ADDRESS_RULES)).min(1).max(16).default([LAB_HOST_DEFAULTS.listen]),
  /**
   * client log database inside the config directory (a relative path without ".."); null → client-log.sqlite
   * there. The settings can be changed from the UI, so they cannot point the lab host at a file elsewhere; a
   * database elsewhere is chosen on the command line (`serve --db PATH`).
   */
  dbPath: z
    .string()
    .trim()
    .min(1)
    .max(200)
    // no node:path here: the renderer bundles this schema too
    .refine((p) => !/^([\\/]|[A-Za-z]:)/.test(p) && !p.split(/[\\/]/).includes('..'), {
      message: 'must be a file name (or a relative path) inside the config folder, without ".."'
    })
    .nullable()
    .default(null),
  countMode: countModeSchema.default('real'),
  /**
   * host keys (CSVLKs) the lab host holds instead of the newest of their application, by name or activation ID
   * (e.g. "Windows Server 2019"); empty: Windows Server 2025, Office LTSC 2024, Office 2010 VL
   */
  csvlks: z.array(z.string().trim().min(1).max(200)).max(8).default([]),
  /** fixed ePID per held key, by the key's ini name ("Windows", "Office2010", "Office2024") or its name */
  epids: z.record(z.string().regex(/^[A-Za-z0-9]+$/), epidSchema).optional(),
  /** HwId sent in v6 responses */
  hwid: hwidSchema.optional(),
  /** VLActivationInterval sent to clients, minutes */
  activationInterval: rangeInt(INTERVAL_RANGE_MIN).default(DEFAULT_ACTIVATION_INTERVAL_MIN),
  /** VLRenewalInterval sent to clients, minutes */
  renewalInterval: rangeInt(INTERVAL_RANGE_MIN).default(DEFAULT_RENEWAL_INTERVAL_MIN),
  maxConnections: rangeInt(LAB_HOST_RANGES.maxConnections).default(LAB_HOST_DEFAULTS.maxConnections),
  /** connections one client address may hold at once */
  maxConnectionsPerAddress: rangeInt(LAB_HOST_RANGES.maxConnectionsPerAddress).default(LAB_HOST_DEFAULTS.maxConnectionsPerAddress),
  /** KMS requests per second one client address may send (bursts of twice that); 0 = no limit */
  maxRequestsPerSecondPerAddress: rangeInt(LAB_HOST_RANGES.maxRequestsPerSecondPerAddress).default(
    LAB_HOST_DEFAULTS.maxRequestsPerSecondPerAddress
  ),
  /** size cap of the client log, MiB: past it the oldest records go */
  maxLogMiB: rangeInt(LAB_HOST_RANGES.maxLogMiB).default(LAB_HOST_DEFAULTS.maxLogMiB),
  /** a connection idle this long in the middle of an exchange is closed */
  exchangeTimeoutS: rangeInt(LAB_HOST_RANGES.exchangeTimeoutS).default(LAB_HOST_DEFAULTS.exchangeTimeoutS),
  /** larger PDUs are refused (a KMS request is about 300 bytes) */
  maxPduBytes: rangeInt(LAB_HOST_RANGES.maxPduBytes).default(LAB_HOST_DEFAULTS.maxPduBytes),
  /** client log rows older than this are purged */
  retentionDays: rangeInt(LAB_HOST_RANGES.retentionDays).default(LAB_HOST_DEFAULTS.retentionDays),
  /** also write one JSON line per exchange to stdout */
  jsonLog: z.boolean().default(false)
})

export const settingsSchema = z.object({
  schemaVersion: z.literal(SETTINGS_SCHEMA_VERSION).default(SETTINGS_SCHEMA_VERSION),
  client: clientSettingsSchema.prefault({}),
  window: windowBoundsSchema.optional(),
  labHost: labHostSettingsSchema.prefault({})
})

export type Settings = z.output<typeof settingsSchema>
/** What may be written to `save()`: any field may be left out and gets its default. */
export type SettingsInput = z.input<typeof settingsSchema>
export type ClientSettings = Settings['client']
export type WindowBounds = z.output<typeof windowBoundsSchema>
export type LabHostSettings = Settings['labHost']

export function defaultSettings(): Settings {
  return settingsSchema.parse({})
}

export type SettingsStore = JsonStore<typeof settingsSchema>

/** The settings file store (salvage policy: one bad value does not cost the user the rest of their settings). */
export function createSettingsStore(
  file: string,
  options: Omit<JsonStoreOptions<typeof settingsSchema>, 'file' | 'schema' | 'defaults'> = {}
): SettingsStore {
  return new JsonStore({ ...options, file, schema: settingsSchema, defaults: defaultSettings })
}
