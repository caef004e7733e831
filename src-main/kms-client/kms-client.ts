/**
 * The KMS client over TCP: one query = resolve → connect → RPC bind → one or more KMS requests → close.
 *
 *   const result = await queryKmsHost({ host: 'kms.corp.example', requests: { identity, cmid, workstationName } })
 *
 * The conversation is the protocol layer's KmsClientSession (bind offering NDR32 ctx 0 + NDR64 ctx 1 + BTFN as
 * Windows does, alter_context when NDR32 was rejected, first request on NDR32, later ones on NDR64 when it was
 * accepted); this module adds the socket, framing, time limits and typed failures. Every wait is bounded by
 * the phase's time limit or the AbortSignal, so a query always settles. Failures are KmsQueryError with a
 * `phase` and a `code`, and carry the progress made (addresses tried, bind, finished exchanges, RTTs).
 *
 * With several requests, a host may close the connection between them (py-kms after every response, vlmcsd
 * `-d`). As docs/protocol.md §1.3 asks, the client then connects to the same address again, binds again and sends
 * that request there — once per request; `reconnects` and each exchange's `reconnected` record it.
 *
 * A query never invents client identities: the caller passes the CMID (normally the installation's stable
 * one, docs/protocol.md §10.3), and several requests reuse whatever CMIDs the caller gave.
 */
import { DEFAULT_CLIENT_TIMEOUTS as DEFAULTS } from '../common/defaults'
import { randomBytes } from 'node:crypto'
import { promises as dns } from 'node:dns'
import { isIP, type Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import {
  dateToFileTime,
  encodeBaseRequest,
  KmsClientSession,
  makeBaseRequest,
  ncaStatusName,
  ProtocolEncodeError,
  type BaseRequest,
  type BoundInfo,
  type ClientSessionError,
  type FileTime,
  type KmsCallOutcome,
  type KmsClientSessionOptions,
  type KmsRequestParams,
  type RandomSource
} from '../protocol'
import { DEFAULT_KMS_PORT } from '../common/defaults'
import { KmsQueryError, type KmsQueryPhase } from './errors'
import type { AddressAttempt, KmsExchange, KmsQueryProgress, KmsQueryResult } from './result'
import { bounded, connectAddress, defaultConnect, PduChannel, timeoutError, type ConnectFunction } from './socket'

export { isKmsQueryError, KmsQueryError, type KmsQueryErrorCode, type KmsQueryPhase } from './errors'
export type { KmsQueryResult } from './result'
export type { ConnectFunction } from './socket'

/** The values of one KMS request; ClientTime defaults to the wall clock when the request is sent. */
export type KmsQueryRequestParams = Omit<KmsRequestParams, 'clientTime'> & { clientTime?: FileTime }

export interface KmsClientTimeouts {
  /** host name → addresses; default 5000 */
  resolveMs: number
  /** TCP connect, per address; default 3000 */
  connectMs: number
  /** bind → bind_ack (+ alter_context); default 5000 */
  bindMs: number
  /** each request → response; default 5000 */
  requestMs: number
}

/** The settings' defaults (common/defaults); resolving a host name gets the bind/request value. */
export const DEFAULT_CLIENT_TIMEOUTS: Readonly<KmsClientTimeouts> = { resolveMs: DEFAULTS.requestMs, ...DEFAULTS }

export interface ResolvedAddress {
  address: string
  family: 4 | 6
}

/** Host name → addresses in the order to try them (default: dns.promises.lookup with all: true). */
export type LookupFunction = (host: string) => Promise<ResolvedAddress[]>

const defaultLookup: LookupFunction = async (host) => {
  const all = await dns.lookup(host, { all: true, verbatim: true })
  return all.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }))
}

export interface QueryKmsHostOptions {
  /** host name or IP literal (IPv6 without brackets) */
  host: string
  /** default 1688 */
  port?: number
  /**
   * Addresses to try instead of resolving `host` (e.g. from an SRV answer's additional section); `host` is
   * then only a label.
   */
  addresses?: readonly string[]
  /**
   * one request, or several sent in order on one connection (on a new one when the host closed the connection
   * between two of them)
   */
  requests: KmsQueryRequestParams | readonly KmsQueryRequestParams[]
  /** with a single request: send it this many times on the connection (default 1) */
  count?: number
  /** offer only NDR32 in the bind (no NDR64, no BTFN): one context, never an alter_context */
  ndr32Only?: boolean
  /** finer control of the RPC conversation (overrides ndr32Only) */
  session?: KmsClientSessionOptions
  timeouts?: Partial<KmsClientTimeouts>
  signal?: AbortSignal
  /** V5/V6 IV randomness; default crypto.randomBytes */
  random?: RandomSource
  /** wall clock for ClientTime; default new Date() */
  now?: () => Date
  /** monotonic ms clock for RTTs and phase deadlines; default performance.now */
  monotonic?: () => number
  lookup?: LookupFunction
  connect?: ConnectFunction
}

function requestList(options: QueryKmsHostOptions): KmsQueryRequestParams[] {
  const count = options.count ?? 1
  if (!Number.isInteger(count) || count < 1) throw new KmsQueryError('invalid-request', 'setup', `count ${count} is not a positive integer`)
  if (Array.isArray(options.requests)) {
    const list = options.requests as readonly KmsQueryRequestParams[]
    if (options.count !== undefined && options.count !== list.length) {
      throw new KmsQueryError('invalid-request', 'setup', `count ${options.count} given with a list of ${list.length} requests`)
    }
    if (list.length === 0) throw new KmsQueryError('invalid-request', 'setup', 'no request to send')
    return [...list]
  }
  return Array.from({ length: count }, () => options.requests as KmsQueryRequestParams)
}

/** Builds the base request now (ClientTime = wall clock unless given); encoding problems are setup errors. */
function baseRequestOf(params: KmsQueryRequestParams, now: () => Date, index: number): BaseRequest {
  const base = makeBaseRequest({ ...params, clientTime: params.clientTime ?? dateToFileTime(now()) })
  try {
    if (base.majorVer < 4 || base.majorVer > 0xffff)
      throw new ProtocolEncodeError('MajorVer', `protocol ${base.majorVer} is not supported (4, 5, 6)`)
    encodeBaseRequest(base)
  } catch (error) {
    if (error instanceof ProtocolEncodeError) {
      throw new KmsQueryError('invalid-request', 'setup', `request ${index + 1} cannot be sent: ${error.message}`, {
        requestIndex: index,
        field: error.field,
        cause: error
      })
    }
    throw error
  }
  return base
}

function sessionError(error: ClientSessionError, phase: KmsQueryPhase, address: string): KmsQueryError {
  switch (error.kind) {
    case 'bind-rejected':
      return new KmsQueryError('bind-rejected', phase, `${address}: ${error.message}`, { address, bindReason: error.reason })
    case 'rpc-fault':
      return new KmsQueryError('rpc-fault', phase, `${address}: ${error.message}`, {
        address,
        status: error.status,
        statusText: error.statusText,
        statusName: ncaStatusName(error.status)
      })
    case 'protocol-violation':
      return new KmsQueryError('protocol-violation', phase, `${address}: ${error.message}`, {
        address,
        field: error.field,
        offset: error.offset
      })
  }
}

function outcomeError(outcome: Exclude<KmsCallOutcome, { kind: 'response' }>, address: string, index: number): KmsQueryError {
  const requestIndex = index
  switch (outcome.kind) {
    case 'kms-error':
      return new KmsQueryError(
        'kms-error',
        'request',
        `${address}: the host refused the request with ${outcome.hresultText}${outcome.name ? ` ${outcome.name}` : ''}: ${outcome.message}`,
        {
          address,
          hresult: outcome.hresult,
          hresultText: outcome.hresultText,
          hresultName: outcome.name,
          requestIndex
        }
      )
    case 'rpc-fault':
      return new KmsQueryError('rpc-fault', 'request', `${address}: ${outcome.message}`, {
        address,
        status: outcome.status,
        statusText: outcome.statusText,
        statusName: ncaStatusName(outcome.status),
        requestIndex
      })
    case 'verification-failed':
      return new KmsQueryError(
        'verification-failed',
        'request',
        `${address}: invalid KMS response: the '${outcome.failed}' check failed: ${outcome.reason}`,
        {
          address,
          check: outcome.failed,
          checks: outcome.checks,
          requestIndex
        }
      )
    case 'protocol-violation':
      return new KmsQueryError('protocol-violation', 'request', `${address}: the reply is not a valid response PDU: ${outcome.message}`, {
        address,
        field: outcome.field,
        offset: outcome.offset,
        requestIndex
      })
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000
}

/**
 * Sends the request(s) to one KMS host and verifies every response. Resolves with the verified exchanges;
 * rejects only with KmsQueryError (its `progress` says how far the query got).
 */
export async function queryKmsHost(options: QueryKmsHostOptions): Promise<KmsQueryResult> {
  const clock = options.monotonic ?? (() => performance.now())
  const now = options.now ?? (() => new Date())
  const random = options.random ?? ((n: number) => randomBytes(n))
  const timeouts: KmsClientTimeouts = { ...DEFAULT_CLIENT_TIMEOUTS, ...options.timeouts }
  const { signal } = options
  const port = options.port ?? DEFAULT_KMS_PORT
  const started = clock()
  const progress: KmsQueryProgress = {
    host: options.host,
    port,
    address: undefined,
    family: undefined,
    attempts: [],
    bound: undefined,
    exchanges: [],
    timing: { resolveMs: undefined, connectMs: undefined, bindMs: undefined, requestMs: [], totalMs: 0 }
  }
  let channel: PduChannel | undefined
  try {
    if (!Number.isInteger(port) || port < 1 || port > 65_535)
      throw new KmsQueryError('invalid-request', 'setup', `port ${port} is not a TCP port (1-65535)`)
    const params = requestList(options)
    // Validate every request before touching the network, so a bad value costs no connection.
    params.forEach((p, i) => baseRequestOf(p, now, i))
    if (signal?.aborted) throw new KmsQueryError('aborted', 'setup', 'query aborted before it started')

    const addresses = await resolveAddresses(options, timeouts.resolveMs, progress, clock)
    const connected = await connectFirst(options, addresses, timeouts.connectMs, progress, clock)
    channel = new PduChannel(connected.socket, connected.address)
    progress.address = connected.address
    progress.family = connected.family
    progress.reconnects = 0

    const sessionOptions = options.session ?? (options.ndr32Only ? { offerNdr64: false, offerBtfn: false } : {})
    const bindStart = clock()
    const first = await bindChannel(channel, sessionOptions, timeouts.bindMs, signal, connected.address, clock)
    progress.bound = first.info
    progress.timing.bindMs = round(clock() - bindStart)
    let session = first.session
    /** requests answered on the current connection: only then can a close be "between requests" */
    let answeredHere = 0

    // A new connection to the same address, bound again (docs/protocol.md §1.3). Not an address attempt: the
    // address was already chosen; the bind is not timed into timing.bindMs.
    const reconnect = async (): Promise<void> => {
      channel?.close()
      channel = undefined
      progress.reconnects = (progress.reconnects ?? 0) + 1
      const target = { host: connected.address, port, family: connected.family }
      const socket = await connectAddress(options.connect ?? defaultConnect, target, timeouts.connectMs, signal)
      socket.setNoDelay(true)
      channel = new PduChannel(socket, connected.address)
      session = (await bindChannel(channel, sessionOptions, timeouts.bindMs, signal, connected.address, clock)).session
      answeredHere = 0
    }

    // ---- requests
    for (let i = 0; i < params.length; i++) {
      const base = baseRequestOf(params[i]!, now, i)
      let reconnected = false
      let sentAt: number
      let reply: Uint8Array
      for (;;) {
        const current: PduChannel = channel!
        // Each request may reconnect once, and only when the connection had already answered a request: the
        // retried request is the first on the fresh connection, so a host that closes that one too fails the
        // query (no loop), and a host that closes right after the bind is never retried.
        const mayReconnect = !reconnected && answeredHere > 0
        if (mayReconnect && current.closedByHost) {
          // The close arrived while idle, before we wrote the request.
          await reconnect()
          reconnected = true
          continue
        }
        sentAt = clock()
        const receivedBefore = current.bytesReceived
        current.write(session.request(base, random))
        try {
          reply = await current.next('request', timeouts.requestMs, signal)
        } catch (error) {
          // The host closed (or reset, as a closed socket answers our bytes) without a single byte of an answer.
          // The request can have crossed the host's close on the wire, so this is still a close between requests;
          // a close after part of the answer arrived is a failure in the middle of the exchange.
          if (
            mayReconnect &&
            error instanceof KmsQueryError &&
            (error.code === 'connection-closed' || error.code === 'connection-reset') &&
            current.closedByHost &&
            current.bytesReceived === receivedBefore
          ) {
            await reconnect()
            reconnected = true
            continue
          }
          throw error
        }
        break
      }
      const step = session.receive(reply)
      const rttMs = round(clock() - sentAt)
      progress.timing.requestMs.push(rttMs)
      if (step.kind === 'failed') throw sessionError(step.error, 'request', connected.address)
      if (step.kind !== 'result') {
        throw new KmsQueryError(
          'protocol-violation',
          'request',
          `${connected.address}: unexpected session step '${step.kind}' after a request`,
          { address: connected.address, requestIndex: i }
        )
      }
      const outcome = step.outcome
      if (outcome.kind !== 'response') throw outcomeError(outcome, connected.address, i)
      answeredHere++
      const exchange: KmsExchange = {
        index: i,
        request: {
          base,
          callId: outcome.call.callId,
          contextId: outcome.call.contextId,
          syntax: outcome.call.syntax,
          iv: outcome.call.request.iv
        },
        response: outcome.response,
        countSufficient: outcome.countSufficient,
        checks: outcome.checks,
        rttMs,
        reconnected
      }
      progress.exchanges.push(exchange)
    }
    progress.timing.totalMs = round(clock() - started)
    return progress as KmsQueryResult
  } catch (error) {
    progress.timing.totalMs = round(clock() - started)
    if (error instanceof KmsQueryError) {
      error.progress = progress
      throw error
    }
    throw error
  } finally {
    channel?.close()
  }
}

/** RPC bind (and alter_context) on a fresh connection; a new session per connection (call_ids start over). */
async function bindChannel(
  channel: PduChannel,
  sessionOptions: KmsClientSessionOptions,
  bindMs: number,
  signal: AbortSignal | undefined,
  address: string,
  clock: () => number
): Promise<{ session: KmsClientSession; info: BoundInfo }> {
  const session = new KmsClientSession(sessionOptions)
  const bindStart = clock()
  channel.write(session.bind())
  for (;;) {
    const left = bindMs - (clock() - bindStart)
    if (left <= 0) throw timeoutError('bind', bindMs, address)
    const pdu = await channel.next('bind', left, signal, bindMs)
    const step = session.receive(pdu)
    if (step.kind === 'send') {
      channel.write(step.pdu)
      continue
    }
    if (step.kind === 'bound') return { session, info: step.info }
    if (step.kind === 'failed') throw sessionError(step.error, 'bind', address)
    throw new KmsQueryError('protocol-violation', 'bind', `${address}: unexpected session step '${step.kind}' while binding`, { address })
  }
}

async function resolveAddresses(
  options: QueryKmsHostOptions,
  timeoutMs: number,
  progress: KmsQueryProgress,
  clock: () => number
): Promise<ResolvedAddress[]> {
  const given = options.addresses
  if (given !== undefined) {
    const list: ResolvedAddress[] = []
    for (const address of given) {
      const family = isIP(address)
      if (family === 0) throw new KmsQueryError('invalid-request', 'setup', `'${address}' is not an IP address`)
      list.push({ address, family: family === 6 ? 6 : 4 })
    }
    if (list.length === 0) throw new KmsQueryError('dns-failed', 'resolve', `no address given for ${options.host}`)
    return list
  }
  const literal = isIP(options.host)
  if (literal !== 0) return [{ address: options.host, family: literal === 6 ? 6 : 4 }]

  const lookup = options.lookup ?? defaultLookup
  const start = clock()
  try {
    const found = await bounded<ResolvedAddress[]>('resolve', timeoutMs, options.signal, undefined, (resolve, reject) => {
      lookup(options.host).then(resolve, (error: unknown) => {
        const osCode = error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined
        const why =
          osCode === 'ENOTFOUND'
            ? 'the name does not exist'
            : osCode === 'EAI_AGAIN'
              ? 'the DNS server did not answer (temporary failure)'
              : error instanceof Error
                ? error.message
                : String(error)
        reject(
          new KmsQueryError('dns-failed', 'resolve', `cannot resolve ${options.host}: ${why}${osCode ? ` (${osCode})` : ''}`, {
            osCode,
            cause: error
          })
        )
      })
      return () => {}
    })
    const usable = found.filter((a) => isIP(a.address) !== 0)
    if (usable.length === 0) throw new KmsQueryError('dns-failed', 'resolve', `${options.host} resolved to no address`)
    return usable
  } finally {
    progress.timing.resolveMs = round(clock() - start)
  }
}

async function connectFirst(
  options: QueryKmsHostOptions,
  addresses: ResolvedAddress[],
  timeoutMs: number,
  progress: KmsQueryProgress,
  clock: () => number
): Promise<ResolvedAddress & { socket: Socket }> {
  const connect = options.connect ?? defaultConnect
  const port = options.port ?? DEFAULT_KMS_PORT
  let last: KmsQueryError | undefined
  for (const target of addresses) {
    const start = clock()
    try {
      const socket = await connectAddress(connect, { host: target.address, port, family: target.family }, timeoutMs, options.signal)
      socket.setNoDelay(true)
      const ms = round(clock() - start)
      progress.attempts.push({ address: target.address, family: target.family, outcome: 'connected', message: undefined, ms })
      progress.timing.connectMs = ms
      return { ...target, socket }
    } catch (error) {
      if (!(error instanceof KmsQueryError)) throw error
      const attempt: AddressAttempt = {
        address: target.address,
        family: target.family,
        outcome: error.code,
        message: error.message,
        ms: round(clock() - start)
      }
      progress.attempts.push(attempt)
      if (error.code === 'aborted') throw error
      last = error
    }
  }
  throw last ?? new KmsQueryError('dns-failed', 'resolve', `no address to connect to for ${options.host}`)
}
