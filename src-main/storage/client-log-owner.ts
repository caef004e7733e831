/**
 * The owner lock: one writer per client log. Two writers would fight over SQLite's exclusive lock, so a second
 * opener must be refused with a clear message instead.
 *
 * node-sqlite3-wasm locks by creating the directory `<db>.lock` (the scheme SQLite's `unix-dotfile` VFS uses).
 * The client log holds it for the whole session (locking_mode=EXCLUSIVE, which WAL needs because this VFS has no
 * shared memory). A process killed with -9 leaves that directory behind, so we also write `<db>.owner` (pid,
 * host) and remove a lock left by an owner that is no longer running.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/** The database is used by another running process (or another ClientLog in this one). */
export class ClientLogBusyError extends Error {
  override name = 'ClientLogBusyError'
}

/** Files opened by this process, to refuse a second connection (it would fight over the exclusive lock). */
const openInThisProcess = new Set<string>()

interface OwnerRecord {
  pid: number
  hostname: string
  startedAt: string
}

/**
 * Makes this process the owner of the log at `file` (an absolute path), creating its directory if needed.
 * Returns warnings about stale locks it removed. Throws ClientLogBusyError if the log is already in use.
 */
export function claimOwnership(file: string): string[] {
  if (openInThisProcess.has(file)) throw new ClientLogBusyError(`${file} is already open in this process`)
  fs.mkdirSync(path.dirname(file), { recursive: true })
  const warnings = writeOwnerFile(file)
  openInThisProcess.add(file)
  return warnings
}

/**
 * Reserves `file` for a client log whose database is opened by a writer thread of this process
 * (client-log-threaded.ts): module state is per thread, so the thread's own claim could not see a ClientLog of this
 * thread on the same file, nor this thread one of the writer's. Throws ClientLogBusyError if it is taken here.
 */
export function reserveInThisProcess(file: string): void {
  if (openInThisProcess.has(file)) throw new ClientLogBusyError(`${file} is already open in this process`)
  openInThisProcess.add(file)
}

/** Gives up what reserveInThisProcess() took. */
export function unreserveInThisProcess(file: string): void {
  openInThisProcess.delete(file)
}

/** Gives up what claimOwnership() took (the VFS lock itself goes away when the database closes). */
export function releaseOwnership(file: string): void {
  openInThisProcess.delete(file)
  const ownerFile = `${file}.owner`
  const owner = readOwner(ownerFile)
  if (owner !== undefined && owner !== null && owner.pid === process.pid) fs.rmSync(ownerFile, { force: true })
}

/**
 * Claims `<db>.owner` for this process. A live owner means the log is in use (ClientLogBusyError). A dead
 * owner on this machine means it was killed: its `<db>.lock` directory (the VFS lock) is stale and removed.
 */
function writeOwnerFile(file: string): string[] {
  const ownerFile = `${file}.owner`
  const lockDir = `${file}.lock`
  const warnings: string[] = []
  const owner = readOwner(ownerFile)
  if (owner !== undefined) {
    if (owner !== null && owner.hostname !== os.hostname()) {
      throw new ClientLogBusyError(
        `${file} is in use by process ${owner.pid} on ${owner.hostname} (since ${owner.startedAt}). ` +
          `If that is no longer true, delete ${ownerFile} and ${lockDir}.`
      )
    }
    if (owner !== null && isProcessAlive(owner.pid)) {
      throw new ClientLogBusyError(`${file} is in use by process ${owner.pid} (since ${owner.startedAt})`)
    }
    fs.rmSync(ownerFile, { force: true })
    if (fs.existsSync(lockDir)) {
      fs.rmdirSync(lockDir)
      warnings.push(
        `Removed the stale lock ${lockDir} left by process ${owner?.pid ?? '(unknown)'}, which is no longer running; ` +
          'its committed records are kept.'
      )
    }
  } else if (fs.existsSync(lockDir)) {
    // A lock with no owner file was not taken by KMS Scout (e.g. sqlite3 -vfs unix-dotfile holding it right now).
    throw new ClientLogBusyError(
      `${file} is locked by another program (${lockDir} exists). Close it and try again, or delete ${lockDir} if nothing uses the file.`
    )
  }
  const record: OwnerRecord = { pid: process.pid, hostname: os.hostname(), startedAt: new Date().toISOString() }
  try {
    fs.writeFileSync(ownerFile, `${JSON.stringify(record)}\n`, { flag: 'wx' })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new ClientLogBusyError(`${file} was opened by another process at the same moment`)
    }
    throw error
  }
  return warnings
}

/** undefined: no owner file; null: a file we cannot read as an owner record (treated as stale). */
function readOwner(ownerFile: string): OwnerRecord | null | undefined {
  let text: string
  try {
    text = fs.readFileSync(ownerFile, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  try {
    const value = JSON.parse(text) as Partial<OwnerRecord>
    if (typeof value.pid === 'number' && typeof value.hostname === 'string') {
      return { pid: value.pid, hostname: value.hostname, startedAt: String(value.startedAt) }
    }
  } catch {
    // fall through
  }
  return null
}

function isProcessAlive(pid: number): boolean {
  if (pid === process.pid) return false // our own earlier session that did not close; this process owns it now
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it exists but belongs to someone else
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
