/**
 * Durability of the lab host under `kill -9`: a host in a child process serves 16 concurrent clients (one
 * connection per exchange, a new CMID each); once enough responses have been verified we SIGKILL it in the middle
 * of the load, start it again on the same directory, load and kill it again, then restart it in-process and check:
 * `PRAGMA integrity_check` is ok (ours and the sqlite3 tool's), every acknowledged request — one whose response the
 * client received and verified — is in the log, and the restarted host kept its identity and its counts. The same
 * with a worker process serving part of the clients: killing the owner ends the worker too.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { baseFor, kmsExchange, newCmid, PRODUCT_BY_PROTOCOL } from '../helpers/lab-host-client'
import { useLabHosts } from '../helpers/lab-host-fixture'

const child = fileURLToPath(new URL('../helpers/lab-host-child.ts', import.meta.url))
const repoRoot = fileURLToPath(new URL('../../', import.meta.url))
const labs = useLabHosts()
const CLIENTS = 16

interface Round {
  acked: string[]
  epids: Set<string>
}

async function startChild(
  dir: string,
  workers: number
): Promise<{ proc: ChildProcess; port: number; exited: Promise<unknown[]>; stderrClosed: Promise<unknown>; stderr: () => string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', child, dir, String(workers)], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stderr = ''
  proc.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  // Worker processes inherit the child's stderr: the pipe ends only when the child and all its workers are gone.
  const stderrClosed = once(proc.stderr!, 'end')
  const exited = once(proc, 'exit')
  const lines = createInterface({ input: proc.stdout! })
  const port = await new Promise<number>((resolve, reject) => {
    lines.on('line', (line) => {
      const m = /^ready (\d+)$/.exec(line)
      if (m) resolve(Number(m[1]))
    })
    proc.once('exit', () => reject(new Error(`lab host child exited before it was ready:\n${stderr}`)))
  })
  return { proc, port, exited, stderrClosed, stderr: () => stderr }
}

/** Runs CLIENTS workers against `port` and SIGKILLs `proc` after `killAfter` verified responses. */
async function loadAndKill(proc: ChildProcess, port: number, killAfter: number): Promise<Round> {
  const round: Round = { acked: [], epids: new Set() }
  let killed = false
  const worker = async (): Promise<void> => {
    while (!killed) {
      const cmid = newCmid()
      let outcome
      try {
        outcome = await kmsExchange(port, baseFor(PRODUCT_BY_PROTOCOL[6], { cmid }))
      } catch {
        if (killed) return // reset / refused by the dead host: not acknowledged
        throw new Error('exchange failed before the kill')
      }
      if (outcome.kind !== 'response') throw new Error(`unverified answer: ${outcome.kind}`)
      round.acked.push(cmid)
      round.epids.add(outcome.response.base.epid)
      if (round.acked.length >= killAfter && !killed) {
        killed = true
        proc.kill('SIGKILL')
      }
    }
  }
  await Promise.all(Array.from({ length: CLIENTS }, worker))
  return round
}

describe('lab host: kill -9 under load', () => {
  it.each([0, 1])('keeps every acknowledged request and an intact database across two SIGKILLs (%i worker processes)', async (workers) => {
    const dir = labs.tempDir()
    const acked: string[] = []
    const epids = new Set<string>()
    for (const killAfter of [400, 250]) {
      const { proc, port, exited, stderrClosed } = await startChild(dir, workers)
      const round = await loadAndKill(proc, port, killAfter)
      const [code, signal] = await exited
      expect({ code, signal }).toEqual({ code: null, signal: 'SIGKILL' })
      // with workers: they noticed the owner's death and exited (no orphan keeps the port or answers unlogged)
      await stderrClosed
      expect(round.acked.length).toBeGreaterThanOrEqual(killAfter)
      acked.push(...round.acked)
      for (const e of round.epids) epids.add(e)
    }
    // one identity across both runs
    expect(epids.size).toBe(1)

    // restart in-process on the same directory
    const { host, port } = await labs.start({ dir })
    const log = host.clientLog!
    expect(await log.integrityCheck()).toEqual({ ok: true, messages: ['ok'] })
    const stored = new Set((await log.recent(1_000_000)).map((row) => row.cmid))
    expect(acked.filter((cmid) => !stored.has(cmid))).toEqual([])
    // counts were rebuilt from the log (capped at 2 × 25), and the ePID is the same
    const again = await kmsExchange(port, baseFor(PRODUCT_BY_PROTOCOL[6], { cmid: acked[0] }))
    if (again.kind !== 'response') throw new Error(again.kind)
    expect(again.response.base.count).toBe(50)
    expect(epids.has(again.response.base.epid)).toBe(true)
    await host.stop()
    expect(execFileSync('sqlite3', [path.join(dir, 'client-log.sqlite'), 'PRAGMA integrity_check'], { encoding: 'utf8' }).trim()).toBe('ok')
  })
})
