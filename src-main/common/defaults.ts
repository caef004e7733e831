/**
 * Every default and limit that more than one part of KMS Scout needs — the settings schema, the lab host, the
 * KMS client, the CLI's flags and its help text — written once, so a flag, a setting and the code that uses it
 * can never disagree about what is allowed (a setting the lab host then refused was a bug once).
 */

/** TCP port of the KMS service (`slmgr /skms host[:port]` defaults to it). */
export const DEFAULT_KMS_PORT = 1688
export const DEFAULT_DNS_PORT = 53

/** An inclusive range of allowed values. */
export interface Range {
  readonly min: number
  readonly max: number
}

/** VLActivationInterval / VLRenewalInterval in minutes: Windows' defaults and the range it accepts (slmgr /sai, /sri). */
export const DEFAULT_ACTIVATION_INTERVAL_MIN = 120
export const DEFAULT_RENEWAL_INTERVAL_MIN = 10_080
export const INTERVAL_RANGE_MIN: Range = { min: 15, max: 43_200 }

/** The client's time limits per phase of one exchange; DNS resolution of a host name gets the bind/request value. */
export const DEFAULT_CLIENT_TIMEOUTS = { connectMs: 3_000, bindMs: 5_000, requestMs: 5_000 } as const
export const CLIENT_TIMEOUT_RANGE_MS: Range = { min: 100, max: 120_000 }

/** Staggered failover: the next SRV target starts this long after the previous one while it is still trying. */
export const DEFAULT_STAGGER_MS = 250
export const STAGGER_RANGE_MS: Range = { min: 0, max: 10_000 }

/**
 * Discovery's bounds against a hostile or broken DNS server (docs/discovery.md, "Bounds"): at most this many SRV
 * records (targets) of one domain are taken — the lowest priorities first — and the rest are reported as ignored;
 * `discover` and `check` end after the deadline, whatever is still in flight, and report what they have.
 */
export const MAX_SRV_TARGETS_PER_DOMAIN = 32
export const DEFAULT_DEADLINE_S = 30
export const DEADLINE_RANGE_S: Range = { min: 1, max: 3_600 }

/** The lab host's defaults and the limits a setting or a flag may choose from. */
export const LAB_HOST_DEFAULTS = {
  listen: `127.0.0.1:${DEFAULT_KMS_PORT}`,
  maxConnections: 256,
  exchangeTimeoutS: 30,
  /** A KMS request is about 300 bytes. */
  maxPduBytes: 4_096,
  retentionDays: 30,
  /** the client log's size cap: about 170,000 records */
  maxLogMiB: 64,
  /** connections one client address may hold at once: well below maxConnections, so one client cannot take them all */
  maxConnectionsPerAddress: 32,
  /** KMS requests per second one client address may send (a token bucket of twice this size absorbs bursts); 0 = no limit */
  maxRequestsPerSecondPerAddress: 200
} as const

export const LAB_HOST_RANGES = {
  maxConnections: { min: 1, max: 65_535 },
  exchangeTimeoutS: { min: 1, max: 3_600 },
  /** frag_length is a 16-bit field: no PDU can be longer than 65,535 bytes. */
  maxPduBytes: { min: 512, max: 65_535 },
  retentionDays: { min: 1, max: 3_650 },
  maxLogMiB: { min: 1, max: 65_536 },
  maxConnectionsPerAddress: { min: 1, max: 65_535 },
  maxRequestsPerSecondPerAddress: { min: 0, max: 1_000_000 }
} as const satisfies Record<string, Range>

/**
 * The activation manager (src-main/licensing): how long one PowerShell run may take — a read is a few CIM queries;
 * an action may include `Activate()`, which waits for Windows' own KMS attempts — how many computers are read at
 * once, how many one request may name, and how much output a run may print before it is stopped.
 */
export const LICENSING_DEFAULTS = {
  readTimeoutMs: 60_000,
  actionTimeoutMs: 120_000,
  parallelComputers: 8,
  maxComputers: 256,
  maxOutputBytes: 4 * 1024 * 1024
} as const

/** The highest N_Policy (required client count) a KMS host accepts; vlmcsd refuses more with 0x8007000D, so do we. */
export const MAX_REQUIRED_CLIENT_COUNT = 1000

/**
 * Client IDs a count index keeps per KMS counted ID (and per application): a real host keeps the most recent 2 × N;
 * with N at most MAX_REQUIRED_CLIENT_COUNT the count (never above 2 × N) stays exact, and memory is bounded whatever
 * clients send.
 */
export const MAX_CLIENTS_PER_COUNT = 2 * MAX_REQUIRED_CLIENT_COUNT

/** KMS hosts probed at once (the discovery page's "probe all", `audit-dns`): bounded, whatever DNS publishes. */
export const PROBE_PARALLELISM = 8
