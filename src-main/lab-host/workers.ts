/**
 * Worker processes for the lab host, so it can use more than one core (docs/lab-host.md, "Using both cores").
 *
 * The owning process (LabHost with `workers`) listens, then hands each listening socket to every worker
 * (child_process `send(message, server)`): the owner and the workers all accept on the same sockets and the
 * kernel spreads the connections over whichever process is ready. A worker runs the same connection code as the
 * owner (a LabHost adopting those sockets) but has no client log: its ledger is the owner's, over IPC
 * (RemoteLedger). So the Count still sees every client, SQLite keeps one writer, and a reply still leaves only
 * after its row is committed — a request is acknowledged by whichever process served it only once the owner has
 * stored it, which keeps the kill -9 guarantee.
 *
 * Workers forward the events the owner listens to and send their counters every 250 ms (status() adds them up, so
 * a worker's last quarter second may be missing from a snapshot; the 'stopped' event has the exact totals).
 * A worker that dies is reported as an error event and replaced (at most 3 times a minute per worker, each restart a
 * 'worker' warning); the others and the owner keep serving meanwhile. If the owner dies, a worker exits at once (its IPC channel closes), cutting its connections — nothing it had acknowledged is lost.
 *
 * Workers are Node processes (`fork`), not threads: a net.Server handle can be passed to a child process but not
 * to a worker_thread.
 */
import { fork, type ChildProcess } from 'node:child_process'
import type { Server } from 'node:net'
import {
  addCounters,
  copyCounters,
  emptyCounters,
  type LabHostAddress,
  type LabHostCounters,
  type LabHostEmitter,
  type LabHostEventName
} from './events'
import { LogWriteError, type LabHostLedger } from './ledger'
import type { OwnerMessage, StoreResult, WorkerInit, WorkerMessage } from './worker-messages'

export interface LabHostWorkers {
  /** worker processes besides the owner, 1–64 */
  count: number
  /** the worker entry point: the built `lab-host-worker.js` (or its .ts source with a TypeScript loader in execArgv) */
  script: string
  /** Node flags for the workers, e.g. ['--import', 'tsx'] when running from source */
  execArgv?: string[]
  /** how long a worker may take to start; default 10 s */
  startTimeoutMs?: number
}

export const MAX_WORKERS = 64

interface Worker {
  index: number
  child: ChildProcess
  counters: LabHostCounters
  /** answers to send back at the end of this turn */
  results: StoreResult[]
  flushScheduled: boolean
  exited: Promise<void>
  alive: boolean
}

/** A worker that dies is replaced, at most this many times per slot within RESTART_WINDOW_MS. */
const MAX_RESTARTS = 3
const RESTART_WINDOW_MS = 60_000

interface PoolOptions {
  workers: LabHostWorkers
  servers: ReadonlyArray<{ server: Server; address: LabHostAddress }>
  init: Omit<WorkerInit, 't' | 'index'>
  ledger: LabHostLedger
  emitter: LabHostEmitter
}

export class LabHostWorkerPool {
  private stopping = false
  private readonly workers: Worker[] = []
  /** counters of workers that died and were replaced, so the totals keep their requests */
  private readonly retired = emptyCounters()
  /** per slot: when its worker was last restarted (epoch ms) */
  private readonly restarts = new Map<number, number[]>()

  private constructor(private readonly options: PoolOptions) {}

  /**
   * Forks the workers, hands them the listening servers and waits until each is serving. Throws (with every worker
   * stopped) if one cannot start.
   */
  static async start(options: PoolOptions): Promise<LabHostWorkerPool> {
    const pool = new LabHostWorkerPool(options)
    const started: Promise<void>[] = []
    for (let index = 1; index <= options.workers.count; index++) started.push(pool.spawn(index))
    try {
      await Promise.all(started)
    } catch (err) {
      await pool.kill()
      throw err
    }
    return pool
  }

  /** Forks the worker for slot `index` (replacing a dead one); resolves when it serves. */
  private spawn(index: number): Promise<void> {
    const spec = this.options.workers
    const child = fork(spec.script, [], {
      execArgv: spec.execArgv ?? [],
      serialization: 'json',
      // stderr stays visible so a crash is not silent; stdout belongs to the owner (log lines, JSON)
      stdio: ['ignore', 'ignore', 'inherit', 'ipc']
    })
    const worker: Worker = {
      index,
      child,
      counters: emptyCounters(),
      results: [],
      flushScheduled: false,
      alive: true,
      exited: new Promise((resolve) => child.once('exit', () => resolve()))
    }
    const slot = this.workers.findIndex((w) => w.index === index)
    if (slot === -1) this.workers.push(worker)
    else this.workers[slot] = worker
    child.on('error', () => undefined)
    const started = this.attach(worker, spec.startTimeoutMs ?? 10_000)
    for (const { server, address } of this.options.servers) this.send(worker, { t: 'server', address }, server)
    this.send(worker, { t: 'init', index, ...this.options.init })
    return started
  }

  /** A worker died while the host runs: report it, and replace it unless it keeps dying. */
  private replace(w: Worker, how: string): void {
    this.options.emitter.emit('error', {
      scope: 'server',
      message: `lab-host worker ${w.index} (pid ${w.child.pid}) exited unexpectedly (${how}); the other processes keep serving`
    })
    addCounters(this.retired, w.counters)
    w.counters = emptyCounters()
    const now = Date.now()
    const recent = (this.restarts.get(w.index) ?? []).filter((t) => now - t < RESTART_WINDOW_MS)
    if (recent.length >= MAX_RESTARTS) {
      this.options.emitter.emit('warning', {
        code: 'worker',
        message: `lab-host worker ${w.index} died ${MAX_RESTARTS + 1} times within a minute; not restarting it`
      })
      return
    }
    this.restarts.set(w.index, [...recent, now])
    this.spawn(w.index).then(
      () => {
        const pid = this.workers.find((x) => x.index === w.index)?.child.pid
        this.options.emitter.emit('warning', { code: 'worker', message: `lab-host worker ${w.index} restarted (pid ${pid})` })
      },
      (err: unknown) => {
        if (!this.stopping)
          this.options.emitter.emit('error', {
            scope: 'server',
            message: `lab-host worker ${w.index} could not be restarted: ${err instanceof Error ? err.message : String(err)}`
          })
      }
    )
  }

  /** The latest counters of every worker. */
  counters(): LabHostCounters {
    const total = copyCounters(this.retired)
    for (const w of this.workers) addCounters(total, w.counters)
    return total
  }

  /** Tells the workers which events to forward from now on. */
  forward(names: LabHostEventName[]): void {
    this.options.init.forward = names
    for (const w of this.workers) if (w.alive) this.send(w, { t: 'forward', names })
  }

  /** The workers still running, with their latest counters (copies). */
  running(): Array<{ pid: number; counters: LabHostCounters }> {
    return this.workers
      .filter((w) => w.alive && w.child.pid !== undefined)
      .map((w) => ({ pid: w.child.pid!, counters: copyCounters(w.counters) }))
  }

  /** Asks every worker to stop gracefully (they drain like the owner); kills those still running after `timeoutMs`. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true
    for (const w of this.workers) if (w.alive) this.send(w, { t: 'stop' })
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs)
    })
    await Promise.race([Promise.all(this.workers.map((w) => w.exited)), late])
    clearTimeout(timer)
    await this.kill()
  }

  private async kill(): Promise<void> {
    this.stopping = true
    for (const w of this.workers) if (w.alive) w.child.kill('SIGKILL')
    await Promise.all(this.workers.map((w) => w.exited))
  }

  private send(w: Worker, message: OwnerMessage, handle?: Server): void {
    if (!w.alive || !w.child.connected) return
    try {
      w.child.send(message, handle as never, () => undefined)
    } catch {
      // the worker is going away; its 'exit' reports it
    }
  }

  /** Wires one worker's messages; resolves when it is serving. */
  private attach(w: Worker, startTimeoutMs: number): Promise<void> {
    const ledger = this.options.ledger
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`lab-host worker ${w.index} did not start within ${startTimeoutMs} ms`)),
        startTimeoutMs
      )
      let serving = false
      const done = (err?: Error): void => {
        clearTimeout(timer)
        if (err) {
          reject(err)
          return
        }
        serving = true
        resolve()
      }
      w.child.on('message', (m: WorkerMessage) => {
        if (typeof m !== 'object' || m === null) return
        switch (m.t) {
          case 'ready':
            done()
            return
          case 'failed':
            done(new Error(`lab-host worker ${w.index} could not start: ${m.message}`))
            return
          case 'store':
            if (Array.isArray(m.items)) for (const [id, request] of m.items) this.store(w, ledger, id, request)
            return
          case 'events':
            if (Array.isArray(m.events)) for (const [name, payload] of m.events) this.options.emitter.emit(name, payload as never)
            return
          case 'counters':
          case 'stopped':
            w.counters = m.counters
            return
        }
      })
      w.child.once('exit', (code, signal) => {
        w.alive = false
        const how = signal ?? `code ${code}`
        if (!serving) done(new Error(`lab-host worker ${w.index} exited during start (${how})`))
        else if (!this.stopping) this.replace(w, how)
      })
    })
  }

  private store(w: Worker, ledger: LabHostLedger, id: number, request: Parameters<LabHostLedger['store']>[0]): void {
    let stored: Promise<number | null>
    try {
      stored = ledger.store(request)
    } catch (err) {
      // a malformed request from the worker (e.g. a missing entry) is a failed write for that request only
      stored = Promise.reject(err)
    }
    stored.then(
      (count) => this.answer(w, [id, count, null]),
      (err: unknown) => {
        const cause = err instanceof LogWriteError ? err.cause : err
        this.answer(w, [id, null, cause instanceof Error ? cause.message : String(cause)])
      }
    )
  }

  private answer(w: Worker, result: StoreResult): void {
    w.results.push(result)
    if (w.flushScheduled) return
    w.flushScheduled = true
    setImmediate(() => {
      w.flushScheduled = false
      const results = w.results
      w.results = []
      this.send(w, { t: 'stored', results })
    })
  }
}
