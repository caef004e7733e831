/**
 * A small JSON file store validated by a zod schema, used for settings, the client identity (CMID) and the
 * KMS host cache.
 *
 * Guarantees:
 * - `load()` never throws because of the file's content. A missing file gives the defaults. A file that is not
 *   JSON, or that fails the schema and cannot be repaired, is renamed to `<name>.corrupt-<timestamp>` and the
 *   defaults are used, with a warning that names the new location — the user's data is never silently lost.
 * - Partly invalid files (policy `'salvage'`, the default): every value the schema rejects is removed and
 *   the schema's default for that field is used instead; the rest of the file is kept. The original file is
 *   still moved aside (so the hand edit is not lost) and the repaired value is written back, so the next
 *   load is clean and does not warn again. A field without a default that is invalid makes the whole file
 *   corrupt. Policy `'reject'` treats any schema failure as a corrupt file.
 * - `save()` validates first, then writes atomically: temp file in the same directory, fsync, rename over the
 *   target, fsync the directory (where the OS allows opening one). A crash leaves either the old or the new
 *   file, never a torn one.
 * - All operations of one store instance run one after another (a promise queue), in call order, so
 *   concurrent saves never interleave and the last call wins.
 */
import { promises as fsp, constants as fsConstants } from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import type { z } from 'zod'

export type StoreWarningKind =
  /** the file is not valid JSON (or not readable as text) */
  | 'corrupt-json'
  /** the file is JSON but fails the schema as a whole */
  | 'schema-invalid'
  /** some fields were invalid and were reset to their defaults; the rest was kept */
  | 'fields-reset'
  /** the file could not be read at all (permissions, it is a directory, ...) */
  | 'unreadable'

export interface StoreWarning {
  kind: StoreWarningKind
  /** a sentence for people: what was wrong, what was used instead, where the bad file went */
  message: string
  /** the file the store read */
  file: string
  /** where the original bad file was moved, if it was moved */
  movedTo?: string
  /** the schema problems, as `path: message` lines */
  issues?: string[]
}

export interface LoadResult<T> {
  value: T
  warnings: StoreWarning[]
}

/** File operations the store uses; injectable so tests can simulate Windows rename failures. */
export interface StoreFileOps {
  rename(from: string, to: string): Promise<void>
}

export type InvalidFilePolicy = 'salvage' | 'reject'

export interface JsonStoreOptions<S extends z.ZodType> {
  /** absolute path of the JSON file */
  file: string
  schema: S
  /** the value used when the file is missing or unusable; must satisfy the schema */
  defaults: () => z.output<S>
  /** what to do with a file that parses but fails the schema (see module comment); default 'salvage' */
  onInvalid?: InvalidFilePolicy
  /** clock for the `.corrupt-<timestamp>` name */
  now?: () => Date
  fileOps?: Partial<StoreFileOps>
  /** how many times a rename over the target is retried on EPERM/EBUSY/EACCES (Windows); default 5 */
  renameRetries?: number
}

/** Windows can refuse to replace a file for a moment while an antivirus or indexer has it open. */
const TRANSIENT_RENAME_ERRORS = new Set(['EPERM', 'EBUSY', 'EACCES'])

export class JsonStore<S extends z.ZodType> {
  readonly file: string
  private readonly schema: S
  private readonly defaults: () => z.output<S>
  private readonly policy: InvalidFilePolicy
  private readonly now: () => Date
  private readonly rename: (from: string, to: string) => Promise<void>
  private readonly renameRetries: number
  private queue: Promise<unknown> = Promise.resolve()

  constructor(options: JsonStoreOptions<S>) {
    this.file = options.file
    this.schema = options.schema
    this.defaults = options.defaults
    this.policy = options.onInvalid ?? 'salvage'
    this.now = options.now ?? (() => new Date())
    this.rename = options.fileOps?.rename ?? ((from, to) => fsp.rename(from, to))
    this.renameRetries = options.renameRetries ?? 5
  }

  /** Reads the file; see the module comment for what happens to missing, corrupt and partly invalid files. */
  load(): Promise<LoadResult<z.output<S>>> {
    return this.enqueue(() => this.loadNow())
  }

  /** Validates `value` (rejects with the zod error if invalid, leaving the file alone) and writes it atomically. */
  save(value: z.input<S>): Promise<z.output<S>> {
    return this.enqueue(async () => {
      const valid = this.schema.parse(value)
      await this.writeAtomic(valid)
      return valid
    })
  }

  /**
   * Read-modify-write as one queued step, so two updates from the same process cannot lose each other's change.
   * Warnings from reading the current value are returned with the result.
   */
  update(change: (current: z.output<S>) => z.input<S>): Promise<LoadResult<z.output<S>>> {
    return this.enqueue(async () => {
      const current = await this.loadNow()
      const next = this.schema.parse(change(current.value))
      await this.writeAtomic(next)
      return { value: next, warnings: current.warnings }
    })
  }

  /**
   * Writes `value` only if the file does not exist yet (atomic across processes where hard links work), else
   * loads the existing file. Used for values that must be created exactly once, like the installation's CMID:
   * if the app and the CLI start for the first time together, both end up with the same identity.
   */
  createIfAbsent(value: z.input<S>): Promise<LoadResult<z.output<S>> & { created: boolean }> {
    return this.enqueue(async () => {
      const valid = this.schema.parse(value)
      if (await this.writeExclusive(valid)) return { value: valid, warnings: [], created: true }
      return { ...(await this.loadNow()), created: false }
    })
  }

  private enqueue<T>(step: () => Promise<T>): Promise<T> {
    const result = this.queue.then(step)
    // Keep the queue alive after a failed step; the caller still sees the rejection through `result`.
    this.queue = result.catch(() => undefined)
    return result
  }

  private async loadNow(): Promise<LoadResult<z.output<S>>> {
    let text: string
    try {
      text = await fsp.readFile(this.file, 'utf8')
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return { value: this.defaults(), warnings: [] }
      // Unreadable (permissions, a directory of that name): leave it where it is — moving it may fail for the
      // same reason — and say so.
      return {
        value: this.defaults(),
        warnings: [
          {
            kind: 'unreadable',
            file: this.file,
            message: `Could not read ${this.file} (${describeError(error)}); using defaults. The file was left in place.`
          }
        ]
      }
    }

    let raw: unknown
    try {
      // A UTF-8 byte order mark (Notepad adds one) is not JSON; accept it.
      raw = JSON.parse(text.replace(/^\uFEFF/, ''))
    } catch (error) {
      const aside = await this.tryMoveAside()
      return {
        value: this.defaults(),
        warnings: [
          {
            kind: 'corrupt-json',
            file: this.file,
            ...aside.field,
            message: `${this.file} is not valid JSON (${describeError(error)}); using defaults. ${aside.sentence}`
          }
        ]
      }
    }

    const parsed = this.schema.safeParse(raw)
    if (parsed.success) return { value: parsed.data, warnings: [] }
    const issues = formatIssues(parsed.error.issues)

    if (this.policy === 'salvage') {
      const salvaged = salvage(this.schema, raw)
      if (salvaged) {
        const aside = await this.tryMoveAside()
        // Write the repaired value back so the next load is clean — but only once the original is safe.
        let rewrite = ''
        if (aside.field.movedTo !== undefined) {
          try {
            await this.writeAtomic(salvaged.value)
          } catch (error) {
            rewrite = ` The repaired values could not be written (${describeError(error)}).`
          }
        }
        return {
          value: salvaged.value,
          warnings: [
            {
              kind: 'fields-reset',
              file: this.file,
              ...aside.field,
              issues,
              message:
                `${this.file} had invalid values; reset to defaults: ${salvaged.resetPaths.join(', ')}. ` +
                `The other values were kept. ${aside.sentence}${rewrite}`
            }
          ]
        }
      }
    }

    const aside = await this.tryMoveAside()
    return {
      value: this.defaults(),
      warnings: [
        {
          kind: 'schema-invalid',
          file: this.file,
          ...aside.field,
          issues,
          message: `${this.file} does not match the expected format (${issues.join('; ')}); using defaults. ${aside.sentence}`
        }
      ]
    }
  }

  /** Moves the bad file aside; if even that fails (read-only directory, ...), it stays where it is and we say so. */
  private async tryMoveAside(): Promise<{ field: { movedTo?: string }; sentence: string }> {
    try {
      const movedTo = await this.moveAside()
      return { field: { movedTo }, sentence: `The original file was moved to ${movedTo}.` }
    } catch (error) {
      return { field: {}, sentence: `The original file could not be moved aside (${describeError(error)}) and was left in place.` }
    }
  }

  /** Renames the current file to `<name>.corrupt-<timestamp>[-n]` and returns the new path. */
  private async moveAside(): Promise<string> {
    const stamp = fileSafeTimestamp(this.now())
    for (let attempt = 0; ; attempt += 1) {
      const target = `${this.file}.corrupt-${stamp}${attempt === 0 ? '' : `-${attempt}`}`
      if (await exists(target)) continue
      await this.renameWithRetry(this.file, target)
      return target
    }
  }

  private async writeAtomic(value: unknown): Promise<void> {
    const temp = await this.writeTemp(value)
    try {
      await this.renameWithRetry(temp, this.file)
    } catch (error) {
      await fsp.rm(temp, { force: true })
      throw error
    }
    await fsyncDirectory(path.dirname(this.file))
  }

  /** Returns false if the target already exists. */
  private async writeExclusive(value: unknown): Promise<boolean> {
    const temp = await this.writeTemp(value)
    try {
      // link() fails with EEXIST instead of replacing, which makes "create once" atomic between processes.
      await fsp.link(temp, this.file)
      await fsyncDirectory(path.dirname(this.file))
      return true
    } catch (error) {
      if (errorCode(error) === 'EEXIST') return false
      // File systems without hard links (FAT, some network shares): best effort check-then-rename.
      if (await exists(this.file)) return false
      await this.renameWithRetry(temp, this.file)
      await fsyncDirectory(path.dirname(this.file))
      return true
    } finally {
      await fsp.rm(temp, { force: true })
    }
  }

  private async writeTemp(value: unknown): Promise<string> {
    const dir = path.dirname(this.file)
    await fsp.mkdir(dir, { recursive: true })
    const temp = path.join(dir, `.${path.basename(this.file)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`)
    const handle = await fsp.open(temp, 'wx', 0o600)
    try {
      await handle.writeFile(`${JSON.stringify(value, null, 2)}\n`, 'utf8')
      await handle.sync()
    } catch (error) {
      await handle.close()
      await fsp.rm(temp, { force: true })
      throw error
    }
    await handle.close()
    return temp
  }

  private async renameWithRetry(from: string, to: string): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        await this.rename(from, to)
        return
      } catch (error) {
        const code = errorCode(error)
        if (attempt >= this.renameRetries || code === undefined || !TRANSIENT_RENAME_ERRORS.has(code)) throw error
        // Back off briefly (10, 20, 40 ms ...) for whoever holds the file open to let go.
        await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** attempt))
      }
    }
  }
}

/**
 * Removes every value the schema rejects and parses again, so that fields with defaults fall back to them.
 * Returns undefined when that does not converge (an invalid field without a default, or a broken root).
 */
function salvage<S extends z.ZodType>(schema: S, raw: unknown): { value: z.output<S>; resetPaths: string[] } | undefined {
  if (!isPlainObject(raw)) return undefined
  const candidate: unknown = structuredClone(raw)
  const resetPaths: string[] = []
  // Each round removes at least one value, so the loop is bounded by the size of the file; the cap is a guard.
  for (let round = 0; round < 32; round += 1) {
    const result = schema.safeParse(candidate)
    if (result.success) return { value: result.data, resetPaths }
    let removedAny = false
    for (const issue of result.error.issues) {
      const removed = removeInvalid(candidate, removablePath(issue.path))
      if (removed === 'give-up') return undefined
      if (removed !== 'skipped') {
        removedAny = true
        resetPaths.push(formatPath(removed))
      }
    }
    if (!removedAny) return undefined
  }
  return undefined
}

/** An invalid element inside an array resets the whole array: a half list (e.g. of listen addresses) would surprise. */
function removablePath(issuePath: readonly PropertyKey[]): PropertyKey[] {
  const firstIndex = issuePath.findIndex((key) => typeof key === 'number')
  return firstIndex === -1 ? [...issuePath] : issuePath.slice(0, firstIndex)
}

/**
 * Deletes the value at `target`. If it is already missing (a required field without a default), deletes the
 * object that contains it instead, climbing until something can go; the root cannot, which means "give up".
 * 'skipped' means an enclosing value was already removed in this round; the next round re-checks.
 */
function removeInvalid(root: unknown, target: PropertyKey[]): PropertyKey[] | 'give-up' | 'skipped' {
  for (let keyPath = target; ; keyPath = keyPath.slice(0, -1)) {
    if (keyPath.length === 0) return 'give-up'
    const parent = valueAt(root, keyPath.slice(0, -1))
    if (!isPlainObject(parent)) return 'skipped'
    const last = String(keyPath[keyPath.length - 1])
    if (Object.hasOwn(parent, last)) {
      delete parent[last]
      return keyPath
    }
  }
}

function valueAt(root: unknown, keyPath: readonly PropertyKey[]): unknown {
  let node = root
  for (const key of keyPath) {
    if (!isPlainObject(node)) return undefined
    node = node[String(key)]
  }
  return node
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function formatPath(keyPath: readonly PropertyKey[]): string {
  if (keyPath.length === 0) return '(root)'
  return keyPath.map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i === 0 ? '' : '.'}${String(key)}`)).join('')
}

function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`)
}

/** ISO 8601 without ':' and '.', which Windows does not allow in file names: 2026-11-25T10-20-30-123Z. */
export function fileSafeTimestamp(date: Date): string {
  return date.toISOString().replace(/[:.]/g, '-')
}

async function fsyncDirectory(dir: string): Promise<void> {
  // Makes the rename itself durable on POSIX. Windows cannot open a directory this way (EISDIR/EPERM), and
  // NTFS journals the rename anyway, so failure here is expected there and ignored.
  let handle: fsp.FileHandle | undefined
  try {
    handle = await fsp.open(dir, fsConstants.O_RDONLY)
    await handle.sync()
  } catch {
    // see above
  } finally {
    await handle?.close().catch(() => undefined)
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fsp.lstat(file)
    return true
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false
    throw error
  }
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
