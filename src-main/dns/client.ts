/**
 * DNS client: sends one question to the configured servers, in order, until one of them answers.
 *
 * Policy (per query):
 *  - Servers are tried in the order given. Each gets up to `attempts` UDP attempts, each with a fresh random
 *    message ID, a fresh socket (fresh source port) and its own `timeoutMs` timer.
 *  - A UDP reply with TC set is retried once over TCP to the same server, same ID (RFC 7766).
 *  - NOERROR and NXDOMAIN are answers: returned, no further servers asked. (NOERROR with no records is an
 *    answer too: "no such records here".)
 *  - Timeout → next attempt at the same server. SERVFAIL / REFUSED / other error RCODE / malformed reply /
 *    network error → straight to the next server (retrying the same server would most likely repeat it).
 *  - When every server failed, a {@link DnsError} carries the code of the last failure and the list of
 *    failures per server.
 *  - There is no fallback to any public resolver: with no servers configured, the query fails ('no-servers').
 */
import { randomBytes } from 'node:crypto'
import { DnsError, type DnsErrorCode, type DnsFailure } from './errors'
import { exchangeTcp, exchangeUdp, MAX_IGNORED_TCP_MESSAGES, MAX_TCP_MESSAGE_BYTES, type ExchangeOutcome } from './exchange'
import { validateQueryName } from './names'
import { formatDnsServer, toDnsServer, type DnsServer } from './server-spec'
import { discardTrace, type DnsTraceEvent, type DnsTransport, type TraceSink } from './trace'
import { encodeQuery, type DnsQueryType, type DnsReplyMessage, type ExpectedReply } from './wire'

const DEFAULT_TIMEOUT_MS = 2000
const DEFAULT_ATTEMPTS = 2

export interface DnsClientOptions {
  /** DNS servers as `IP[:PORT]` specs or parsed servers, tried in this order. */
  readonly servers: ReadonlyArray<string | DnsServer>
  /** Per-attempt timeout (each UDP attempt and each TCP retry). Default 2000 ms. */
  readonly timeoutMs?: number
  /** UDP attempts per server. Default 2. */
  readonly attempts?: number
  /** Random bytes source for message IDs. Default `crypto.randomBytes`. */
  readonly random?: (n: number) => Uint8Array
  /** Clock for trace timestamps and durations, in ms. Default `performance.now()`. */
  readonly now?: () => number
  readonly trace?: TraceSink<DnsTraceEvent>
  /** Largest reply accepted over TCP. Default 65535 (the protocol maximum). */
  readonly maxTcpMessageBytes?: number
  /** Send an EDNS(0) OPT record advertising this UDP payload size. Default: none (classic 512-byte replies). */
  readonly ednsUdpPayloadSize?: number
}

export interface DnsAnswer extends DnsReplyMessage {
  /** The name and type we asked for (name in canonical form). */
  readonly qname: string
  readonly qtype: DnsQueryType
  /** The server that answered, as `host:port` / `[v6]:port`. */
  readonly server: string
  readonly transport: DnsTransport
  /** Time from the first query to this answer, across attempts and servers. */
  readonly elapsedMs: number
}

export interface DnsQueryOptions {
  readonly signal?: AbortSignal
}

export interface DnsClient {
  readonly servers: readonly DnsServer[]
  /** Asks the servers for `qname`/`qtype`; resolves with the first NOERROR/NXDOMAIN answer, else throws DnsError. */
  query(qname: string, qtype: DnsQueryType, options?: DnsQueryOptions): Promise<DnsAnswer>
  /** The trace sink and clock this client uses, so higher-level lookups emit into the same trace. */
  readonly trace: TraceSink<DnsTraceEvent>
  readonly now: () => number
}

function positiveInteger(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${what} must be a positive number, got ${value}`)
  return value
}

/**
 * Creates a client for the given servers. Throws `DnsServerSpecError` for a bad server spec and
 * `DnsError('no-servers')` when the list is empty.
 */
export function createDnsClient(options: DnsClientOptions): DnsClient {
  const servers = options.servers.map(toDnsServer)
  if (servers.length === 0) {
    throw new DnsError(
      'no-servers',
      'No DNS server to ask. Configure the DNS servers of this network (KMS Scout never falls back to a public resolver, which would not know internal zones).'
    )
  }
  const timeoutMs = positiveInteger(options.timeoutMs, DEFAULT_TIMEOUT_MS, 'timeoutMs')
  const attempts = Math.floor(positiveInteger(options.attempts, DEFAULT_ATTEMPTS, 'attempts'))
  const maxTcpMessageBytes = positiveInteger(options.maxTcpMessageBytes, MAX_TCP_MESSAGE_BYTES, 'maxTcpMessageBytes')
  const random = options.random ?? ((n: number) => randomBytes(n))
  const now = options.now ?? (() => performance.now())
  const trace = options.trace ?? discardTrace
  const ednsUdpPayloadSize = options.ednsUdpPayloadSize

  function randomId(): number {
    const bytes = random(2)
    if (bytes.length < 2) throw new RangeError('random(2) returned fewer than 2 bytes')
    return (bytes[0]! << 8) | bytes[1]!
  }

  async function query(rawName: string, qtype: DnsQueryType, queryOptions: DnsQueryOptions = {}): Promise<DnsAnswer> {
    const qname = validateQueryName(rawName)
    const { signal } = queryOptions
    const started = now()
    const failures: DnsFailure[] = []

    const abortError = (): DnsError => new DnsError('aborted', `Lookup of ${qname} ${qtype} was cancelled`, { qname, qtype, failures })

    for (let s = 0; s < servers.length; s++) {
      const server = servers[s]!
      const serverText = formatDnsServer(server)
      let lastCode: DnsErrorCode | undefined

      for (let attempt = 1; attempt <= attempts; attempt++) {
        if (signal?.aborted) throw abortError()
        const id = randomId()
        const expected: ExpectedReply = { id, qname, qtype }
        const message = encodeQuery({ id, qname, qtype, ...(ednsUdpPayloadSize === undefined ? {} : { ednsUdpPayloadSize }) })

        const exchangeOnce = async (transport: DnsTransport): Promise<ExchangeOutcome> => {
          const t0 = now()
          trace({ kind: 'dns-query', atMs: t0, server: serverText, transport, qname, qtype, id, attempt })
          const common = {
            server,
            query: message,
            expected,
            timeoutMs,
            signal,
            onIgnored: (reason: string, bytes: number) =>
              trace({ kind: 'dns-ignored', atMs: now(), server: serverText, transport, qname, qtype, reason, bytes })
          }
          const outcome =
            transport === 'udp'
              ? await exchangeUdp(common)
              : await exchangeTcp({ ...common, maxMessageBytes: maxTcpMessageBytes, maxIgnoredMessages: MAX_IGNORED_TCP_MESSAGES })
          const t1 = now()
          const reply = summariseReply(outcome)
          if (reply) trace({ kind: 'dns-reply', atMs: t1, server: serverText, transport, qname, qtype, id, ...reply, elapsedMs: t1 - t0 })
          const failure = describeFailure(outcome, timeoutMs)
          if (failure) {
            trace({
              kind: 'dns-failure',
              atMs: t1,
              server: serverText,
              transport,
              qname,
              qtype,
              attempt,
              id,
              code: failure.code,
              message: failure.message,
              elapsedMs: t1 - t0
            })
            failures.push({ server: serverText, transport, ...failure })
          }
          return outcome
        }

        let transport: DnsTransport = 'udp'
        let outcome = await exchangeOnce('udp')
        if (outcome.kind === 'truncated') {
          trace({ kind: 'dns-tcp-fallback', atMs: now(), server: serverText, qname, qtype })
          transport = 'tcp'
          outcome = await exchangeOnce('tcp')
        }
        if (outcome.kind === 'answer') {
          return { ...outcome.message, qname, qtype, server: serverText, transport, elapsedMs: now() - started }
        }
        if (outcome.kind === 'aborted') throw abortError()
        lastCode = describeFailure(outcome, timeoutMs)?.code
        if (outcome.kind !== 'timeout') break // the server answered (badly) or is unreachable: next server
      }

      const nextServer = servers[s + 1]
      if (nextServer && lastCode) {
        trace({ kind: 'dns-next-server', atMs: now(), from: serverText, to: formatDnsServer(nextServer), qname, qtype, reason: lastCode })
      }
    }

    const last = failures[failures.length - 1]
    const summary = summariseFailures(failures)
    throw new DnsError(last?.code ?? 'timeout', `No DNS server gave an answer for ${qname} ${qtype}: ${summary}`, {
      qname,
      qtype,
      ...(last ? { server: last.server } : {}),
      ...(last?.rcode ? { rcode: last.rcode } : {}),
      failures
    })
  }

  return { servers, query, trace, now }
}

/** The reply fields of the trace, for outcomes where the server's reply passed our checks. */
function summariseReply(
  outcome: ExchangeOutcome
):
  | { rcode: string; truncated: boolean; authoritative: boolean; answers: number; authorities: number; additionals: number; bytes: number }
  | undefined {
  switch (outcome.kind) {
    case 'answer': {
      const m = outcome.message
      return {
        rcode: m.rcode,
        truncated: false,
        authoritative: m.authoritative,
        answers: m.answers.length,
        authorities: m.authorities.length,
        additionals: m.additionals.length,
        bytes: m.bytes
      }
    }
    case 'truncated':
    case 'rcode-failure':
      return {
        rcode: outcome.rcode,
        truncated: outcome.kind === 'truncated',
        authoritative: outcome.authoritative,
        answers: 0,
        authorities: 0,
        additionals: 0,
        bytes: outcome.bytes
      }
    default:
      return undefined
  }
}

function describeFailure(outcome: ExchangeOutcome, timeoutMs: number): { code: DnsErrorCode; message: string; rcode?: string } | undefined {
  switch (outcome.kind) {
    case 'answer':
    case 'truncated':
    case 'aborted':
      return undefined
    case 'timeout':
      return { code: 'timeout', message: `no valid reply within ${timeoutMs} ms` }
    case 'network':
      return { code: 'network', message: outcome.reason }
    case 'malformed':
      return { code: 'malformed', message: outcome.reason }
    case 'rcode-failure':
      if (outcome.rcode === 'SERVFAIL')
        return { code: 'servfail', rcode: outcome.rcode, message: 'server failure (SERVFAIL): the server could not get an answer itself' }
      if (outcome.rcode === 'REFUSED')
        return { code: 'refused', rcode: outcome.rcode, message: 'query refused (REFUSED): the server does not answer this query for us' }
      return { code: 'other-rcode', rcode: outcome.rcode, message: `server replied ${outcome.rcode}` }
  }
}

/** "127.0.0.1:53 (udp): timeout ×2; [::1]:53 (udp): refused" — one entry per server and failure kind. */
function summariseFailures(failures: readonly DnsFailure[]): string {
  const groups: Array<{ key: string; text: string; count: number }> = []
  for (const f of failures) {
    const key = `${f.server}|${f.transport}|${f.code}|${f.message}`
    const previous = groups[groups.length - 1]
    if (previous && previous.key === key) previous.count++
    else groups.push({ key, text: `${f.server} (${f.transport}): ${f.message}`, count: 1 })
  }
  return groups.map((g) => (g.count > 1 ? `${g.text} (×${g.count})` : g.text)).join('; ')
}
