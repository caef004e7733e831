/**
 * Child process for the lab-host kill -9 test: runs a LabHost on 127.0.0.1 (ephemeral port) with its client log
 * and identity in the directory given as argv[2] (and argv[3] worker processes, default 0), and prints
 * `ready <port>` once it listens. The parent puts it under load and kills it with SIGKILL. Run with
 * `node --import tsx`.
 */
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { LabHost, type LabHostOptions } from '../../src-main/lab-host/lab-host'
import { LAB_HOST_IDENTITY_FILE, loadLabHostIdentity } from '../../src-main/lab-host/identity'

const dir = process.argv[2]
if (!dir) throw new Error('usage: lab-host-child.ts <dir>')
const { identity } = await loadLabHostIdentity({
  file: path.join(dir, LAB_HOST_IDENTITY_FILE),
  random: (n) => randomBytes(n),
  now: () => new Date()
})
const workers = Number(process.argv[3] ?? 0)
const script = fileURLToPath(new URL('../../src-main/lab-host/worker.ts', import.meta.url))
// KMS_SCOUT_TEST_HOST_OPTIONS (JSON) overrides the options below (the load test runs with the default budget)
const extra = JSON.parse(process.env.KMS_SCOUT_TEST_HOST_OPTIONS ?? '{}') as Partial<LabHostOptions>
const host = new LabHost({
  listen: ['127.0.0.1:0'],
  dbPath: path.join(dir, 'client-log.sqlite'),
  identity,
  maxConnections: 1024,
  // the kill test loads the host from one address at full speed: its subject is durability, not the per-address budget
  maxConnectionsPerAddress: 1024,
  maxRequestsPerSecondPerAddress: 0,
  workers: workers > 0 ? { count: workers, script, execArgv: ['--import', 'tsx'] } : undefined,
  ...extra
})
host.on('warning', (w) => process.stderr.write(`warning: ${w.message}\n`))
const [address] = await host.start()
process.stdout.write(`ready ${address!.port}\n`)
// `status` on stdin: print the counters and the client log's size (the load test reads them)
process.stdin.on('data', (chunk: Buffer) => {
  if (!chunk.toString().includes('status')) return
  const status = host.status()
  process.stdout.write(`status ${JSON.stringify({ counters: status.counters, logBytes: host.clientLog?.sizeBytes ?? null })}\n`)
})
