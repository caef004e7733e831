/** Fresh temporary directories for storage tests, removed after each test. */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach } from 'vitest'

export function useTempDirs(): () => string {
  const made: string[] = []
  afterEach(() => {
    for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
  })
  return () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kms-scout-storage-'))
    made.push(dir)
    return dir
  }
}

/** A clock that only moves when told to. */
export function fixedClock(iso: string): { now: () => Date; set: (iso: string) => void } {
  let current = new Date(iso)
  return { now: () => new Date(current), set: (next) => (current = new Date(next)) }
}
