/**
 * SRV lookup for KMS discovery: `_vlmcs._tcp.<domain>`, the records' targets and their addresses.
 *
 * - CNAMEs are followed, both inside one answer (resolvers usually return the whole chain) and by asking
 *   again when a chain ends without the wanted records; at most `maxCnameHops` names, loops detected.
 * - Target addresses come from the additional section when the server sent any for that target (A/AAAA
 *   owned by the target, or by the end of a CNAME chain starting at it there); otherwise A and AAAA are
 *   looked up. A target that is itself an IP literal (a misconfigured record, but seen in the wild) is used
 *   as it is and flagged.
 * - Records with target "." are removed (RFC 2782: "decidedly not available"); if nothing else remains the
 *   lookup fails with code 'declined'.
 * - Records are returned in wire order: ordering by priority/weight is `discovery/srv-selection`'s job.
 * - At most `maxRecords` records are taken (default MAX_SRV_TARGETS_PER_DOMAIN, 32): a hostile server once sent
 *   1,200 targets, each costing two address lookups. The lowest priorities are kept (ties: wire order), since
 *   those are the hosts a client tries first; the rest are counted in `ignoredRecords` and the trace.
 * - When the signal aborts while target addresses are being looked up, the records found so far are still
 *   returned: the targets not resolved yet are counted in `unfinishedTargets` (the caller's deadline or cancel
 *   decides what that means). An abort before the SRV answer throws DnsError('aborted').
 */
import { mapLimited } from '../common/map-limited'
import { isIP } from 'node:net'
import { MAX_SRV_TARGETS_PER_DOMAIN } from '../common/defaults'
import { DnsError, type DnsErrorCode } from './errors'
import type { DnsAnswer, DnsClient } from './client'
import { canonicalDnsName, dnsNamesEqual, validateQueryName } from './names'
import type { DnsTransport } from './trace'
import type { DnsQueryType, DnsRecord } from './wire'

const KMS_SRV_PREFIX = '_vlmcs._tcp.'
const DEFAULT_MAX_CNAME_HOPS = 8
const DEFAULT_ADDRESS_CONCURRENCY = 4

export interface TargetAddress {
  readonly address: string
  readonly family: 4 | 6
  /** Seconds (the smallest TTL along the CNAME chain that led to it). */
  readonly ttl: number
}

export interface AddressLookupOutcome {
  readonly qtype: 'A' | 'AAAA'
  readonly outcome: 'found' | 'nodata' | 'nxdomain' | 'error'
  readonly code?: DnsErrorCode
  readonly message?: string
}

export interface SrvTargetRecord {
  readonly priority: number
  readonly weight: number
  readonly port: number
  /** Target host name as published (trailing dot removed). */
  readonly target: string
  readonly ttl: number
  readonly addresses: readonly TargetAddress[]
  /** Where `addresses` came from; 'none' when address resolution was off or found nothing. */
  readonly addressSource: 'additional' | 'lookup' | 'literal' | 'none'
  /** The A/AAAA lookups made for this target (empty when the additional section sufficed). */
  readonly addressLookups: readonly AddressLookupOutcome[]
  /** CNAMEs followed from the target to the name that owns the addresses. */
  readonly targetCnames: readonly string[]
}

export interface SrvLookupResult {
  /** The name asked for, canonical (e.g. `_vlmcs._tcp.corp.example`). */
  readonly qname: string
  /** The name that owns the SRV records (differs from qname after CNAMEs). */
  readonly ownerName: string
  readonly cnameChain: readonly string[]
  /** Server and transport of the answer that held the SRV records. */
  readonly server: string
  readonly transport: DnsTransport
  readonly authoritative: boolean
  /** Wire order; targets "." removed. */
  readonly records: readonly SrvTargetRecord[]
  /** Smallest TTL of the SRV records and CNAMEs leading to them, in seconds. */
  readonly minTtl: number
  /** Usable records beyond `maxRecords`, not taken (neither resolved nor returned). */
  readonly ignoredRecords: number
  /** Targets whose address lookups the signal cut off (their records have addressSource 'none'). */
  readonly unfinishedTargets: number
}

export interface SrvLookupOptions {
  /** Resolve target addresses (default true). */
  readonly resolveAddresses?: boolean
  /** Address families to resolve (default both, IPv4 first). */
  readonly families?: ReadonlyArray<4 | 6>
  readonly maxCnameHops?: number
  readonly signal?: AbortSignal
  /** How many targets are resolved at the same time (each needs up to two queries). Default 4. */
  readonly addressConcurrency?: number
  /** Most records taken, lowest priorities first. Default MAX_SRV_TARGETS_PER_DOMAIN (32). */
  readonly maxRecords?: number
}

/** `_vlmcs._tcp.<domain>`, validated. Throws DnsError('invalid-name') for a bad domain. */
export function kmsSrvName(domain: string): string {
  const bare = domain.trim().replace(/\.$/, '')
  if (bare === '') throw new DnsError('invalid-name', 'The DNS domain to search for KMS hosts is empty')
  return validateQueryName(KMS_SRV_PREFIX + bare)
}

/** Looks up the KMS SRV records of one DNS domain. See {@link lookupSrv}. */
export function lookupKmsSrv(client: DnsClient, domain: string, options: SrvLookupOptions = {}): Promise<SrvLookupResult> {
  return lookupSrv(client, kmsSrvName(domain), options)
}

interface ChainWalk {
  readonly finalName: string
  readonly cnames: readonly string[]
  readonly minTtl: number
}

/**
 * Follows CNAMEs owned by `start` within `records`. `visited` holds canonical names seen so far in the whole
 * lookup (shared across re-queries) so loops spanning several answers are caught too.
 */
function followCnames(
  records: readonly DnsRecord[],
  start: string,
  visited: Set<string>,
  maxHops: number,
  emit: (from: string, to: string) => void
): ChainWalk {
  let name = start
  const cnames: string[] = []
  let minTtl = Number.POSITIVE_INFINITY
  for (;;) {
    const cname = records.find((r): r is Extract<DnsRecord, { type: 'CNAME' }> => r.type === 'CNAME' && dnsNamesEqual(r.name, name))
    if (!cname) return { finalName: name, cnames, minTtl }
    const key = canonicalDnsName(cname.target)
    if (visited.has(key)) throw new DnsError('cname-loop', `CNAME loop: ${name} points back to ${cname.target}`)
    if (visited.size >= maxHops + 1) {
      throw new DnsError('cname-loop', `CNAME chain from ${start} is longer than ${maxHops} hops; stopped at ${cname.target}`)
    }
    visited.add(key)
    emit(name, cname.target)
    cnames.push(cname.target)
    minTtl = Math.min(minTtl, cname.ttl)
    name = cname.target
  }
}

/**
 * Queries `qname`/`qtype`, following CNAMEs until an answer holds records of `qtype` for the chain's end.
 * Resolves with that answer (NOERROR with records); throws DnsError 'nxdomain' / 'nodata' / 'cname-loop' /
 * transport codes otherwise.
 */
async function queryFollowingCnames(
  client: DnsClient,
  qname: string,
  qtype: DnsQueryType,
  maxHops: number,
  signal: AbortSignal | undefined
): Promise<{ answer: DnsAnswer; finalName: string; cnames: string[]; minTtl: number }> {
  const visited = new Set<string>([canonicalDnsName(qname)])
  const cnames: string[] = []
  let minTtl = Number.POSITIVE_INFINITY
  let name = qname
  const emit = (from: string, to: string): void => client.trace({ kind: 'dns-cname', atMs: client.now(), from, to, qtype })
  for (;;) {
    const answer = await client.query(name, qtype, signal ? { signal } : {})
    const walk = followCnames(answer.answers, name, visited, maxHops, emit)
    cnames.push(...walk.cnames)
    minTtl = Math.min(minTtl, walk.minTtl)
    const via = cnames.length > 0 ? ` (reached through CNAME ${[qname, ...cnames].join(' → ')})` : ''
    if (answer.rcode === 'NXDOMAIN') {
      throw new DnsError('nxdomain', `${walk.finalName} does not exist (NXDOMAIN from ${answer.server})${via}`, {
        qname,
        qtype,
        server: answer.server,
        rcode: 'NXDOMAIN'
      })
    }
    const wanted = answer.answers.some((r) => r.type === qtype && dnsNamesEqual(r.name, walk.finalName))
    if (wanted) return { answer, finalName: walk.finalName, cnames, minTtl }
    if (walk.cnames.length === 0) {
      throw new DnsError('nodata', `${walk.finalName} has no ${qtype} records (empty answer from ${answer.server})${via}`, {
        qname,
        qtype,
        server: answer.server,
        rcode: 'NOERROR'
      })
    }
    // The chain ended at a name this answer holds nothing more for: ask for that name directly.
    name = validateQueryName(walk.finalName)
  }
}

function addressesFromSection(
  records: readonly DnsRecord[],
  target: string,
  families: ReadonlyArray<4 | 6>,
  maxHops: number
): { addresses: TargetAddress[]; cnames: string[] } {
  let walk: ChainWalk
  try {
    walk = followCnames(records, target, new Set([canonicalDnsName(target)]), maxHops, () => {})
  } catch {
    return { addresses: [], cnames: [] } // a looping chain in the additional section: ignore it, look up instead
  }
  const addresses: TargetAddress[] = []
  for (const family of families) {
    const rrtype = family === 4 ? 'A' : 'AAAA'
    for (const r of records) {
      if (r.type === rrtype && dnsNamesEqual(r.name, walk.finalName)) {
        addresses.push({ address: r.address, family, ttl: Math.min(r.ttl, walk.minTtl) })
      }
    }
  }
  return { addresses, cnames: [...walk.cnames] }
}

function dedupeAddresses(addresses: readonly TargetAddress[]): TargetAddress[] {
  const seen = new Map<string, TargetAddress>()
  for (const a of addresses) {
    const key = a.address.toLowerCase()
    const prior = seen.get(key)
    if (!prior || a.ttl < prior.ttl) seen.set(key, prior ? { ...prior, ttl: a.ttl } : a)
  }
  return [...seen.values()]
}

export interface HostAddressResult {
  readonly addresses: readonly TargetAddress[]
  readonly lookups: readonly AddressLookupOutcome[]
  readonly cnames: readonly string[]
}

/**
 * Looks up A and/or AAAA for a host name through the client's servers (both in parallel), following CNAMEs.
 * Never throws for DNS outcomes: each family's result is reported in `lookups`.
 */
export async function resolveHostAddresses(
  client: DnsClient,
  host: string,
  options: { families?: ReadonlyArray<4 | 6>; maxCnameHops?: number; signal?: AbortSignal } = {}
): Promise<HostAddressResult> {
  const families = options.families ?? [4, 6]
  const maxHops = options.maxCnameHops ?? DEFAULT_MAX_CNAME_HOPS
  const perFamily = await Promise.all(
    families.map(async (family) => {
      const qtype = family === 4 ? 'A' : 'AAAA'
      try {
        const { answer, finalName, cnames, minTtl } = await queryFollowingCnames(client, host, qtype, maxHops, options.signal)
        const addresses: TargetAddress[] = []
        for (const r of answer.answers) {
          if (r.type === qtype && dnsNamesEqual(r.name, finalName))
            addresses.push({ address: r.address, family, ttl: Math.min(r.ttl, minTtl) })
        }
        return { addresses, cnames, lookup: { qtype, outcome: 'found' } as AddressLookupOutcome }
      } catch (error) {
        if (!(error instanceof DnsError)) throw error
        if (error.code === 'aborted') throw error
        const outcome: AddressLookupOutcome['outcome'] =
          error.code === 'nodata' ? 'nodata' : error.code === 'nxdomain' ? 'nxdomain' : 'error'
        return { addresses: [], cnames: [], lookup: { qtype, outcome, code: error.code, message: error.message } as AddressLookupOutcome }
      }
    })
  )
  return {
    addresses: dedupeAddresses(perFamily.flatMap((r) => r.addresses)),
    lookups: perFamily.map((r) => r.lookup),
    cnames: perFamily.reduce<string[]>((longest, r) => (r.cnames.length > longest.length ? r.cnames : longest), [])
  }
}

/**
 * The `max` records a client would try first (lowest priority; ties keep wire order), still in wire order, so
 * that a flood of records costs nothing beyond the first `max`.
 */
function takeMostPreferred<R extends { readonly priority: number }>(records: readonly R[], max: number): R[] {
  if (records.length <= max) return [...records]
  const kept = records
    .map((record, index) => ({ record, index }))
    .sort((a, b) => a.record.priority - b.record.priority || a.index - b.index)
    .slice(0, max)
    .sort((a, b) => a.index - b.index)
  return kept.map((k) => k.record)
}

/**
 * Looks up SRV records for `qname` (a full name such as `_vlmcs._tcp.corp.example`) and, unless turned off,
 * the addresses of their targets.
 *
 * Throws DnsError: 'nxdomain' (name does not exist), 'nodata' (no SRV records), 'declined' (only "."
 * targets), 'cname-loop', 'invalid-name', or the transport's codes ('timeout', 'servfail', 'refused',
 * 'malformed', 'network', 'aborted'). Address lookup failures do not throw; they are reported per record.
 */
export async function lookupSrv(client: DnsClient, qname: string, options: SrvLookupOptions = {}): Promise<SrvLookupResult> {
  const name = validateQueryName(qname)
  const maxHops = options.maxCnameHops ?? DEFAULT_MAX_CNAME_HOPS
  const families = options.families ?? [4, 6]
  const { answer, finalName, cnames, minTtl: cnameTtl } = await queryFollowingCnames(client, name, 'SRV', maxHops, options.signal)

  const srvRecords = answer.answers.filter(
    (r): r is Extract<DnsRecord, { type: 'SRV' }> => r.type === 'SRV' && dnsNamesEqual(r.name, finalName)
  )
  const maxRecords = options.maxRecords ?? MAX_SRV_TARGETS_PER_DOMAIN
  const declinedOnly = srvRecords.every((r) => r.target === '.' || r.target === '')
  // With only "." targets the trace shows them (the reason for 'declined'); otherwise the records taken.
  const offered = declinedOnly ? srvRecords : srvRecords.filter((r) => r.target !== '.' && r.target !== '')
  const usable = declinedOnly ? [] : takeMostPreferred(offered, maxRecords)
  const shown = declinedOnly ? takeMostPreferred(offered, maxRecords) : usable
  const ignoredRecords = offered.length - shown.length
  client.trace({
    kind: 'srv-records',
    atMs: client.now(),
    qname: name,
    ownerName: finalName,
    server: answer.server,
    records: shown.map((r) => ({ priority: r.priority, weight: r.weight, port: r.port, target: r.target, ttl: r.ttl })),
    ignored: ignoredRecords
  })
  if (usable.length === 0) {
    throw new DnsError('declined', `${finalName} says the service is not available in this domain (SRV target ".")`, {
      qname: name,
      qtype: 'SRV',
      server: answer.server
    })
  }

  const resolveAddresses = options.resolveAddresses ?? true
  const uniqueTargets = [...new Map(usable.map((r) => [canonicalDnsName(r.target), r.target])).values()]
  const section = [...answer.answers, ...answer.additionals]
  const byTarget = new Map<string, Omit<SrvTargetRecord, 'priority' | 'weight' | 'port' | 'target' | 'ttl'>>()
  let unfinishedTargets = 0

  await mapLimited(uniqueTargets, options.addressConcurrency ?? DEFAULT_ADDRESS_CONCURRENCY, async (target) => {
    const key = canonicalDnsName(target)
    let info: Omit<SrvTargetRecord, 'priority' | 'weight' | 'port' | 'target' | 'ttl'>
    const literal = isIP(target)
    if (literal !== 0) {
      info = {
        addresses: [{ address: target, family: literal as 4 | 6, ttl: 0 }],
        addressSource: 'literal',
        addressLookups: [],
        targetCnames: []
      }
    } else if (!resolveAddresses) {
      info = { addresses: [], addressSource: 'none', addressLookups: [], targetCnames: [] }
    } else {
      const fromSection = addressesFromSection(section, target, families, maxHops)
      if (fromSection.addresses.length > 0) {
        info = {
          addresses: dedupeAddresses(fromSection.addresses),
          addressSource: 'additional',
          addressLookups: [],
          targetCnames: fromSection.cnames
        }
      } else {
        let looked: HostAddressResult
        try {
          looked = await resolveHostAddresses(client, target, {
            families,
            maxCnameHops: maxHops,
            ...(options.signal ? { signal: options.signal } : {})
          })
        } catch (error) {
          if (!(error instanceof DnsError) || error.code !== 'aborted') throw error
          // Cut off (deadline or cancel): keep the record, say its addresses were not looked up to the end.
          unfinishedTargets++
          byTarget.set(key, {
            addresses: [],
            addressSource: 'none',
            addressLookups: families.map((f) => ({
              qtype: f === 4 ? 'A' : 'AAAA',
              outcome: 'error',
              code: 'aborted',
              message: 'not finished: the lookup was stopped'
            })),
            targetCnames: []
          })
          return
        }
        info = {
          addresses: looked.addresses,
          addressSource: looked.addresses.length > 0 ? 'lookup' : 'none',
          addressLookups: looked.lookups,
          targetCnames: looked.cnames
        }
      }
    }
    byTarget.set(key, info)
    client.trace({
      kind: 'srv-target-addresses',
      atMs: client.now(),
      target,
      source: info.addressSource,
      addresses: info.addresses.map((a) => a.address),
      problems: info.addressLookups
        .filter((l) => l.outcome === 'error' || l.outcome === 'nxdomain')
        .map((l) => `${l.qtype}: ${l.message ?? l.outcome}`)
    })
  })

  const records: SrvTargetRecord[] = usable.map((r) => ({
    priority: r.priority,
    weight: r.weight,
    port: r.port,
    target: r.target,
    ttl: r.ttl,
    ...byTarget.get(canonicalDnsName(r.target))!
  }))
  return {
    qname: name,
    ownerName: finalName,
    cnameChain: cnames,
    server: answer.server,
    transport: answer.transport,
    authoritative: answer.authoritative,
    records,
    minTtl: Math.min(cnameTtl, ...usable.map((r) => r.ttl)),
    ignoredRecords,
    unfinishedTargets
  }
}
