/**
 * The lab host's budget under load (issue 11), with the host in its own process so its memory can be read: one
 * address sends LOAD_REQUESTS requests with random CMIDs (default 20,000 in `npm test`; `npm run test:load` sends
 * 100,000), then opens 600 idle connections; a second address must still be served at once, the host's peak
 * memory must stay within a bound, and the client log within its cap. Loopback only; bounded in count and time.
 * The figures are printed for docs/lab-host.md.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import fs from 'node:fs'
import { connect, type Socket } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { createInterface, type Interface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { baseFor, expectResponse, PRODUCT_BY_PROTOCOL, TestKmsConnection } from '../helpers/lab-host-client'

const REQUESTS = Number(process.env.LOAD_REQUESTS ?? 20_000)
const CONNECTIONS = 16
const IDLE = 600
const LOG_CAP_BYTES = 4 * 1024 * 1024
/**
 * Documented in docs/lab-host.md: under this load the host's peak resident memory grows by less than this over its
 * peak after starting (which includes tsx compiling TypeScript in the test's child process).
 */
const PEAK_RSS_GROWTH_BOUND_BYTES = 128 * 1024 * 1024

const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
const child = fileURLToPath(new URL('../helpers/lab-host-child.ts', import.meta.url))
const cleanups: Array<() => void> = []
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup()
})

interface HostProcess {
  proc: ChildProcess
  port: number
  lines: Interface
}

async function startHost(dir: string): Promise<HostProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', child, dir, '0'], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'pipe'],
    // the default budget, but no request rate: this test fills the count index and the log on purpose
    env: {
      ...process.env,
      KMS_SCOUT_TEST_HOST_OPTIONS: JSON.stringify({
        maxConnectionsPerAddress: 32,
        maxRequestsPerSecondPerAddress: 0,
        maxLogBytes: LOG_CAP_BYTES,
        exchangeTimeoutMs: 30_000
      })
    }
  })
  cleanups.push(() => proc.kill('SIGKILL'))
  let stderr = ''
  proc.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const lines = createInterface({ input: proc.stdout! })
  const port = await new Promise<number>((resolve, reject) => {
    lines.on('line', (line) => {
      const m = /^ready (\d+)$/.exec(line)
      if (m) resolve(Number(m[1]))
    })
    proc.once('exit', () => reject(new Error(`lab host child exited before it was ready:\n${stderr}`)))
  })
  return { proc, port, lines }
}

async function hostStatus(host: HostProcess): Promise<{ counters: { requests: { v6: { ok: number } } }; logBytes: number }> {
  const answer = new Promise<string>((resolve) => {
    const onLine = (line: string): void => {
      if (!line.startsWith('status ')) return
      host.lines.off('line', onLine)
      resolve(line.slice('status '.length))
    }
    host.lines.on('line', onLine)
  })
  host.proc.stdin!.write('status\n')
  return JSON.parse(await answer) as { counters: { requests: { v6: { ok: number } } }; logBytes: number }
}

/** Peak resident memory of a process (Linux: VmHWM in /proc). */
function peakRssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
  const kib = /^VmHWM:\s+(\d+) kB$/m.exec(status)
  if (!kib) throw new Error('no VmHWM in /proc status')
  return Number(kib[1]) * 1024
}

describe('lab host under load from one address', () => {
  it(
    `after ${REQUESTS.toLocaleString('en')} requests with random CMIDs and ${IDLE} idle connections, a second address is served at once`,
    async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kms-scout-load-'))
      cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }))
      const host = await startHost(dir)
      const startPeak = peakRssBytes(host.proc.pid!)
      const started = performance.now()

      // 1. REQUESTS requests, each with a new CMID, over CONNECTIONS connections from 127.0.0.1
      let sent = 0
      const client = async (): Promise<void> => {
        while (sent < REQUESTS) {
          const c = await TestKmsConnection.open(host.port)
          await c.bind()
          // a connection carries up to 1000 requests (the host closes after 1024 PDUs)
          for (let i = 0; i < 1000 && sent < REQUESTS; i++) {
            sent++
            expectResponse(await c.request(baseFor(PRODUCT_BY_PROTOCOL[6])))
          }
          c.destroy()
        }
      }
      await Promise.all(Array.from({ length: CONNECTIONS }, client))
      const requestSeconds = (performance.now() - started) / 1000

      // 2. IDLE idle connections from the same address: 32 are held, the rest refused at once
      const idle: Socket[] = []
      const settled = Array.from(
        { length: IDLE },
        () =>
          new Promise<void>((resolve) => {
            const s = connect({ port: host.port, host: '127.0.0.1' })
            idle.push(s)
            s.on('error', () => resolve())
            s.on('close', () => resolve())
            s.once('connect', () => resolve())
          })
      )
      await Promise.all(settled)
      cleanups.push(() => idle.forEach((s) => s.destroy()))

      // 3. a second address is served at once
      const second = await new Promise<TestKmsConnection>((resolve, reject) => {
        const s = connect({ port: host.port, host: '127.0.0.1', localAddress: '127.0.0.2', noDelay: true })
        s.once('error', reject)
        s.once('connect', () => resolve(TestKmsConnection.wrap(s)))
      })
      await second.bind()
      const count = expectResponse(await second.request(baseFor(PRODUCT_BY_PROTOCOL[6]))).response.base.count
      second.destroy()

      const status = await hostStatus(host)
      const peak = peakRssBytes(host.proc.pid!)
      const refusedIdle = idle.filter((s) => s.destroyed || s.readyState !== 'open').length
      console.log(
        `load: ${REQUESTS} requests in ${requestSeconds.toFixed(1)} s (${Math.round(REQUESTS / requestSeconds)}/s), ` +
          `${IDLE} idle connections (${refusedIdle} refused), second address served with count ${count}; ` +
          `host peak RSS ${(startPeak / 1048576).toFixed(0)} MiB after start, ${(peak / 1048576).toFixed(0)} MiB after the load, client log ${(status.logBytes / 1048576).toFixed(2)} MiB (cap ${LOG_CAP_BYTES / 1048576} MiB)`
      )
      expect(status.counters.requests.v6.ok).toBe(REQUESTS + 1)
      // the count is capped at 2 × N (50 for Windows clients), whatever the number of CMIDs
      expect(count).toBe(50)
      expect(refusedIdle).toBeGreaterThanOrEqual(IDLE - 32)
      // the log is checked every 500 rows: at most that many rows over its cap
      expect(status.logBytes).toBeLessThanOrEqual(LOG_CAP_BYTES + 200 * 1024)
      expect(peak - startPeak).toBeLessThan(PEAK_RSS_GROWTH_BOUND_BYTES)
      host.proc.kill('SIGTERM')
      await once(host.proc, 'exit')
    },
    10 * 60_000
  )
})
