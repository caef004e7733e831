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

/** The lab host's defaults and the limits a setting or a flag may choose from. */
export const LAB_HOST_DEFAULTS = {
  listen: `127.0.0.1:${DEFAULT_KMS_PORT}`,
  maxConnections: 256,
  exchangeTimeoutS: 30,
  /** A KMS request is about 300 bytes. */
  maxPduBytes: 4_096,
  retentionDays: 30
} as const

export const LAB_HOST_RANGES = {
  maxConnections: { min: 1, max: 65_535 },
  exchangeTimeoutS: { min: 1, max: 3_600 },
  /** frag_length is a 16-bit field: no PDU can be longer than 65,535 bytes. */
  maxPduBytes: { min: 512, max: 65_535 },
  retentionDays: { min: 1, max: 3_650 }
} as const satisfies Record<string, Range>
