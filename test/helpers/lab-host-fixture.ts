/**
 * Lab hosts for tests: temp directories, a persisted identity, an ephemeral loopback port, and cleanup after each
 * test (hosts stopped, directories removed).
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach } from 'vitest'
import { LabHost, type LabHostOptions } from '../../src-main/lab-host/lab-host'
import type { LabHostEventName, LabHostEvents } from '../../src-main/lab-host/events'
import { LAB_HOST_IDENTITY_FILE, loadLabHostIdentity, type LabHostIdentity } from '../../src-main/lab-host/identity'
import { cryptoRandom } from './lab-host-client'

export interface LabHostFixture {
  /** a new temp directory, removed after the test */
  tempDir(): string
  /** identity persisted in `dir` (created on first use) */
  identity(dir: string): Promise<LabHostIdentity>
  /** a started host on 127.0.0.1:0 with its log and identity in `dir` (a new temp dir by default) */
  start(options?: Partial<LabHostOptions> & { dir?: string }): Promise<{ host: LabHost; port: number; dir: string; dbPath: string }>
}

export function useLabHosts(): LabHostFixture {
  const dirs: string[] = []
  const hosts: LabHost[] = []
  afterEach(async () => {
    for (const host of hosts.splice(0)) await host.stop()
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
  })
  const tempDir = (): string => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kms-scout-lab-host-'))
    dirs.push(dir)
    return dir
  }
  const identity = async (dir: string): Promise<LabHostIdentity> =>
    (await loadLabHostIdentity({ file: path.join(dir, LAB_HOST_IDENTITY_FILE), random: cryptoRandom, now: () => new Date() })).identity
  return {
    tempDir,
    identity,
    async start(options = {}) {
      const dir = options.dir ?? tempDir()
      const dbPath = options.dbPath ?? path.join(dir, 'client-log.sqlite')
      const { dir: _dir, ...rest } = options
      const host = new LabHost({
        listen: ['127.0.0.1:0'],
        identity: options.identity ?? (await identity(dir)),
        ...rest,
        ...(options.clientLog ? {} : { dbPath })
      })
      hosts.push(host)
      const [first] = await host.start()
      return { host, port: first!.port, dir, dbPath }
    }
  }
}

/** Resolves with the first event `name` that satisfies `match`. */
export function nextEvent<E extends LabHostEventName>(
  host: LabHost,
  name: E,
  match: (payload: LabHostEvents[E]) => boolean = () => true
): Promise<LabHostEvents[E]> {
  return new Promise((resolve) => {
    const off = host.on(name, (payload) => {
      if (match(payload)) {
        off()
        resolve(payload)
      }
    })
  })
}

/** Resolves once the host has no open connection (the last 'close' has been handled). */
export async function waitForNoConnections(host: LabHost): Promise<void> {
  if (host.status().counters.connections.active === 0) return
  await nextEvent(host, 'connection-closed', () => host.status().counters.connections.active === 0)
}
