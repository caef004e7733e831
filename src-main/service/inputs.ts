/**
 * Checks of what a person types — host names, DNS servers, domains, GUIDs, a workstation name — with the words
 * KMS Scout uses for each, for every front end: the CLI names its flag in `label`, the app its field. Each either
 * returns the value or throws an {@link ApiFailure} with code 'invalid-input' (one line of cause, one of fix),
 * which the CLI reports with exit 3 and the API returns as is. The parsers themselves live once, below the
 * service (common/host-port, dns, discovery/domains); this is only their face.
 */
import { ApiFailure } from '../api/result'
import { KMS_HOST_RULES, LISTEN_ADDRESS_RULES, parseHostPort, type HostPort } from '../common/host-port'
import { checkLookupDomain, DiscoveryConfigError } from '../discovery/domains'
import { formatDnsServer, parseDnsServer, type DnsServer } from '../dns/server-spec'
import { normalizeGuid, NIL_GUID, WORKSTATION_NAME_MAX, type Guid, type KmsProtocolVersion } from '../protocol'

function invalid(message: string, hint: string): ApiFailure {
  return new ApiFailure('invalid-input', message, hint)
}

/** A KMS host `HOST[:PORT]` (default port 1688); `onNote` hears of text that probably means something else. */
export function parseKmsHost(text: string, onNote?: (note: string) => void): HostPort {
  const parsed = parseHostPort(text, KMS_HOST_RULES)
  if (!parsed.ok) throw invalid(parsed.error.message, parsed.error.hint)
  if (parsed.note !== undefined) onNote?.(parsed.note)
  return parsed.value
}

/** An address to listen on, `IP[:PORT]` (port 0: any free port). */
export function parseListenAddress(text: string, label: string): { address: string; port: number } {
  const parsed = parseHostPort(text, LISTEN_ADDRESS_RULES)
  if (!parsed.ok) throw invalid(`${label}: ${parsed.error.message}`, parsed.error.hint)
  return { address: parsed.value.host, port: parsed.value.port }
}

/** A DNS server `IP[:PORT]`, as its canonical text. */
export function parseDnsServerInput(text: string): string {
  return formatDnsServer(parseDnsServerSpec(text))
}

/** A DNS server `IP[:PORT]`, parsed. */
export function parseDnsServerSpec(text: string): DnsServer {
  try {
    return parseDnsServer(text)
  } catch (error) {
    const hint = (error as { hint?: unknown }).hint
    // The parser's message names the DNS server already (`Invalid DNS server "x": …`).
    throw invalid(
      error instanceof Error ? error.message : String(error),
      typeof hint === 'string' ? hint : 'give an IP address with an optional port, e.g. 10.0.0.2 or [fd00::53]:5353'
    )
  }
}

/** A lookup domain (like `slmgr /skms-domain`). */
export function parseLookupDomain(text: string, label: string): string {
  try {
    return checkLookupDomain(text, label)
  } catch (error) {
    if (error instanceof DiscoveryConfigError) throw invalid(error.message, error.hint)
    throw error
  }
}

/** A GUID in canonical form (braces allowed), lower-cased. */
export function parseGuid(text: string, label: string): Guid {
  const guid = normalizeGuid(text)
  if (guid === undefined)
    throw invalid(
      `${label} '${text}' is not a GUID`,
      `write it as 8-4-4-4-12 hex digits, e.g. ${label} 2de67392-b7a7-462a-b1ca-108dd189f588`
    )
  return guid
}

/** A client machine ID to send: any GUID but the zero one. */
export function parseCmid(text: string, label: string): Guid {
  const cmid = parseGuid(text, label)
  if (cmid === NIL_GUID)
    throw invalid(
      `${label} is the zero GUID, which is not a client identity`,
      "give a real GUID, or leave it out to use this installation's identity"
    )
  return cmid
}

export function parseProtocolVersion(text: string, label: string): KmsProtocolVersion {
  const t = text.trim().replace(/^v/i, '')
  if (t === '4' || t === '5' || t === '6') return Number(t) as KmsProtocolVersion
  throw invalid(
    `${label} '${text}' is not a KMS protocol version`,
    'use 4 (Vista, 7, Server 2008/R2, Office 2010), 5 (Windows 8, Server 2012, Office 2013) or 6 (Windows 8.1 and later, Office 2016 and later)'
  )
}

/** The WorkstationName to send: what the KMS request can carry (at most 63 characters, no NUL). */
export function parseWorkstationName(text: string, label: string): string {
  const name = text.trim()
  if (name === '') throw invalid(`${label} is empty`, 'give the name this monitor should show on the KMS host, e.g. monitor01.corp.example')
  if (name.length > WORKSTATION_NAME_MAX) {
    throw invalid(
      `${label} is ${name.length} characters long; the KMS request carries at most ${WORKSTATION_NAME_MAX}`,
      'use a shorter name, e.g. the host name without its domain'
    )
  }
  if (name.includes('\0')) throw invalid(`${label} contains a NUL character`, 'use a plain host name')
  return name
}

/** A whole number in [min, max]; `example` goes into the hint. */
export function parseWholeNumber(text: string, label: string, range: { min: number; max: number }, unit: string, example: number): number {
  const n = /^[0-9]+$/.test(text.trim()) ? Number(text.trim()) : NaN
  if (!Number.isSafeInteger(n) || n < range.min || n > range.max) {
    throw invalid(`${label} '${text}' is not a whole number of ${unit} from ${range.min} to ${range.max}`, `e.g. ${label} ${example}`)
  }
  return n
}

/** The defaults and limits these inputs are checked against, for help texts and hints. */
export {
  CLIENT_TIMEOUT_RANGE_MS,
  DEADLINE_RANGE_S,
  DEFAULT_DEADLINE_S,
  MAX_SRV_TARGETS_PER_DOMAIN,
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
