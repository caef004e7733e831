/**
 * Durability against kill -9: a child process records entries and acknowledges each once record() resolved;
 * we SIGKILL it mid-stream, reopen the database, and every acknowledged entry must be there, intact.
 */
import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import fs from 'node:fs'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { describe, it, expect } from 'vitest'
import { ClientLog } from '../../src-main/storage/client-log'
import { useTempDirs } from './temp-dir'

const fixture = fileURLToPath(new URL('./fixtures/client-log-writer.ts', import.meta.url))
const repoRoot = fileURLToPath(new URL('../../', import.meta.url))
const tempDir = useTempDirs()

interface Run {
  acked: number[]
  readyWarnings: number
}

/** Starts the writer, waits for `killAfter` acknowledgements, SIGKILLs it and waits until it is gone. */
async function runAndKill(file: string, startSeq: number, killAfter: number): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, file, String(startSeq)], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = once(child, 'exit')
  const acked: number[] = []
  let readyWarnings = -1
  const lines = createInterface({ input: child.stdout })
  const linesClosed = once(lines, 'close')
  const killed = new Promise<void>((resolve, reject) => {
    lines.on('line', (line) => {
      const [word, value] = line.split(' ')
      if (word === 'ready') readyWarnings = Number(value)
      if (word === 'ack') acked.push(Number(value))
      if (acked.length === killAfter) {
        child.kill('SIGKILL')
        resolve()
      }
    })
    child.on('exit', () => (acked.length < killAfter ? reject(new Error(`writer exited early:\n${stderr}`)) : resolve()))
  })
  try {
    await killed
  } finally {
    // Never leave a writer running, whatever went wrong above.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  const [code, signal] = await exited
  // Lines already in the pipe when the child died were acknowledged too; read them all.
  await linesClosed
  expect({ code, signal }).toEqual({ code: null, signal: 'SIGKILL' })
  return { acked, readyWarnings }
}

describe('ClientLog durability', () => {
  it('keeps every acknowledged record when the writer is killed with SIGKILL', async () => {
    const file = path.join(tempDir(), 'client-log.sqlite')
    const allAcked: number[] = []
    // Several rounds: each run starts on the database (and stale lock) the previous kill left behind.
    const rounds = [
      { start: 0, killAfter: 400 },
      { start: 100_000, killAfter: 1500 },
      { start: 200_000, killAfter: 50 }
    ]
    for (const [i, round] of rounds.entries()) {
      const run = await runAndKill(file, round.start, round.killAfter)
      expect(run.readyWarnings).toBe(i === 0 ? 0 : 1)
      expect(run.acked.length).toBeGreaterThanOrEqual(round.killAfter)
      allAcked.push(...run.acked)
      // The killed process leaves its lock behind.
      expect(fs.existsSync(`${file}.lock`)).toBe(true)
    }

    const log = await ClientLog.open(file, { retentionDays: 30, now: () => Date.now() })
    try {
      expect(log.openWarnings[0]).toMatch(/stale lock/)
      expect(await log.integrityCheck()).toEqual({ ok: true, messages: ['ok'] })
      const stored = new Set((await log.recent(1_000_000)).map((row) => Number(row.workstationName?.slice(4))))
      const missing = allAcked.filter((seq) => !stored.has(seq))
      expect(missing).toEqual([])
    } finally {
      await log.close()
    }
    expect(execFileSync('sqlite3', [file, 'PRAGMA integrity_check'], { encoding: 'utf8' }).trim()).toBe('ok')
  })
})
