/**
 * Lab-host throughput and latency: N concurrent clients on loopback (default 16), one TCP connection per exchange
 * (connect, bind, request, close), against the real LabHost with its SQLite client log (durability 'process':
 * every response is sent only after its row is committed), side by side in one run with a trivial node:net server
 * answering with canned bytes (Node's floor on this machine and load: no protocol, no log) and, with --other, another
 * host (e.g. the C reference host). Rounds are interleaved, so every server sees the same machine; each figure is
 * printed with its ratio to the trivial server: exchanges/s, p50/p99 latency, CPU per exchange.
 *
 *   npm run bench:host -- [--clients 16,64] [--seconds 4] [--warmup 1] [--rounds 2] [--protocols 6] [--workers 0]
 *                          [--log-writer inline,thread] [--window MS] [--generator auto|c|node]
 *                          [--other PATH --other-arg ARG ...]
 *
 * The host runs in this process (plus --workers worker processes: a host per count listed), once with its client log
 * on the serving thread (LabHost's default) and once on a writer thread (--log-writer picks). The load generator is bench/kms-load.c, compiled with the system's `cc` on first use: an epoll loop in
 * C costs a few tens of µs of CPU per exchange, where the Node generator (this file, role "load"; used when there
 * is no C compiler or with --generator node) costs ~250 µs and could not offer more than ~4,000 exchanges/s on two
 * cores. Request PDUs are built here in advance (4,096 per protocol, each with its own CMID); the generator checks
 * each response's PDU type and call id, and every 64th response is verified here completely (all client checks of
 * docs/protocol.md §7.5) — any failure fails the run.
 * The bind offers NDR32 and BTFN (no NDR64), so the host needs no alter_context: two round trips per exchange.
 * KMS_SCOUT_BENCH_WORKER_ARGS adds Node flags to the workers (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
 * --window sets the client log's group-commit window (LabHost's default otherwise). --other PATH starts another
 * host (no shell; each --other-arg is one argument, `{port}` in it replaced by the port to listen on), e.g.
 * `--other /usr/bin/vlmcsd --other-arg -D --other-arg -L --other-arg 127.0.0.1:{port}`.
 * Profiling the serving thread: `node --cpu-prof --import tsx bench/host.ts --clients 16 --rounds 1` (the busiest
 * profile written is the serving thread's).
 */
import { execFileSync, fork, spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import { connect, createServer } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import {
  buildKmsRequest,
  dateToFileTime,
  encodePdu,
  encodeRequestStub,
  generateCmid,
  KmsClientSession,
  makeBaseRequest,
  productCatalog,
  PTYPE,
  verifyResponsePdu,
  type PendingCall
} from '../src-main/protocol/index'
import { LabHost } from '../src-main/lab-host/lab-host'
import { LAB_HOST_IDENTITY_FILE, loadLabHostIdentity } from '../src-main/lab-host/identity'

const PRODUCTS = { 4: 'Windows 7 Professional', 5: 'Windows 8 Professional', 6: 'Windows 10 Professional' } as const
type Protocol = keyof typeof PRODUCTS
const POOL = 4096
const VERIFY_EVERY = 64

interface LoadRequest {
  port: number
  protocol: Protocol
  clients: number
  warmupMs: number
  measureMs: number
  /** false for the baseline server, whose canned responses cannot match */
  verify: boolean
}

interface LoadResult {
  protocol: Protocol
  exchanges: number
  seconds: number
  latenciesMs: number[]
  verified: number
  errors: string[]
  cpuMs: number
}

// ------------------------------------------------------------------------------------------------ load generator

function requestPool(protocol: Protocol, size = POOL): { pdu: Buffer; call: PendingCall }[] {
  const random = (n: number): Uint8Array => randomBytes(n)
  const found = productCatalog.findProduct(PRODUCTS[protocol])
  if (found.kind !== 'found') throw new Error(`no product ${PRODUCTS[protocol]}`)
  const identity = productCatalog.requestIdentity(found.sku)
  const pool: { pdu: Buffer; call: PendingCall }[] = []
  for (let i = 0; i < size; i++) {
    const base = makeBaseRequest({
      identity,
      protocol,
      cmid: generateCmid(random),
      clientTime: dateToFileTime(new Date()),
      workstationName: `bench-${i}.lab.test`
    })
    const request = buildKmsRequest(base, random)
    const stub = encodeRequestStub(request.bytes, 'ndr32')
    const pdu = encodePdu({
      rpcVers: 5,
      rpcVersMinor: 0,
      pfcFlags: 3,
      drep: 0x10,
      authLength: 0,
      callId: 2,
      ptype: PTYPE.request,
      allocHint: stub.byteLength,
      contextId: 0,
      opnum: 0,
      objectUuid: undefined,
      stub
    })
    pool.push({ pdu: Buffer.from(pdu), call: { callId: 2, contextId: 0, syntax: 'ndr32', request } })
  }
  return pool
}

/** One exchange on a new connection; resolves with the response PDU. */
function exchange(port: number, bind: Buffer, request: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', noDelay: true })
    let phase = 0
    let buffered: Buffer | undefined
    socket.on('connect', () => socket.write(bind))
    socket.on('error', reject)
    socket.on('close', () => (phase < 2 ? reject(new Error(`connection closed in phase ${phase}`)) : undefined))
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered ? Buffer.concat([buffered, chunk]) : chunk
      while (buffered.byteLength >= 16 && buffered.byteLength >= buffered.readUInt16LE(8)) {
        const length = buffered.readUInt16LE(8)
        const pdu = buffered.subarray(0, length)
        buffered = buffered.subarray(length)
        if (phase === 0) {
          if (pdu[2] !== PTYPE.bindAck) {
            reject(new Error(`expected bind_ack, got PDU type ${pdu[2]}`))
            socket.destroy()
            return
          }
          phase = 1
          socket.write(request)
        } else {
          phase = 2
          socket.destroy()
          resolve(pdu)
          return
        }
      }
    })
  })
}

async function runLoad(req: LoadRequest): Promise<LoadResult> {
  const pool = requestPool(req.protocol)
  const bind = Buffer.from(new KmsClientSession({ offerNdr64: false }).bind())
  const latencies: number[] = []
  const errors: string[] = []
  let verified = 0
  let next = 0
  let measuring = false
  let stop = false
  let exchanges = 0
  const worker = async (): Promise<void> => {
    while (!stop && errors.length === 0) {
      const item = pool[next++ % POOL]!
      const t0 = performance.now()
      let pdu: Buffer
      try {
        pdu = await exchange(req.port, bind, item.pdu)
      } catch (err) {
        errors.push(err instanceof Error ? err.message : String(err))
        return
      }
      const ms = performance.now() - t0
      if (pdu[2] !== PTYPE.response || pdu.readUInt32LE(12) !== 2) {
        errors.push(`unexpected reply: PDU type ${pdu[2]}`)
        return
      }
      if (req.verify && next % VERIFY_EVERY === 0) {
        const outcome = verifyResponsePdu(pdu, item.call)
        if (outcome.kind !== 'response') {
          errors.push(`response failed verification: ${outcome.kind}`)
          return
        }
        verified++
      }
      if (measuring) {
        latencies.push(ms)
        exchanges++
      }
    }
  }
  const workers = Array.from({ length: req.clients }, worker)
  await new Promise((resolve) => setTimeout(resolve, req.warmupMs))
  measuring = true
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  await new Promise((resolve) => setTimeout(resolve, req.measureMs))
  measuring = false
  const seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  stop = true
  await Promise.all(workers)
  return { protocol: req.protocol, exchanges, seconds, latenciesMs: latencies, verified, errors, cpuMs: (cpu.user + cpu.system) / 1000 }
}

if (process.env.KMS_SCOUT_BENCH_ROLE === 'load') {
  process.on('message', (msg: LoadRequest) => {
    runLoad(msg).then(
      (result) => process.send!(result),
      (err: unknown) => process.send!({ error: String(err) })
    )
  })
} else {
  await main()
}

// ------------------------------------------------------------------------------------------------ host side

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

/** What one protocol's run produced, whichever generator ran it. */
interface LoadSummary {
  exchanges: number
  seconds: number
  p50: number
  p99: number
  max: number
  verified: number
  errors: string[]
  /** the generator's own CPU time during the measurement */
  cpuMs: number
  /** the host's CPU time (this process and its workers) and the wall time while the generator ran (warm-up included) */
  hostCpuMs: number
  wallMs: number
}

type Generator = (req: LoadRequest, hostCpuMs: () => number) => Promise<LoadSummary>

/** The Node generator: a child process running runLoad() (this file, role "load"). */
function nodeGenerator(): { run: Generator; close: () => void } {
  const child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, KMS_SCOUT_BENCH_ROLE: 'load' }, stdio: 'inherit' })
  const run: Generator = async (req, hostCpuMs) => {
    const cpu0 = hostCpuMs()
    const t0 = performance.now()
    const r = await new Promise<LoadResult>((resolve, reject) => {
      child.once('message', (m: LoadResult | { error: string }) => ('error' in m ? reject(new Error(m.error)) : resolve(m)))
      child.send(req)
    })
    const hostCpu = hostCpuMs() - cpu0
    const wallMs = performance.now() - t0
    const sorted = r.latenciesMs.sort((a, b) => a - b)
    return {
      exchanges: r.exchanges,
      seconds: r.seconds,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      max: sorted.at(-1) ?? NaN,
      verified: r.verified,
      errors: r.errors,
      cpuMs: r.cpuMs,
      hostCpuMs: hostCpu,
      wallMs
    }
  }
  return { run, close: () => child.kill() }
}

/**
 * bench/kms-load.c compiled with the system C compiler into the temp folder (once per source version), or
 * undefined when there is no working `cc` (then the Node generator runs instead).
 */
function compileCGenerator(): string | undefined {
  const source = fileURLToPath(new URL('./kms-load.c', import.meta.url))
  const hash = createHash('sha256').update(fs.readFileSync(source)).digest('hex').slice(0, 12)
  const exe = path.join(os.tmpdir(), `kms-scout-kms-load-${hash}`)
  if (fs.existsSync(exe)) return exe
  try {
    execFileSync('cc', ['-O2', '-o', `${exe}.${process.pid}`, source], { stdio: 'pipe' })
    fs.renameSync(`${exe}.${process.pid}`, exe)
    return exe
  } catch {
    return undefined
  }
}

/** The C generator: PDUs built here, written to files, sampled responses verified here after the run. */
function cGenerator(exe: string, dir: string): Generator {
  const pools = new Map<Protocol, ReturnType<typeof requestPool>>()
  return async (req, hostCpuMs) => {
    const pool = pools.get(req.protocol) ?? requestPool(req.protocol)
    pools.set(req.protocol, pool)
    const files = {
      bind: path.join(dir, 'bind.pdu'),
      requests: path.join(dir, `requests-v${req.protocol}.pdu`),
      samples: path.join(dir, `samples-v${req.protocol}.txt`)
    }
    fs.writeFileSync(files.bind, new KmsClientSession({ offerNdr64: false }).bind())
    fs.writeFileSync(files.requests, Buffer.concat(pool.map((item) => item.pdu)))
    const args = [
      '--port',
      String(req.port),
      '--clients',
      String(req.clients),
      '--warmup-ms',
      String(req.warmupMs),
      '--measure-ms',
      String(req.measureMs),
      '--bind',
      files.bind,
      '--requests',
      files.requests
    ]
    if (req.verify) args.push('--sample-every', String(VERIFY_EVERY), '--sample-out', files.samples)
    const cpu0 = hostCpuMs()
    const t0 = performance.now()
    const child = spawn(exe, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    const hostCpu = hostCpuMs() - cpu0
    const wallMs = performance.now() - t0
    if (code !== 0) throw new Error(`kms-load exited with ${code}`)
    const r = JSON.parse(out) as {
      exchanges: number
      seconds: number
      p50: number
      p99: number
      max: number
      cpuMs: number
      errors: number
      firstError: string
    }
    const errors = r.errors > 0 ? [`${r.errors} failed exchanges, first: ${r.firstError}`] : []
    let verified = 0
    if (req.verify) {
      for (const line of fs.readFileSync(files.samples, 'utf8').split('\n')) {
        if (line === '') continue
        const [index, hex] = line.split(' ')
        const outcome = verifyResponsePdu(Buffer.from(hex!, 'hex'), pool[Number(index)]!.call)
        if (outcome.kind !== 'response') errors.push(`response failed verification: ${outcome.kind}`)
        else verified++
      }
    }
    return {
      exchanges: r.exchanges,
      seconds: r.seconds,
      p50: r.p50,
      p99: r.p99,
      max: r.max,
      verified,
      errors,
      cpuMs: r.cpuMs,
      hostCpuMs: hostCpu,
      wallMs
    }
  }
}

/** CPU time of a process (or one of its threads) from /proc (Linux), ms; 0 where /proc is not available. */
function procCpuMs(pid: number, thread?: number): number {
  try {
    const stat = fs.readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // utime and stime, fields 14 and 15 of stat(5), in clock ticks (USER_HZ, 100 on Linux)
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return 0
  }
}

/** One server under test, started once and measured in every round. */
interface Target {
  label: string
  port: number
  /** CPU time of everything that serves (process, threads, worker processes), ms */
  cpuMs: () => number
  /** time the serving thread's event loop was busy, ms (our host in this process only) */
  servingThreadMs?: () => number
  /** false for servers whose responses cannot match the requests (canned bytes, another host's ePID is fine) */
  verify: boolean
  stop: () => Promise<void>
  /** after the runs: a line about what the target did */
  summary?: () => string
}

interface Measured {
  rate: number
  p50: number
  p99: number
  cpuUs: number
  servingUs: number | undefined
  errors: string[]
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted.length === 0 ? NaN : sorted[Math.floor((sorted.length - 1) / 2)]!
}

async function startLabHostTarget(
  identity: Awaited<ReturnType<typeof loadLabHostIdentity>>['identity'],
  dir: string,
  workers: number,
  logWriter: 'thread' | 'inline',
  window: number | undefined
): Promise<Target> {
  const host = new LabHost({
    listen: ['127.0.0.1:0'],
    dbPath: path.join(dir, `client-log-${workers}-${logWriter}.sqlite`),
    identity,
    maxConnections: 1024 * (1 + workers),
    // the load generator is one address on loopback: the per-address budget would measure itself, not the host
    maxConnectionsPerAddress: 1024 * (1 + workers),
    maxRequestsPerSecondPerAddress: 0,
    logWriter,
    logGroupWindowMs: window,
    workers:
      workers > 0
        ? {
            count: workers,
            script: fileURLToPath(new URL('../src-main/lab-host/worker.ts', import.meta.url)),
            execArgv: ['--import', 'tsx', ...(process.env.KMS_SCOUT_BENCH_WORKER_ARGS ?? '').split(' ').filter(Boolean)]
          }
        : undefined
  })
  const [address] = await host.start()
  const workerPids = host.status().workers.map((w) => w.pid)
  return {
    label: `KMS Scout${workers > 0 ? ` --workers ${workers}` : ''}${logWriter === 'thread' ? ', log on a writer thread' : ''}`,
    port: address!.port,
    cpuMs: () => {
      const own = process.cpuUsage()
      return (own.user + own.system) / 1000 + workerPids.reduce((sum, pid) => sum + procCpuMs(pid), 0)
    },
    // the main thread's own CPU time (Linux: /proc/PID/task/PID is the main thread)
    servingThreadMs: workers === 0 ? () => procCpuMs(process.pid, process.pid) : undefined,
    verify: true,
    stop: () => host.stop(),
    summary: () => {
      const c = host.status().counters
      const rows = c.requests.v4.ok + c.requests.v5.ok + c.requests.v6.ok
      const closes = JSON.stringify(Object.fromEntries(Object.entries(c.closes).filter(([, n]) => n > 0)))
      return `${rows.toLocaleString('en')} requests answered and logged, ${c.connections.refused} connections refused, closes ${closes}`
    }
  }
}

/** Node's floor: a server that answers every PDU with fixed bytes (no protocol, no log) — what no Node host beats. */
async function startTrivialTarget(replies: Awaited<ReturnType<typeof cannedReplies>>): Promise<Target> {
  const server = createServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
    socket.on('error', () => undefined)
    socket.on('end', () => socket.end())
    socket.on('data', (chunk: Buffer) =>
      socket.write(chunk[2] === PTYPE.bind ? replies.bindAck : (replies.response[chunk.readUInt16LE(8)] ?? replies.bindAck))
    )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    label: 'trivial Node server (canned bytes)',
    port: (server.address() as { port: number }).port,
    cpuMs: () => {
      const own = process.cpuUsage()
      return (own.user + own.system) / 1000
    },
    verify: false,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

/**
 * Another host (e.g. the C reference host), started from `exe` with `args` — an argument list, no shell; `{port}`
 * in an argument is replaced by the port it must listen on (127.0.0.1 is the caller's business: pass it in args).
 */
async function startOtherTarget(exe: string, args: string[]): Promise<Target> {
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const p = (probe.address() as { port: number }).port
      probe.close(() => resolve(p))
    })
  })
  const child = spawn(
    exe,
    args.map((a) => a.replaceAll('{port}', String(port))),
    { stdio: ['ignore', 'ignore', 'inherit'] }
  )
  // ready once it accepts a connection (bounded: 10 s)
  for (let i = 0; ; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ port, host: '127.0.0.1' }, () => {
        s.destroy()
        resolve(true)
      })
      s.on('error', () => resolve(false))
    })
    if (ok) break
    if (i >= 100 || child.exitCode !== null) throw new Error(`${exe} did not listen on 127.0.0.1:${port}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return {
    label: path.basename(exe),
    port,
    cpuMs: () => procCpuMs(child.pid!),
    verify: true,
    stop: async () => {
      child.kill()
      if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve))
    }
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      window: { type: 'string' },
      clients: { type: 'string', default: '16,64' },
      seconds: { type: 'string', default: '4' },
      warmup: { type: 'string', default: '1' },
      rounds: { type: 'string', default: '2' },
      protocols: { type: 'string', default: '6' },
      generator: { type: 'string', default: 'auto' },
      workers: { type: 'string', default: '0' },
      'log-writer': { type: 'string', default: 'inline,thread' },
      other: { type: 'string' },
      'other-arg': { type: 'string', multiple: true, default: [] }
    }
  })
  const clientCounts = values.clients.split(',').map(Number)
  const measureMs = Number(values.seconds) * 1000
  const warmupMs = Number(values.warmup) * 1000
  const rounds = Number(values.rounds)
  const protocols = values.protocols.split(',').map(Number) as Protocol[]
  const workerCounts = values.workers.split(',').map(Number)
  const logWriters = values['log-writer'].split(',') as Array<'thread' | 'inline'>
  const window = values.window === undefined ? undefined : Number(values.window)
  for (const n of clientCounts) if (!(n >= 1 && n <= 1024)) throw new RangeError('--clients: 1–1024 each')
  if (!(rounds >= 1 && rounds <= 20)) throw new RangeError('--rounds: 1–20')
  if (!(measureMs > 0 && measureMs <= 60_000)) throw new RangeError('--seconds: up to 60')

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kms-scout-bench-host-'))
  const { identity } = await loadLabHostIdentity({
    file: path.join(dir, LAB_HOST_IDENTITY_FILE),
    random: (n) => randomBytes(n),
    now: () => new Date()
  })
  const exe = values.generator === 'node' ? undefined : compileCGenerator()
  if (values.generator === 'c' && exe === undefined)
    throw new Error('--generator c: bench/kms-load.c does not compile here (is a C compiler installed as `cc`?)')
  const node = exe === undefined ? nodeGenerator() : undefined
  const load: Generator = exe !== undefined ? cGenerator(exe, dir) : node!.run

  console.log(
    `Lab host benchmark — Node ${process.version}, ${os.cpus().length} CPU(s) ${os.cpus()[0]?.model.trim() ?? ''}, load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`
  )
  console.log(
    `one connection per exchange (connect, bind, request, close) on 127.0.0.1; ${clientCounts.join(' and ')} concurrent clients; ${measureMs / 1000} s per run after ${warmupMs / 1000} s warm-up; ${rounds} interleaved rounds, medians shown`
  )
  console.log(
    `load generator: ${exe !== undefined ? 'bench/kms-load.c (epoll, compiled with cc)' : 'Node child process (no C compiler found, or --generator node)'}; every ${VERIFY_EVERY}th response of a real host verified`
  )
  console.log('KMS Scout: LabHost run from source with tsx, SQLite client log (WAL, durability process: every response after its commit)')
  console.log(
    'CPU µs/exch: CPU time of everything that serves (all threads and worker processes) per exchange, warm-up included; serving µs/exch: CPU time of the serving thread alone (KMS Scout in one process)'
  )

  const targets: Target[] = []
  for (const workers of workerCounts)
    for (const writer of logWriters) targets.push(await startLabHostTarget(identity, dir, workers, writer, window))
  const trivial = await startTrivialTarget(await cannedReplies(targets[0]!.port))
  targets.push(trivial)
  if (values.other !== undefined) targets.push(await startOtherTarget(values.other, values['other-arg']))

  const results = new Map<string, Measured[]>()
  let failed = false
  for (let round = 0; round < rounds; round++) {
    for (const clients of clientCounts) {
      for (const protocol of protocols) {
        for (const target of targets) {
          const serving0 = target.servingThreadMs?.()
          const r = await load({ port: target.port, protocol, clients, warmupMs, measureMs, verify: target.verify }, target.cpuMs)
          const servingMs = target.servingThreadMs === undefined ? undefined : target.servingThreadMs() - serving0!
          const total = r.exchanges * (r.wallMs / 1000 / r.seconds)
          const key = `${target.label}\t${clients}\t${protocol}`
          const list = results.get(key) ?? []
          list.push({
            rate: r.exchanges / r.seconds,
            p50: r.p50,
            p99: r.p99,
            // the generator's total over warm-up and measurement, estimated from the measured rate
            cpuUs: (r.hostCpuMs * 1000) / total,
            servingUs: servingMs === undefined ? undefined : (servingMs * 1000) / total,
            errors: r.errors
          })
          results.set(key, list)
          if (r.errors.length > 0) {
            failed = true
            console.log(`  ${target.label}, ${clients} clients, v${protocol}: errors: ${[...new Set(r.errors)].slice(0, 3).join('; ')}`)
          }
        }
      }
    }
  }

  for (const clients of clientCounts) {
    for (const protocol of protocols) {
      console.log(`\n${clients} concurrent clients, v${protocol} — ratios to the trivial Node server in the same run`)
      console.log(
        'server                                        exchanges/s  × trivial  p50 ms  p99 ms  p99 × trivial  CPU µs/exch  serving µs/exch'
      )
      const base = results.get(`${trivial.label}\t${clients}\t${protocol}`)!
      const baseRate = median(base.map((m) => m.rate))
      const baseP99 = median(base.map((m) => m.p99))
      for (const target of targets) {
        const m = results.get(`${target.label}\t${clients}\t${protocol}`)!
        const rate = median(m.map((x) => x.rate))
        const p99 = median(m.map((x) => x.p99))
        const serving = m[0]!.servingUs === undefined ? '' : String(Math.round(median(m.map((x) => x.servingUs!))))
        console.log(
          target.label.padEnd(44) +
            Math.round(rate).toLocaleString('en').padStart(13) +
            (rate / baseRate).toFixed(2).padStart(11) +
            median(m.map((x) => x.p50))
              .toFixed(2)
              .padStart(8) +
            p99.toFixed(2).padStart(8) +
            (p99 / baseP99).toFixed(2).padStart(15) +
            String(Math.round(median(m.map((x) => x.cpuUs)))).padStart(13) +
            serving.padStart(17)
        )
      }
    }
  }
  console.log('')
  for (const target of targets) {
    const line = target.summary?.()
    await target.stop()
    if (line) console.log(`${target.label}: ${line}`)
  }
  node?.close()
  fs.rmSync(dir, { recursive: true, force: true })
  if (failed) process.exitCode = 1
}

/** A real bind_ack and one real response per request size, captured from the lab host, for the baseline server. */
async function cannedReplies(port: number): Promise<{ bindAck: Buffer; response: Record<number, Buffer> }> {
  const bind = Buffer.from(new KmsClientSession({ offerNdr64: false }).bind())
  const response: Record<number, Buffer> = {}
  let bindAck: Buffer | undefined
  for (const protocol of [4, 5, 6] as const) {
    const item = requestPool(protocol, 1)[0]!
    response[item.pdu.byteLength] = await exchange(port, bind, item.pdu)
    bindAck ??= await new Promise<Buffer>((resolve, reject) => {
      const s = connect({ port, host: '127.0.0.1' }, () => s.write(bind))
      s.once('data', (d: Buffer) => {
        s.destroy()
        resolve(d)
      })
      s.once('error', reject)
    })
  }
  return { bindAck: bindAck!, response }
}
