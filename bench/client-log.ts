/**
 * Client log throughput: `npx tsx bench/client-log.ts`
 *
 * - single commit: one client at a time, each record() awaited before the next (one transaction per row)
 * - group commit: C clients in flight, each doing countFor() + record() and the next request once its row is
 *   committed — the lab host's pattern; rows arriving in the same event-loop turn share a transaction
 * - both durabilities ('process' = WAL + synchronous NORMAL, 'power' = synchronous FULL, an fsync per commit)
 * - the per-request count (countFor) with many distinct clients, and rebuilding the counts at open
 *
 * Numbers depend on the disk and CPU; docs/sqlite-choice.md records a run on the development machine.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ClientLog, clientLogEntrySchema } from '../src-main/storage/client-log'
import type { ClientLogEntryInput } from '../src-main/storage/client-log'

const WINDOWS_APP = '55c92734-d682-4d71-983e-d6ec3f16059f'
const WIN10_KMS_ID = '58e2134f-8e11-4d17-9cb2-91069c151148'

function cmid(n: number): string {
  return `6f1b2c3d-4e5f-4a6b-8c7d-${n.toString(16).padStart(12, '0')}`
}

function entry(n: number, timeMs: number): ClientLogEntryInput {
  return {
    timeMs,
    clientAddress: `192.0.2.${n % 250}:${49152 + (n % 16000)}`,
    cmid: cmid(n % 5000),
    workstationName: `ws-${n % 5000}.lab.example`,
    applicationId: WINDOWS_APP,
    skuId: '2de67392-b7a7-462a-b1ca-108dd189f588',
    productName: 'Windows 10 Professional',
    kmsCountedId: WIN10_KMS_ID,
    protocolMajor: 6,
    protocolMinor: 0,
    requiredClientCount: 25,
    licenseStatus: 2,
    countReturned: 50,
    outcome: 'ok'
  }
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kms-scout-bench-'))
let fileNo = 0

async function withLog<T>(durability: 'process' | 'power', run: (log: ClientLog) => Promise<T>): Promise<T> {
  const file = path.join(root, `log-${fileNo++}.sqlite`)
  const log = await ClientLog.open(file, { retentionDays: 30, now: Date.now, durability })
  try {
    return await run(log)
  } finally {
    await log.close()
  }
}

/** `clients` concurrent request loops until `total` rows are committed. Returns rows per second. */
async function throughput(log: ClientLog, clients: number, total: number): Promise<number> {
  let issued = 0
  const key = { kmsCountedId: WIN10_KMS_ID }
  const loop = async (): Promise<void> => {
    while (issued < total) {
      const n = issued++
      const now = Date.now()
      const count = log.countFor(key, cmid(n % 5000), now, 50)
      await log.record({ ...entry(n, now), countReturned: count })
    }
  }
  const started = process.hrtime.bigint()
  await Promise.all(Array.from({ length: clients }, loop))
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  return total / seconds
}

function line(label: string, value: string): void {
  console.log(`${label.padEnd(58)} ${value}`)
}

async function main(): Promise<void> {
  console.log(`client log benchmark — Node ${process.version}, ${os.cpus().length} CPU(s), ${os.cpus()[0]?.model ?? ''}`)
  console.log(`files in ${root}\n`)

  for (const durability of ['process', 'power'] as const) {
    for (const [clients, total] of [
      [1, durability === 'power' ? 1_000 : 5_000],
      [16, 20_000],
      [64, 40_000],
      [256, 60_000]
    ] as const) {
      const rate = await withLog(durability, (log) => throughput(log, clients, total))
      const label = clients === 1 ? 'single commit (1 client)' : `group commit (${clients} clients in flight)`
      line(`${label}, durability '${durability}'`, `${Math.round(rate).toLocaleString('en-US')} records/s`)
    }
  }

  // Validation cost alone (record() parses every entry with zod).
  {
    const sample = entry(1, Date.now())
    const n = 200_000
    const started = process.hrtime.bigint()
    for (let i = 0; i < n; i += 1) clientLogEntrySchema.parse(sample)
    const us = Number(process.hrtime.bigint() - started) / 1e3 / n
    line('entry validation (zod) per record', `${us.toFixed(2)} µs`)
  }

  // countFor with 5,000 distinct clients in the window.
  await withLog('process', async (log) => {
    const now = Date.now()
    await Promise.all(Array.from({ length: 5_000 }, (_, i) => log.record(entry(i, now - (5_000 - i)))))
    const key = { kmsCountedId: WIN10_KMS_ID }
    const n = 1_000_000
    let sink = 0
    const started = process.hrtime.bigint()
    for (let i = 0; i < n; i += 1) sink += log.countFor(key, cmid(i % 6000), now, 50)
    const ns = Number(process.hrtime.bigint() - started) / n
    line(`countFor, 5,000 distinct clients (checksum ${sink % 7})`, `${ns.toFixed(0)} ns/call`)
  })

  // Rebuilding the counts at open from 200,000 rows in the window.
  {
    const file = path.join(root, 'rebuild.sqlite')
    const log = await ClientLog.open(file, { retentionDays: 30, now: Date.now })
    const now = Date.now()
    for (let chunk = 0; chunk < 20; chunk += 1) {
      await Promise.all(Array.from({ length: 10_000 }, (_, i) => log.record(entry(chunk * 10_000 + i, now - 1000))))
    }
    await log.close()
    const started = process.hrtime.bigint()
    const reopened = await ClientLog.open(file, { retentionDays: 30, now: Date.now })
    const ms = Number(process.hrtime.bigint() - started) / 1e6
    const distinct = reopened.distinctClients({ kmsCountedId: WIN10_KMS_ID }, 0)
    await reopened.close()
    line(`open + rebuild counts, 200,000 rows (${distinct} distinct)`, `${ms.toFixed(0)} ms`)
    line('file size for 200,000 rows', `${(fs.statSync(file).size / 1e6).toFixed(1)} MB`)
  }

  fs.rmSync(root, { recursive: true, force: true })
}

await main()
