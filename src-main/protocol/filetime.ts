/**
 * FILETIME: u64 count of 100 ns ticks since 1601-01-01 00:00 UTC (the KMS ClientTime field).
 * Values are bigint so the full u64 range survives; conversions to Date lose the sub-millisecond part.
 */

export type FileTime = bigint

/** Ticks between 1601-01-01 and 1970-01-01. */
const FILETIME_UNIX_EPOCH = 116444736000000000n
const TICKS_PER_MS = 10000n

export function dateToFileTime(date: Date): FileTime {
  return BigInt(date.getTime()) * TICKS_PER_MS + FILETIME_UNIX_EPOCH
}

/** Milliseconds since the Unix epoch (floor), as a bigint so out-of-Date-range values are still exact. */
function fileTimeToUnixMs(ft: FileTime): bigint {
  const d = ft - FILETIME_UNIX_EPOCH
  // floor division for negative values too
  return d >= 0n ? d / TICKS_PER_MS : -((-d + TICKS_PER_MS - 1n) / TICKS_PER_MS)
}

/** The Date for a FILETIME, or undefined when it is outside the range a JS Date can hold. */
export function fileTimeToDate(ft: FileTime): Date | undefined {
  const ms = fileTimeToUnixMs(ft)
  if (ms > 8640000000000000n || ms < -8640000000000000n) return undefined
  return new Date(Number(ms))
}

/**
 * `YYYY-MM-DD HH:MM:SS` in UTC, seconds truncated — how vlmcs prints "Client request timestamp (UTC)".
 * Values after year 9999 are printed as the raw tick count.
 */
export function formatFileTimeUtc(ft: FileTime): string {
  const d = fileTimeToDate(ft)
  if (d === undefined || d.getUTCFullYear() > 9999) return `FILETIME ${ft.toString()}`
  return d
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, '')
}
