/**
 * LabHost: the optional local KMS host for test and development labs (v4, v5, v6 over DCE/RPC on TCP), in plain
 * Node. It answers like a genuine host — the Count rises only with distinct client machines (lab-host-count) —
 * keeps every request in the SQLite client log, and holds up under abuse (docs/lab-host.md).
 *
 *   const host = new LabHost({ listen: ['127.0.0.1:0'], dbPath, identity })
 *   host.on('request-logged', (e) => …)
 *   const addresses = await host.start()
 *   …
 *   await host.stop()            // graceful: in-flight exchanges finish (bounded), then everything closes
 *
 * Off until started; 127.0.0.1:1688 by default; any non-loopback address must be listed explicitly and produces
 * a warning event. Limits (all options): at most `maxConnections` open connections — one more is refused at once
 * (reset, never queued) and counted; per connection the deadline, PDU size and PDU count of LabHostConnection.
 * Every error is contained to its connection; nothing here lets a promise rejection or exception escape.
 *
 * Clock and randomness are injected (`now`, `random`); the defaults are Date.now and crypto.randomBytes.
 *
 * With `workers` the host also serves from worker processes that share its listening sockets; the count and the
 * client log stay here, reached through the ledger (workers.ts, docs/lab-host.md "Using both cores").
 * A worker process runs a LabHost too, built with `ledger` and `servers` instead of a log and addresses.
 */
import { randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:net'
import { ClientLog, type ClientLogStore } from '../storage/client-log'
import { ClientLogThread } from '../storage/client-log-threaded'
import { BindReplyCache, productCatalog, formatHwid, type ProductCatalog, type RandomSource } from '../protocol/index'
import { CountPolicy, seedFromLog, type LabHostCountMode } from './count'
import { isLoopback, parseListenAddress, type ListenAddress } from './config'
import { formatHostPort } from '../common/host-port'
import { LabHostConnection, type ConnectionDeadline, type ConnectionOptions, type ConnectionTransport } from './connection'
import {
  addCounters,
  copyCounters,
  emptyCounters,
  LabHostEmitter,
  resetCounters,
  type LabHostAddress,
  type LabHostCounters,
  type LabHostEventName,
  type LabHostListener
} from './events'
import type { LabHostIdentity } from './identity'
import { CatalogNames, LocalLedger, type LabHostLedger } from './ledger'
import { FORWARDABLE_EVENTS } from './worker-messages'
import { LabHostWorkerPool, MAX_WORKERS, type LabHostWorkers } from './workers'
import { LabHostResponder } from './responder'
import { AddressLimits } from './address-limits'
import {
  DEFAULT_ACTIVATION_INTERVAL_MIN,
  DEFAULT_RENEWAL_INTERVAL_MIN,
  INTERVAL_RANGE_MIN,
  LAB_HOST_DEFAULTS,
  LAB_HOST_RANGES
} from '../common/defaults'

/** The host's own defaults; those a setting or a flag can change come from common/defaults. */
const HOST_DEFAULTS = {
  listen: LAB_HOST_DEFAULTS.listen,
  activationInterval: DEFAULT_ACTIVATION_INTERVAL_MIN,
  renewalInterval: DEFAULT_RENEWAL_INTERVAL_MIN,
  maxConnections: LAB_HOST_DEFAULTS.maxConnections,
  exchangeTimeoutMs: LAB_HOST_DEFAULTS.exchangeTimeoutS * 1000,
  maxPduBytes: LAB_HOST_DEFAULTS.maxPduBytes,
  maxPdusPerConnection: 1024,
  retentionDays: LAB_HOST_DEFAULTS.retentionDays,
  maxLogBytes: LAB_HOST_DEFAULTS.maxLogMiB * 1048576,
  maxConnectionsPerAddress: LAB_HOST_DEFAULTS.maxConnectionsPerAddress,
  maxRequestsPerSecondPerAddress: LAB_HOST_DEFAULTS.maxRequestsPerSecondPerAddress,
  purgeIntervalMs: 3_600_000,
  logGroupWindowMs: 1
} as const

export interface LabHostOptions {
  /** `IP[:PORT]` strings or parsed addresses; default 127.0.0.1:1688; port 0 = ephemeral */
  listen?: ReadonlyArray<string | ListenAddress>
  /** client log file, opened by start() and closed by stop() … */
  dbPath?: string
  /** … or an open client log owned by the caller (not closed by stop()) */
  clientLog?: ClientLogStore
  /**
   * Where the client log opened from `dbPath` does its SQLite work: 'inline' (default) on this thread (ClientLog);
   * 'thread' on a writer thread of its own (ClientLogThread), so commits and WAL writes never hold up the sockets.
   * Inline is the default because it measured faster in bench/host.ts on the 2-core machine (interleaved rounds:
   * 0.85 vs 0.70 of the trivial server at 16 clients): handing each turn's batch to the thread (a postMessage of
   * one or two entries) cost the serving thread about what the commit it saved did (docs/lab-host.md).
   */
  logWriter?: 'thread' | 'inline'
  /** retention when opening `dbPath`; default 30 days */
  retentionDays?: number
  /** size cap of the client log opened from `dbPath`, bytes: past it the oldest records go; default 64 MiB */
  maxLogBytes?: number
  /** client-log durability when opening `dbPath` (see ClientLog); default 'process' (survives kill -9) */
  durability?: 'process' | 'power'
  /**
   * ClientLog group-commit window when opening `dbPath`, ms (0 = the same event-loop turn only). Default with
   * `logWriter: 'inline'` 1: under load a commit then carries several requests (measured: ~10 % more exchanges/s in
   * bench/host.ts); a client waits at most about a millisecond longer, which no KMS client notices. Default on the
   * writer thread 0: there a commit does not hold up the sockets, and requests that arrive meanwhile queue up into
   * the next one anyway.
   */
  logGroupWindowMs?: number
  /**
   * Serve with worker processes besides this one, so the host uses more than one core (workers.ts).
   * Needs `dbPath` or `clientLog`; the workers use the built-in catalog, the real clock and crypto randomness.
   * With workers, each of the 1 + count processes enforces its share of `maxConnections`.
   */
  workers?: LabHostWorkers
  /** For worker processes (worker.ts): the owner's ledger over IPC, instead of a client log. */
  ledger?: LabHostLedger
  /** For worker processes: listening sockets handed over by the owner, instead of `listen`. */
  servers?: ReadonlyArray<{ server: Server; address: LabHostAddress }>
  /** ePIDs per CSVLK group and HwId (see loadLabHostIdentity) */
  identity: LabHostIdentity
  /** default 'real' */
  countMode?: LabHostCountMode
  /** minutes, 15–43200; defaults 120 / 10080 */
  activationInterval?: number
  renewalInterval?: number
  /** default 256 */
  maxConnections?: number
  /** connections one client address may hold at once (default 32); more are refused at once */
  maxConnectionsPerAddress?: number
  /** KMS requests per second one client address may send, bursts of twice that (default 200; 0 = no limit) */
  maxRequestsPerSecondPerAddress?: number
  /** per-exchange deadline and idle timeout; default 30 s */
  exchangeTimeoutMs?: number
  /** largest PDU accepted; default 4096 */
  maxPduBytes?: number
  /** PDUs per connection before it is closed; default 1024 */
  maxPdusPerConnection?: number
  /** how long stop() lets in-flight exchanges finish; default exchangeTimeoutMs */
  drainTimeoutMs?: number
  /** how often expired log rows are purged; default 1 h */
  purgeIntervalMs?: number
  /** answer NDR64 like the captured host (default true) / BTFN (default true) — see KmsHostSession */
  ndr64?: boolean
  btfn?: boolean
  catalog?: ProductCatalog
  random?: RandomSource
  /** epoch ms */
  now?: () => number
}

/**
 * What the host needs of an accepted connection: a net.Socket, or an in-process stand-in with the same events
 * ('data', 'end', 'error', 'close').
 */
export interface LabHostTransport extends ConnectionTransport {
  readonly remoteAddress?: string | undefined
  readonly remotePort?: number | undefined
  readonly localPort?: number | undefined
  /** net.Socket's: send a TCP reset instead of a FIN */
  resetAndDestroy?: () => unknown
  on(event: 'data', listener: (chunk: Buffer) => void): unknown
  on(event: 'end', listener: () => void): unknown
  on(event: 'close', listener: (hadError: boolean) => void): unknown
  on(event: 'error', listener: (err: Error) => void): unknown
}

export type LabHostState = 'stopped' | 'starting' | 'running' | 'stopping'

/** One host key as the status shows it. */
export interface HostKeyView {
  csvlkId: string
  name: string
  epid: string
  /** application names it serves ("Windows", "Office2013+") */
  applications: string[]
}

/** The identity as it travels to a worker process: keys by activation ID (the worker finds them in its catalog). */
export interface SerializedIdentity {
  keys: Array<{ csvlkId: string; epid: string }>
  hwid: string
}

export interface LabHostStatus {
  state: LabHostState
  addresses: LabHostAddress[]
  /** epoch ms of the last start, null when stopped */
  startedAtMs: number | null
  countMode: LabHostCountMode
  activationInterval: number
  renewalInterval: number
  limits: { maxConnections: number; exchangeTimeoutMs: number; maxPduBytes: number; maxPdusPerConnection: number }
  /** the host keys it holds (each with its ePID and the applications it serves) and the HwId */
  identity: { keys: HostKeyView[]; hwid: string }
  clientLog: { file: string | null; pendingWrites: number }
  /** the running worker processes and their own counters (empty without workers; at most 250 ms old) */
  workers: Array<{ pid: number; counters: LabHostCounters }>
  /** this process's and its workers' counters added up */
  counters: LabHostCounters
}

/** start() failed: which address and why (e.g. EADDRINUSE, EACCES, EADDRNOTAVAIL). */
export class LabHostListenError extends Error {
  override name = 'LabHostListenError'
  constructor(
    readonly address: string,
    readonly code: string | undefined,
    message: string
  ) {
    super(message)
  }
}

/** crypto.randomBytes in 4 KiB batches: one system call per ~100 V6 responses instead of two per response. */
function pooledRandom(poolSize = 4096): RandomSource {
  let pool = randomBytes(poolSize)
  let at = 0
  return (n) => {
    if (n > poolSize) return randomBytes(n)
    if (at + n > poolSize) {
      pool = randomBytes(poolSize)
      at = 0
    }
    const out = pool.subarray(at, at + n)
    at += n
    // a copy, so no caller can see bytes handed to another
    return Uint8Array.prototype.slice.call(out)
  }
}

/**
 * A connection's deadline as a time the host's one sweep checks (DeadlineSweep): a Node timer per connection cost a
 * timer-list insert and a closure per connection in host profiles, and nothing needs a deadline to the millisecond.
 */
class SweptDeadline implements ConnectionDeadline {
  /** performance.now() when it expires; Infinity while stopped */
  at = Infinity
  connection: LabHostConnection | undefined
  constructor(private readonly ms: number) {}

  restart(): void {
    this.at = performance.now() + this.ms
  }

  stop(): void {
    this.at = Infinity
  }
}

/**
 * One timer for every connection's deadline: every tenth of the deadline (5 ms–1 s) it expires the connections
 * whose time has passed, so a deadline fires at most about 10 % late. It walks the host's own table of open
 * connections (`deadlines`), so there is no second set to keep in step at accept and close.
 */
class DeadlineSweep {
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly ms: number,
    private readonly deadlines: () => Iterable<SweptDeadline>
  ) {}

  start(): void {
    if (this.timer) return
    this.timer = setInterval(() => this.sweep(), Math.min(1000, Math.max(5, Math.floor(this.ms / 10))))
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  private sweep(): void {
    const now = performance.now()
    for (const d of this.deadlines()) if (d.at <= now) d.connection?.expire()
  }
}

function checkRange(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${name} must be an integer ${min}–${max}, got ${value}`)
  return value
}

export class LabHost {
  private readonly emitter = new LabHostEmitter()
  private readonly counters = emptyCounters()
  private readonly listen: ListenAddress[]
  private readonly now: () => number
  private readonly random: RandomSource
  private readonly catalog: ProductCatalog
  private readonly countMode: LabHostCountMode
  private readonly activationInterval: number
  private readonly renewalInterval: number
  private readonly maxConnections: number
  /** this process's limit: maxConnections, or its share of it when there are workers */
  private readonly connectionLimit: number
  /** this process's share of the connections one address may hold */
  private readonly perAddressLimit: number
  /** this process's share of the requests per second one address may send (0 = no limit) */
  private readonly requestRateShare: number
  /** connections and request rate per client address */
  private readonly addressLimits: AddressLimits
  private pool: LabHostWorkerPool | undefined
  private readonly exchangeTimeoutMs: number
  private readonly maxPduBytes: number
  private readonly maxPdusPerConnection: number
  private readonly drainTimeoutMs: number
  private readonly purgeIntervalMs: number
  private hostState: LabHostState = 'stopped'
  private servers: Server[] = []
  private bound: LabHostAddress[] = []
  /** the open connections, each with its deadline (checked by `sweep`) */
  private readonly connections = new Map<LabHostConnection, SweptDeadline>()
  private readonly sweep: DeadlineSweep
  private log: ClientLogStore | undefined
  private ownsLog = false
  private responder: LabHostResponder | undefined
  private policy: CountPolicy | undefined
  private purgeTimer: NodeJS.Timeout | undefined
  private startedAtMs: number | null = null
  private assocGroupId: number
  /** bind answers shared by this host's connections (KmsHostSessionOptions.bindCache) */
  private readonly bindCache = new BindReplyCache()
  /** product names by GUID for log rows and events (responder and ledger) */
  private readonly names: CatalogNames
  private stopping: Promise<void> | undefined
  /** the client log's size cap was reached and reported in this run */
  private logCapReported = false
  private allClosed: (() => void) | undefined

  constructor(private readonly options: LabHostOptions) {
    const stores = [options.dbPath, options.clientLog, options.ledger].filter((x) => x !== undefined).length
    if (stores !== 1) throw new TypeError('LabHost needs exactly one of dbPath, clientLog and ledger')
    const workers = options.workers?.count ?? 0
    if (workers !== 0) {
      checkRange('workers', workers, 0, MAX_WORKERS)
      if (options.ledger) throw new TypeError('a worker cannot have workers of its own')
      if (options.catalog || options.now || options.random)
        throw new TypeError('workers use the built-in catalog, clock and randomness; leave catalog, now and random unset')
    }
    const listen = options.servers ? options.servers.map((s) => s.address) : (options.listen ?? [HOST_DEFAULTS.listen])
    if (listen.length === 0) throw new RangeError('LabHost needs at least one listen address')
    this.listen = listen.map((entry) => {
      if (typeof entry !== 'string') {
        checkRange('listen port', entry.port, 0, 65_535)
        return { address: entry.address, port: entry.port }
      }
      const parsed = parseListenAddress(entry)
      if (typeof parsed === 'string') throw new RangeError(parsed)
      return parsed
    })
    this.now = options.now ?? Date.now
    this.random = options.random ?? pooledRandom()
    this.catalog = options.catalog ?? productCatalog
    this.names = new CatalogNames(this.catalog)
    const mode = options.countMode ?? 'real'
    if (mode !== 'real') checkRange('fixed count', mode.fixed, 0, 0xffff_ffff)
    this.countMode = mode
    this.activationInterval = checkRange(
      'activationInterval',
      options.activationInterval ?? HOST_DEFAULTS.activationInterval,
      INTERVAL_RANGE_MIN.min,
      INTERVAL_RANGE_MIN.max
    )
    this.renewalInterval = checkRange(
      'renewalInterval',
      options.renewalInterval ?? HOST_DEFAULTS.renewalInterval,
      INTERVAL_RANGE_MIN.min,
      INTERVAL_RANGE_MIN.max
    )
    this.maxConnections = checkRange('maxConnections', options.maxConnections ?? HOST_DEFAULTS.maxConnections, 1, 1_000_000)
    this.connectionLimit = Math.max(1, Math.floor(this.maxConnections / (1 + workers)))
    // Each process keeps its own per-address books, so each enforces its share, like the connection limit.
    const perAddress = checkRange(
      'maxConnectionsPerAddress',
      options.maxConnectionsPerAddress ?? HOST_DEFAULTS.maxConnectionsPerAddress,
      1,
      1_000_000
    )
    const rate = checkRange(
      'maxRequestsPerSecondPerAddress',
      options.maxRequestsPerSecondPerAddress ?? HOST_DEFAULTS.maxRequestsPerSecondPerAddress,
      0,
      1_000_000
    )
    this.perAddressLimit = Math.max(1, Math.floor(perAddress / (1 + workers)))
    this.requestRateShare = rate === 0 ? 0 : Math.max(1, Math.floor(rate / (1 + workers)))
    this.addressLimits = new AddressLimits(this.perAddressLimit, this.requestRateShare)
    this.exchangeTimeoutMs = checkRange('exchangeTimeoutMs', options.exchangeTimeoutMs ?? HOST_DEFAULTS.exchangeTimeoutMs, 1, 3_600_000)
    this.sweep = new DeadlineSweep(this.exchangeTimeoutMs, () => this.connections.values())
    // 16 bytes of header is the least (tests use tiny limits); the upper bound is the one settings and flags use.
    this.maxPduBytes = checkRange('maxPduBytes', options.maxPduBytes ?? HOST_DEFAULTS.maxPduBytes, 16, LAB_HOST_RANGES.maxPduBytes.max)
    this.maxPdusPerConnection = checkRange(
      'maxPdusPerConnection',
      options.maxPdusPerConnection ?? HOST_DEFAULTS.maxPdusPerConnection,
      1,
      1_000_000_000
    )
    this.drainTimeoutMs = checkRange('drainTimeoutMs', options.drainTimeoutMs ?? this.exchangeTimeoutMs, 0, 3_600_000)
    this.purgeIntervalMs = checkRange('purgeIntervalMs', options.purgeIntervalMs ?? HOST_DEFAULTS.purgeIntervalMs, 1000, 2_147_483_647)
    if (options.identity.keys.length === 0) throw new RangeError('the identity holds no host key')
    if (options.identity.hwid.byteLength !== 8) throw new RangeError('the HwId must be 8 bytes')
    // vlmcsd starts from a random assoc_group_id and adds 1 per connection.
    const r = this.random(4)
    this.assocGroupId = ((r[0]! << 24) | (r[1]! << 16) | (r[2]! << 8) | r[3]!) >>> 0
  }

  get state(): LabHostState {
    return this.hostState
  }

  /** The addresses actually bound (real ports), empty unless running. */
  get addresses(): LabHostAddress[] {
    return this.bound.map((a) => ({ ...a }))
  }

  /** The client log in use (while running). */
  get clientLog(): ClientLogStore | undefined {
    return this.log
  }

  /** Subscribe to an event; returns the function that unsubscribes. */
  on<E extends LabHostEventName>(event: E, listener: LabHostListener<E>): () => void {
    return this.emitter.on(event, listener)
  }

  /** A snapshot (copies; safe to keep or send over IPC). */
  status(): LabHostStatus {
    return {
      state: this.hostState,
      addresses: this.addresses,
      startedAtMs: this.startedAtMs,
      countMode: this.countMode === 'real' ? 'real' : { fixed: this.countMode.fixed },
      activationInterval: this.activationInterval,
      renewalInterval: this.renewalInterval,
      limits: {
        maxConnections: this.maxConnections,
        exchangeTimeoutMs: this.exchangeTimeoutMs,
        maxPduBytes: this.maxPduBytes,
        maxPdusPerConnection: this.maxPdusPerConnection
      },
      identity: {
        keys: this.options.identity.keys.map((k) => ({
          csvlkId: k.csvlk.id ?? '',
          name: k.csvlk.name,
          epid: k.epid,
          applications: this.catalog.csvlkApplicationIds(k.csvlk).map((id) => this.catalog.applicationById(id)?.name ?? id)
        })),
        hwid: formatHwid(this.options.identity.hwid)
      },
      clientLog: { file: this.log?.file ?? this.options.dbPath ?? null, pendingWrites: this.log?.pendingCount ?? 0 },
      workers: this.pool?.running() ?? [],
      counters: this.pool ? addCounters(copyCounters(this.counters), this.pool.counters()) : copyCounters(this.counters)
    }
  }

  /**
   * Opens the client log (when given a path), rebuilds the counts from it, and listens on every address. Resolves
   * with the bound addresses. If any address fails, nothing stays open and LabHostListenError is thrown.
   */
  async start(): Promise<LabHostAddress[]> {
    if (this.hostState !== 'stopped') throw new Error(`start() while ${this.hostState}`)
    this.hostState = 'starting'
    // counters describe the current run
    resetCounters(this.counters)
    this.logCapReported = false
    try {
      const ledger = this.options.ledger ?? (await this.openLedger())
      this.responder = new LabHostResponder({
        ledger,
        names: this.names,
        identity: this.options.identity,
        catalog: this.catalog,
        activationInterval: this.activationInterval,
        renewalInterval: this.renewalInterval,
        random: this.random,
        now: this.now,
        emitter: this.emitter,
        counters: this.counters
      })
      if (this.options.servers) for (const { server, address } of this.options.servers) this.bound.push(this.adopt(server, address))
      else for (const address of this.listen) this.bound.push(await this.listenOn(address))
      if (this.options.workers && this.options.workers.count > 0) {
        this.pool = await this.startWorkers(this.options.workers, ledger)
      }
    } catch (err) {
      await this.closeServers()
      await this.closeLog()
      this.bound = []
      this.hostState = 'stopped'
      throw err
    }
    if (!this.options.ledger) {
      this.purgeTimer = setInterval(() => this.purge(), this.purgeIntervalMs)
      this.purgeTimer.unref()
    }
    this.sweep.start()
    this.startedAtMs = this.now()
    this.hostState = 'running'
    this.emitter.emit('started', { addresses: this.addresses })
    for (const a of this.bound) {
      // a worker's sockets are the owner's, which has already warned
      if (!a.loopback && !this.options.servers) {
        this.emitter.emit('warning', {
          code: 'non-loopback',
          message: `listening on ${a.text}, which other machines can reach: this is a lab fixture — keep it off production networks and never use it for unlicensed activation`
        })
      }
    }
    return this.addresses
  }

  /**
   * Graceful stop: stop accepting, close idle connections, let in-flight exchanges finish (up to drainTimeoutMs),
   * then close the rest, the listeners and (if we opened it) the client log. Safe to call repeatedly.
   */
  stop(): Promise<void> {
    if (this.hostState === 'stopped') return Promise.resolve()
    if (this.stopping) return this.stopping
    this.stopping = this.stopNow().finally(() => {
      this.stopping = undefined
    })
    return this.stopping
  }

  private async stopNow(): Promise<void> {
    while (this.hostState === 'starting') await new Promise((resolve) => setImmediate(resolve))
    if (this.hostState === 'stopped') return
    this.hostState = 'stopping'
    const serversClosed = this.closeServers()
    // Workers drain like this process does; the log stays open until they have finished (they store through it).
    const workersStopped = this.pool?.stop(this.drainTimeoutMs + 5000)
    let inFlight = 0
    for (const c of this.connections.keys()) if (c.inFlight) inFlight++
    this.emitter.emit('stopping', { inFlight, open: this.connections.size })
    const drained = new Promise<void>((resolve) => {
      this.allClosed = resolve
    })
    for (const c of [...this.connections.keys()]) c.drain()
    if (this.connections.size === 0) this.allClosed?.()
    let timer: NodeJS.Timeout | undefined
    const timedOut = await Promise.race([
      drained.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), this.drainTimeoutMs)
      })
    ])
    clearTimeout(timer)
    const abandoned = timedOut ? this.connections.size : 0
    if (timedOut) {
      for (const c of [...this.connections.keys()]) c.abort('stopping', 'the graceful-stop deadline passed')
      await drained
    }
    this.allClosed = undefined
    await serversClosed
    if (workersStopped) {
      await workersStopped
      addCounters(this.counters, this.pool!.counters())
      this.pool = undefined
      this.emitter.onSubscriptionsChanged = undefined
    }
    this.sweep.stop()
    if (this.purgeTimer) clearInterval(this.purgeTimer)
    this.purgeTimer = undefined
    await this.closeLog()
    this.bound = []
    this.startedAtMs = null
    this.hostState = 'stopped'
    this.emitter.emit('stopped', { drained: !timedOut, abandoned, counters: copyCounters(this.counters) })
  }

  /** Opens the client log and rebuilds the counts from it. */
  private async openLedger(): Promise<LabHostLedger> {
    await this.openLog()
    const log = this.log!
    const policy = new CountPolicy(this.countMode, log)
    await seedFromLog(policy.highest, log, this.now())
    this.policy = policy
    return new LocalLedger(log, policy, this.names, this.emitter, this.now)
  }

  private async startWorkers(workers: LabHostWorkers, ledger: LabHostLedger): Promise<LabHostWorkerPool> {
    const subscribed = (): LabHostEventName[] => FORWARDABLE_EVENTS.filter((name) => this.emitter.has(name))
    const pool = await LabHostWorkerPool.start({
      workers,
      servers: this.servers.map((server, i) => ({ server, address: this.bound[i]! })),
      ledger,
      emitter: this.emitter,
      init: {
        identity: serializeIdentity(this.options.identity),
        countMode: this.countMode,
        activationInterval: this.activationInterval,
        renewalInterval: this.renewalInterval,
        maxConnections: this.connectionLimit,
        maxConnectionsPerAddress: this.perAddressLimit,
        maxRequestsPerSecondPerAddress: this.requestRateShare,
        exchangeTimeoutMs: this.exchangeTimeoutMs,
        maxPduBytes: this.maxPduBytes,
        maxPdusPerConnection: this.maxPdusPerConnection,
        drainTimeoutMs: this.drainTimeoutMs,
        ndr64: this.options.ndr64 ?? true,
        btfn: this.options.btfn ?? true,
        forward: subscribed()
      }
    })
    this.emitter.onSubscriptionsChanged = () => pool.forward(subscribed())
    return pool
  }

  /** Serves a listening socket handed over by the owner process (workers). */
  private adopt(server: Server, address: LabHostAddress): LabHostAddress {
    this.servers.push(server)
    server.on('error', (err) => this.emitter.emit('error', { scope: 'listener', message: `${address.text}: ${err.message}` }))
    server.on('connection', (socket) => this.acceptTransport(socket, address.port))
    return { ...address }
  }

  private async openLog(): Promise<void> {
    if (this.options.clientLog) {
      this.log = this.options.clientLog
      this.ownsLog = false
      return
    }
    const open = this.options.logWriter === 'thread' ? ClientLogThread.open : ClientLog.open
    const log = await open(this.options.dbPath!, {
      retentionDays: this.options.retentionDays ?? HOST_DEFAULTS.retentionDays,
      now: this.now,
      durability: this.options.durability ?? 'process',
      // On the writer thread a commit no longer costs the serving thread, so it commits as soon as it can.
      groupWindowMs: this.options.logGroupWindowMs ?? (this.options.logWriter === 'thread' ? 0 : HOST_DEFAULTS.logGroupWindowMs),
      maxSizeBytes: this.options.maxLogBytes ?? HOST_DEFAULTS.maxLogBytes,
      onSizeCapPruned: ({ rows, capBytes }) => {
        // said once per run: under a flood it would otherwise repeat every few seconds
        if (this.logCapReported) return
        this.logCapReported = true
        this.emitter.emit('warning', {
          code: 'client-log-cap',
          message: `the client log reached its cap of ${Math.round(capBytes / 1048576)} MiB: the oldest ${rows} records were removed, and older records keep being removed as new ones arrive (this is said once)`
        })
      }
    })
    this.log = log
    this.ownsLog = true
    for (const message of log.openWarnings) this.emitter.emit('warning', { code: 'client-log', message })
  }

  private async closeLog(): Promise<void> {
    const log = this.log
    this.log = undefined
    this.responder = undefined
    this.policy = undefined
    if (log && this.ownsLog) {
      try {
        await log.close()
      } catch (err) {
        this.emitter.emit('error', {
          scope: 'client-log',
          message: `closing the client log failed: ${err instanceof Error ? err.message : String(err)}`
        })
      }
    }
  }

  private listenOn(address: ListenAddress): Promise<LabHostAddress> {
    const text = formatHostPort(address.address, address.port)
    const server = createServer({ allowHalfOpen: true, noDelay: true })
    this.servers.push(server)
    return new Promise<LabHostAddress>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(new LabHostListenError(text, err.code, `cannot listen on ${text}: ${err.code ?? ''} ${err.message}`.replace(/\s+/g, ' ')))
      }
      server.once('error', onError)
      // ipv6Only: [::] must not also take IPv4, so 0.0.0.0 and [::] can both be listed.
      server.listen({ host: address.address, port: address.port, ipv6Only: address.address.includes(':'), exclusive: true }, () => {
        server.off('error', onError)
        server.on('error', (err) => this.emitter.emit('error', { scope: 'listener', message: `${text}: ${err.message}` }))
        const info = server.address()
        if (info === null || typeof info === 'string') {
          reject(new LabHostListenError(text, undefined, `cannot read the bound address of ${text}`))
          return
        }
        const port = info.port
        server.on('connection', (socket) => this.acceptTransport(socket, port))
        const family = info.family === 'IPv6' ? 6 : 4
        resolve({
          address: info.address,
          port: info.port,
          family,
          text: formatHostPort(info.address, info.port),
          loopback: isLoopback(info.address)
        })
      })
    })
  }

  private closeServers(): Promise<void> {
    const servers = this.servers
    this.servers = []
    return Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (!s.listening) {
              resolve()
              return
            }
            s.close(() => resolve())
          })
      )
    ).then(() => undefined)
  }

  private refuse(t: LabHostTransport, reason: 'capacity' | 'per-address' | 'stopping'): void {
    this.counters.connections.refused++
    // The peer's address is read before the reset: a reset socket no longer knows it (it was logged as "?:0").
    const remoteAddress = formatHostPort(t.remoteAddress ?? '?', t.remotePort ?? 0)
    const perAddress = reason === 'per-address'
    // A reset tells the client at once that it was refused; never queue (a queue is what slowloris feeds on).
    if (typeof t.resetAndDestroy === 'function') t.resetAndDestroy()
    else t.destroy()
    if (this.emitter.has('connection-refused')) {
      this.emitter.emit('connection-refused', {
        remoteAddress,
        reason,
        active: perAddress ? this.addressLimits.connections(t.remoteAddress ?? '?') : this.connections.size,
        limit: perAddress ? this.perAddressLimit : this.connectionLimit
      })
    }
  }

  /**
   * Serves one accepted connection. The listeners call this for every socket; in-process drivers (the hostile-input
   * tests) hand it a socket-like object, so they run exactly the server's code without the kernel. The transport
   * must emit 'data', 'end', 'error' and, once, 'close' like a net.Socket.
   */
  acceptTransport(t: LabHostTransport, localPort?: number): void {
    // Errors after this point belong to this connection alone.
    t.on('error', () => undefined)
    if (this.hostState !== 'running' || !this.responder) {
      this.refuse(t, 'stopping')
      return
    }
    if (this.connections.size >= this.connectionLimit) {
      this.refuse(t, 'capacity')
      return
    }
    const peer = t.remoteAddress ?? '?'
    if (!this.addressLimits.tryOpen(peer)) {
      this.refuse(t, 'per-address')
      return
    }
    const openedAt = performance.now()
    const clientAddress = formatHostPort(t.remoteAddress ?? '?', t.remotePort ?? 0)
    const options: ConnectionOptions = {
      maxPduBytes: this.maxPduBytes,
      maxPdusPerConnection: this.maxPdusPerConnection,
      session: {
        // the listener's port (asking the socket would cost a getsockname() per connection)
        portSpec: String(localPort ?? t.localPort ?? 1688),
        assocGroupId: (this.assocGroupId = (this.assocGroupId + 1) >>> 0),
        ndr64: this.options.ndr64 ?? true,
        btfn: this.options.btfn ?? true,
        maxPduLength: this.maxPduBytes,
        bindCache: this.bindCache
      },
      admitCall: () => this.addressLimits.admitCall(peer)
    }
    const deadline = new SweptDeadline(this.exchangeTimeoutMs)
    const c = new LabHostConnection(t, this.responder, clientAddress, options, deadline)
    deadline.connection = c
    this.connections.set(c, deadline)
    const counts = this.counters.connections
    counts.accepted++
    counts.active = this.connections.size
    if (counts.active > counts.peak) counts.peak = counts.active
    if (this.emitter.has('connection-opened'))
      this.emitter.emit('connection-opened', { remoteAddress: clientAddress, active: counts.active })

    t.on('data', (chunk: Uint8Array) => c.receive(chunk))
    t.on('end', () => c.endOfInput())
    t.on('error', (err: NodeJS.ErrnoException) => c.noteReason('reset', err.code ?? err.message))
    t.on('close', () => {
      deadline.stop()
      this.addressLimits.closed(peer)
      if (c.state !== 'closed') c.abort(c.closeReason ?? 'client-closed', 'socket closed')
      if (!this.connections.delete(c)) return
      this.counters.connections.active = this.connections.size
      const reason = c.closeReason ?? 'client-closed'
      this.counters.closes[reason]++
      if (this.emitter.has('connection-closed')) {
        this.emitter.emit('connection-closed', {
          remoteAddress: clientAddress,
          reason,
          detail: c.closeDetail,
          requests: c.requests,
          durationMs: performance.now() - openedAt
        })
      }
      if (this.connections.size === 0) this.allClosed?.()
    })
  }

  private purge(): void {
    const log = this.log
    if (!log) return
    log.purgeExpired().then(
      (rows) => {
        this.policy?.highest.expire(this.now())
        if (rows > 0) this.emitter.emit('log-purged', { rows })
      },
      (err: unknown) =>
        this.emitter.emit('error', {
          scope: 'client-log',
          message: `purging old records failed: ${err instanceof Error ? err.message : String(err)}`
        })
    )
  }
}

/** The identity as plain data for a worker process. */
function serializeIdentity(identity: LabHostIdentity): SerializedIdentity {
  return { keys: identity.keys.map((k) => ({ csvlkId: k.csvlk.id ?? '', epid: k.epid })), hwid: Buffer.from(identity.hwid).toString('hex') }
}

/** The identity a worker process received, with its keys found again in the catalog. */
export function deserializeIdentity(identity: SerializedIdentity, catalog: ProductCatalog = productCatalog): LabHostIdentity {
  return {
    keys: identity.keys.map(({ csvlkId, epid }) => {
      const csvlk = catalog.csvlkByActivationId(csvlkId)
      if (!csvlk) throw new Error(`host key ${csvlkId} is not in the catalog`)
      return { csvlk, epid }
    }),
    hwid: Uint8Array.from(Buffer.from(identity.hwid, 'hex'))
  }
}
