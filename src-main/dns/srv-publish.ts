/**
 * Publishing and removing one KMS host's `_vlmcs._tcp` SRV record at one DNS server by dynamic update, the way a
 * KMS host registers itself (docs/windows-client.md §1.1; docs/dns-publishing.md):
 *
 *  1. the zone: given, or found by asking the server for the domain's SOA (the answer's SOA owner, or the SOA of
 *     the authority section when the domain lies inside a zone); the domain itself when the server does not say;
 *  2. the records already published for this target (any port, priority or weight), read from the same server;
 *  3. one UPDATE: publish removes those and adds the new record (so a host that changes its port or weight
 *     leaves no stale record behind), unpublish removes them; signed with TSIG when a key is given;
 *  4. the answer's RCODE (or TSIG error) explained through ./update-rcodes.ts; a signed update's answer must
 *     carry a signature that verifies with the same key.
 */
import { randomBytes } from 'node:crypto'
import * as dnsPacket from 'dns-packet'
import { createDnsClient } from './client'
import { isDnsError } from './errors'
import { canonicalDnsName, dnsNamesEqual, validateQueryName } from './names'
import { formatDnsServer, type DnsServer } from './server-spec'
import { kmsSrvName, lookupKmsSrv } from './srv-lookup'
import { signMessage, verifyAnswer, type TsigKey } from './tsig'
import { encodeSrvUpdate, OPCODE_UPDATE, type SrvData } from './update'
import { explainUpdateOutcome, updateRcodeName } from './update-rcodes'
import { exchangeUpdateMessage } from './update-transport'

export type { SrvData }

export interface KmsSrvRecordSpec {
  readonly domain: string
  readonly target: string
  readonly port: number
  readonly priority: number
  readonly weight: number
  /** Seconds. */
  readonly ttl: number
}

export interface SrvUpdateRequest extends KmsSrvRecordSpec {
  readonly server: DnsServer
  /** The zone holding the domain; found through the server's SOA answer when not given. */
  readonly zone?: string | undefined
  /** Sign the update with this key (RFC 8945); unsigned when absent. */
  readonly key?: TsigKey | undefined
  /** Per exchange. */
  readonly timeoutMs: number
  /** Seconds since the epoch, for the TSIG time (injected for tests). Default the system clock. */
  readonly nowS?: () => number
}

export interface SrvUpdateResult {
  readonly ok: boolean
  readonly action: 'publish' | 'unpublish'
  readonly server: string
  readonly zone: string
  readonly zoneSource: 'given' | 'soa' | 'domain'
  /** `_vlmcs._tcp.<domain>` */
  readonly name: string
  readonly record: KmsSrvRecordSpec
  /** Records of this target the update removed (for publish: replaced). */
  readonly removed: readonly SrvData[]
  /** What the update added (empty for unpublish). */
  readonly added: readonly SrvData[]
  readonly signedWith: { readonly keyName: string; readonly algorithm: string } | null
  /** RCODE or TSIG error name (`NOERROR`, `REFUSED`, `BADSIG`, …), or `timeout` / `network` / `unverified` / `malformed`. */
  readonly code: string
  readonly meaning: string
  readonly fix: string
  /** Why the existing records could not be read, when they could not (the update then removes the exact record only). */
  readonly lookupProblem?: string
  readonly transport?: 'udp' | 'tcp'
  readonly durationMs: number
}

const OPCODE_QUERY = 0

function randomId(): number {
  return randomBytes(2).readUInt16BE(0)
}

/** The zone of `domain` according to `server` (its SOA), or undefined when the server does not say. */
async function findZone(server: DnsServer, domain: string, timeoutMs: number): Promise<string | undefined> {
  const id = randomId()
  const query = dnsPacket.encode({ type: 'query', id, flags: 0, questions: [{ type: 'SOA', name: domain, class: 'IN' }] })
  const outcome = await exchangeUpdateMessage({ server, message: query, id, opcode: OPCODE_QUERY, timeoutMs })
  if (outcome.kind !== 'reply') return undefined
  let decoded: dnsPacket.Packet
  try {
    // A reply from the server we chose, at most 64 KiB; dns-packet refuses pointer loops, a RangeError is caught here.
    decoded = dnsPacket.decode(outcome.reply.bytes)
  } catch {
    return undefined
  }
  const soa = [...(decoded.answers ?? []), ...(decoded.authorities ?? [])].find((r) => r.type === 'SOA')
  if (soa === undefined) return undefined
  const owner = canonicalDnsName(soa.name)
  // the SOA must be the domain's own or an ancestor's, or it says nothing about this domain
  return owner === domain || domain.endsWith(`.${owner}`) ? owner : undefined
}

/** Records of `target` published at `name` now, or a reason they could not be read. */
async function existingRecords(server: DnsServer, domain: string, target: string, timeoutMs: number): Promise<SrvData[] | string> {
  try {
    const client = createDnsClient({ servers: [server], timeoutMs, attempts: 1 })
    const found = await lookupKmsSrv(client, domain, {
      resolveAddresses: false, // every record of the name, not only the 32 a client would use
      maxRecords: Number.POSITIVE_INFINITY
    })
    return found.records
      .filter((r) => dnsNamesEqual(r.target, target))
      .map((r) => ({ priority: r.priority, weight: r.weight, port: r.port, target: canonicalDnsName(r.target) }))
  } catch (error) {
    if (isDnsError(error) && (error.code === 'nxdomain' || error.code === 'nodata' || error.code === 'declined')) return []
    return error instanceof Error ? error.message : String(error)
  }
}

/** Publishes (`publish`) or removes (`unpublish`) one host's record. Never throws for DNS outcomes. */
export async function updateKmsSrv(action: 'publish' | 'unpublish', request: SrvUpdateRequest): Promise<SrvUpdateResult> {
  const started = performance.now()
  const domain = validateQueryName(request.domain)
  const target = validateQueryName(request.target)
  const name = kmsSrvName(domain)
  // picked field by field: the request also carries the key, whose secret must never reach a report
  const spec: KmsSrvRecordSpec = {
    domain,
    target,
    port: request.port,
    priority: request.priority,
    weight: request.weight,
    ttl: request.ttl
  }
  const wanted: SrvData = { priority: request.priority, weight: request.weight, port: request.port, target }
  const server = formatDnsServer(request.server)

  let zone = request.zone === undefined ? undefined : validateQueryName(request.zone)
  let zoneSource: SrvUpdateResult['zoneSource'] = 'given'
  if (zone === undefined) {
    zone = await findZone(request.server, domain, request.timeoutMs)
    zoneSource = zone === undefined ? 'domain' : 'soa'
    zone ??= domain
  }

  const existing = await existingRecords(request.server, domain, target, request.timeoutMs)
  const lookupProblem = typeof existing === 'string' ? existing : undefined
  // when the current records cannot be read, unpublish removes the record as given (publish adds it regardless)
  const removed = typeof existing === 'string' ? (action === 'unpublish' ? [wanted] : []) : existing
  const added = action === 'publish' ? [wanted] : []
  const signedWith = request.key ? { keyName: request.key.name, algorithm: request.key.algorithm } : null
  const base = {
    action,
    server,
    zone,
    zoneSource,
    name,
    record: spec,
    removed,
    added,
    signedWith,
    ...(lookupProblem ? { lookupProblem } : {})
  }
  const result = (code: string, transport?: 'udp' | 'tcp'): SrvUpdateResult => {
    const entry = explainUpdateOutcome(code)
    return {
      ok: code === 'NOERROR',
      ...base,
      code,
      meaning: entry.meaning,
      fix: entry.fix,
      ...(transport ? { transport } : {}),
      durationMs: performance.now() - started
    }
  }

  if (removed.length === 0 && added.length === 0) return result('NOERROR') // nothing published for this target: nothing to remove

  const id = randomId()
  const unsigned = encodeSrvUpdate({ id, zone, name, remove: removed, add: added, ttl: request.ttl })
  const nowS = request.nowS ?? (() => Math.floor(Date.now() / 1000))
  const signed = request.key ? signMessage(unsigned, request.key, nowS()) : undefined
  const outcome = await exchangeUpdateMessage({
    server: request.server,
    message: signed?.message ?? unsigned,
    id,
    opcode: OPCODE_UPDATE,
    timeoutMs: request.timeoutMs
  })
  // the exchange has no abort signal, so 'aborted' cannot happen; it would read as a network failure
  if (outcome.kind !== 'reply') return result(outcome.kind === 'aborted' ? 'network' : outcome.kind)
  const { bytes, header: reply } = outcome.reply
  const tsig = reply.tsig
  if (typeof tsig === 'string') return result('malformed', outcome.transport)
  // A TSIG error (BADSIG, BADKEY, BADTIME) rides in the TSIG record of a NOTAUTH answer (RFC 8945 §5.3.2).
  if (tsig !== undefined && tsig.error !== 0) return result(updateRcodeName(tsig.error), outcome.transport)
  if (request.key && signed) {
    if (tsig === undefined)
      return reply.rcode === 0 ? result('unverified', outcome.transport) : result(updateRcodeName(reply.rcode), outcome.transport)
    const verdict = verifyAnswer(bytes, tsig, request.key, signed.mac, nowS())
    if (!verdict.ok) return result('unverified', outcome.transport)
  }
  return result(updateRcodeName(reply.rcode), outcome.transport)
}
