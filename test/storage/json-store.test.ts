import fs from 'node:fs'
import path from 'node:path'
import { describe, it, expect } from 'vitest'
import { z } from 'zod'
import { JsonStore, fileSafeTimestamp } from '../../src-main/storage/json-store'
import type { StoreFileOps } from '../../src-main/storage/json-store'
import { useTempDirs, fixedClock } from './temp-dir'

const schema = z.object({
  name: z.string().min(1).default('unnamed'),
  port: z.number().int().min(1).max(65_535).default(1688),
  nested: z.object({ enabled: z.boolean().default(true), tags: z.array(z.string()).default(['a']) }).prefault({}),
  peers: z.record(z.string(), z.object({ host: z.string(), port: z.number().int() })).default({})
})

/** a schema with a required field (no default) */
const identitySchema = z.object({ id: z.string().regex(/^[0-9a-f]{8}$/), note: z.string().default('') })

const tempDir = useTempDirs()

function makeStore(
  options: {
    dir?: string
    clock?: ReturnType<typeof fixedClock>
    fileOps?: Partial<StoreFileOps>
    renameRetries?: number
    onInvalid?: 'salvage' | 'reject'
  } = {}
) {
  const dir = options.dir ?? tempDir()
  const file = path.join(dir, 'settings.json')
  const clock = options.clock ?? fixedClock('2026-11-25T10:20:30.123Z')
  const store = new JsonStore({
    file,
    schema,
    defaults: () => schema.parse({}),
    now: clock.now,
    ...(options.fileOps ? { fileOps: options.fileOps } : {}),
    ...(options.renameRetries !== undefined ? { renameRetries: options.renameRetries } : {}),
    ...(options.onInvalid ? { onInvalid: options.onInvalid } : {})
  })
  return { store, file, dir, clock }
}

describe('JsonStore.load', () => {
  it('gives the defaults for a missing file without creating it', async () => {
    const { store, file } = makeStore()
    const result = await store.load()
    expect(result.value).toEqual({ name: 'unnamed', port: 1688, nested: { enabled: true, tags: ['a'] }, peers: {} })
    expect(result.warnings).toEqual([])
    expect(fs.existsSync(file)).toBe(false)
  })

  it('round-trips a saved value, also through a new store instance', async () => {
    const { store, dir } = makeStore()
    const value = { name: 'lab', port: 11688, nested: { enabled: false, tags: ['x', 'y'] }, peers: { p: { host: 'h', port: 1 } } }
    expect(await store.save(value)).toEqual(value)
    expect((await store.load()).value).toEqual(value)
    const again = makeStore({ dir })
    expect(await again.store.load()).toEqual({ value, warnings: [] })
  })

  it('accepts a UTF-8 byte order mark (Notepad writes one)', async () => {
    const { store, file } = makeStore()
    fs.writeFileSync(file, '\uFEFF{"name":"bom"}')
    const result = await store.load()
    expect(result.value.name).toBe('bom')
    expect(result.warnings).toEqual([])
  })

  it('moves a file with broken JSON aside, uses defaults and says where the file went', async () => {
    const { store, file, dir } = makeStore()
    fs.writeFileSync(file, '{"name": "half')
    const result = await store.load()
    const expectedTarget = path.join(dir, 'settings.json.corrupt-2026-11-25T10-20-30-123Z')
    expect(result.value).toEqual(schema.parse({}))
    expect(result.warnings).toHaveLength(1)
    expect(result.warnings[0]).toMatchObject({ kind: 'corrupt-json', file, movedTo: expectedTarget })
    expect(result.warnings[0]?.message).toContain(expectedTarget)
    expect(fs.readFileSync(expectedTarget, 'utf8')).toBe('{"name": "half')
    expect(fs.existsSync(file)).toBe(false)
    // Nothing left to complain about on the next load.
    expect(await store.load()).toEqual({ value: schema.parse({}), warnings: [] })
  })

  it('does not overwrite an earlier corrupt copy with the same timestamp', async () => {
    const { store, file, dir } = makeStore()
    fs.writeFileSync(file, 'first')
    await store.load()
    fs.writeFileSync(file, 'second')
    const result = await store.load()
    expect(result.warnings[0]?.movedTo).toBe(path.join(dir, 'settings.json.corrupt-2026-11-25T10-20-30-123Z-1'))
    expect(fs.readFileSync(path.join(dir, 'settings.json.corrupt-2026-11-25T10-20-30-123Z'), 'utf8')).toBe('first')
    expect(fs.readFileSync(path.join(dir, 'settings.json.corrupt-2026-11-25T10-20-30-123Z-1'), 'utf8')).toBe('second')
  })

  it('moves a schema-invalid file aside with policy reject', async () => {
    const { store, file, dir } = makeStore({ onInvalid: 'reject' })
    fs.writeFileSync(file, JSON.stringify({ name: 'kept?', port: 0 }))
    const result = await store.load()
    const target = path.join(dir, 'settings.json.corrupt-2026-11-25T10-20-30-123Z')
    expect(result.value).toEqual(schema.parse({}))
    expect(result.warnings[0]).toMatchObject({ kind: 'schema-invalid', movedTo: target })
    expect(result.warnings[0]?.issues?.[0]).toMatch(/^port: /)
    expect(JSON.parse(fs.readFileSync(target, 'utf8'))).toEqual({ name: 'kept?', port: 0 })
  })

  it('salvages valid fields, resets invalid ones, keeps the original and writes the repaired file', async () => {
    const { store, file, dir } = makeStore()
    const original = JSON.stringify({
      name: 'my lab',
      port: 'not a port',
      nested: { enabled: false, tags: ['ok', 7] },
      peers: { good: { host: 'a', port: 1 }, bad: { host: 'b', port: 'x' } }
    })
    fs.writeFileSync(file, original)
    const result = await store.load()
    expect(result.value).toEqual({
      name: 'my lab',
      port: 1688,
      nested: { enabled: false, tags: ['a'] },
      peers: { good: { host: 'a', port: 1 } }
    })
    const warning = result.warnings[0]
    expect(result.warnings).toHaveLength(1)
    expect(warning?.kind).toBe('fields-reset')
    expect(warning?.message).toContain('port')
    expect(warning?.message).toContain('nested.tags')
    expect(warning?.message).toContain('peers.bad')
    expect(warning?.message).toContain(warning?.movedTo)
    expect(fs.readFileSync(path.join(dir, 'settings.json.corrupt-2026-11-25T10-20-30-123Z'), 'utf8')).toBe(original)
    // The repaired value is on disk, so the next load is clean and keeps the salvaged fields.
    expect(await store.load()).toEqual({ value: result.value, warnings: [] })
  })

  it('treats a file as corrupt when a required field without a default is invalid', async () => {
    const dir = tempDir()
    const file = path.join(dir, 'identity.json')
    const store = new JsonStore({ file, schema: identitySchema, defaults: () => ({ id: '00000000', note: '' }) })
    fs.writeFileSync(file, JSON.stringify({ id: 'nope', note: 'keep me?' }))
    const result = await store.load()
    expect(result.value).toEqual({ id: '00000000', note: '' })
    expect(result.warnings[0]?.kind).toBe('schema-invalid')
    expect(fs.existsSync(file)).toBe(false)
  })

  it('treats JSON that is not an object as corrupt', async () => {
    const { store, file } = makeStore()
    fs.writeFileSync(file, '[1, 2, 3]')
    const result = await store.load()
    expect(result.warnings[0]?.kind).toBe('schema-invalid')
    expect(result.value).toEqual(schema.parse({}))
  })

  it('still loads (defaults + warning) when the bad file cannot be moved aside', async () => {
    const readOnly: StoreFileOps = { rename: () => Promise.reject(Object.assign(new Error('read-only file system'), { code: 'EROFS' })) }
    const { store, file } = makeStore({ fileOps: readOnly })
    fs.writeFileSync(file, 'not json')
    const result = await store.load()
    expect(result.value).toEqual(schema.parse({}))
    expect(result.warnings[0]?.kind).toBe('corrupt-json')
    expect(result.warnings[0]?.movedTo).toBeUndefined()
    expect(result.warnings[0]?.message).toContain('left in place')
    expect(fs.readFileSync(file, 'utf8')).toBe('not json')
  })

  it('reports an unreadable path without moving it', async () => {
    const { store, file } = makeStore()
    fs.mkdirSync(file)
    const result = await store.load()
    expect(result.warnings[0]?.kind).toBe('unreadable')
    expect(result.warnings[0]?.movedTo).toBeUndefined()
    expect(fs.statSync(file).isDirectory()).toBe(true)
    expect(result.value).toEqual(schema.parse({}))
  })
})

describe('JsonStore.save', () => {
  it('rejects an invalid value and leaves the file alone', async () => {
    const { store, file } = makeStore()
    await store.save({ name: 'before' })
    const before = fs.readFileSync(file, 'utf8')
    await expect(store.save({ name: '' })).rejects.toThrow()
    expect(fs.readFileSync(file, 'utf8')).toBe(before)
  })

  it('creates missing directories and leaves no temporary files', async () => {
    const root = tempDir()
    const dir = path.join(root, 'a', 'b')
    const { store } = makeStore({ dir })
    for (let i = 0; i < 20; i += 1) await store.save({ name: `v${i}` })
    expect(fs.readdirSync(dir)).toEqual(['settings.json'])
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'settings.json'), 'utf8')).name).toBe('v19')
  })

  it('removes its temporary file and keeps the old content when the rename fails', async () => {
    const failing: StoreFileOps = {
      rename: () => Promise.reject(Object.assign(new Error('cross-device'), { code: 'EXDEV' }))
    }
    const dir = tempDir()
    fs.writeFileSync(path.join(dir, 'settings.json'), '{"name":"old"}')
    const { store } = makeStore({ dir, fileOps: failing })
    await expect(store.save({ name: 'new' })).rejects.toThrow('cross-device')
    expect(fs.readdirSync(dir)).toEqual(['settings.json'])
    expect(fs.readFileSync(path.join(dir, 'settings.json'), 'utf8')).toBe('{"name":"old"}')
  })

  it('retries a rename refused with EPERM/EBUSY (Windows) and then succeeds', async () => {
    const failures = ['EPERM', 'EBUSY']
    let attempts = 0
    const flaky: StoreFileOps = {
      rename: (from, to) => {
        attempts += 1
        const code = failures.shift()
        return code ? Promise.reject(Object.assign(new Error(code), { code })) : fs.promises.rename(from, to)
      }
    }
    const { store, file } = makeStore({ fileOps: flaky })
    await store.save({ name: 'eventually' })
    expect(attempts).toBe(3)
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).name).toBe('eventually')
  })

  it('gives up after the bounded number of retries', async () => {
    let attempts = 0
    const locked: StoreFileOps = {
      rename: () => {
        attempts += 1
        return Promise.reject(Object.assign(new Error('busy'), { code: 'EBUSY' }))
      }
    }
    const { store, dir } = makeStore({ fileOps: locked, renameRetries: 2 })
    await expect(store.save({ name: 'x' })).rejects.toThrow('busy')
    expect(attempts).toBe(3)
    expect(fs.readdirSync(dir)).toEqual([])
  })

  it('runs concurrent saves one at a time, in call order; the last one wins', async () => {
    let active = 0
    let maxActive = 0
    const order: string[] = []
    const tracking: StoreFileOps = {
      rename: async (from, to) => {
        active += 1
        maxActive = Math.max(maxActive, active)
        await fs.promises.rename(from, to)
        order.push(JSON.parse(fs.readFileSync(to, 'utf8')).name)
        active -= 1
      }
    }
    const { store, file, dir } = makeStore({ fileOps: tracking })
    const names = Array.from({ length: 25 }, (_, i) => `save-${i}`)
    const settled: string[] = []
    await Promise.all(names.map((name) => store.save({ name }).then((v) => settled.push(v.name))))
    expect(maxActive).toBe(1)
    expect(order).toEqual(names)
    expect(settled).toEqual(names)
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).name).toBe('save-24')
    expect(fs.readdirSync(dir)).toEqual(['settings.json'])
  })

  it('keeps working after a failed save in the queue', async () => {
    const { store } = makeStore()
    const results = await Promise.allSettled([store.save({ name: 'a' }), store.save({ port: -1 }), store.save({ name: 'c' })])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect((await store.load()).value.name).toBe('c')
  })
})

describe('JsonStore.update and createIfAbsent', () => {
  it('does not lose concurrent read-modify-write updates', async () => {
    const { store } = makeStore()
    await Promise.all(Array.from({ length: 15 }, () => store.update((v) => ({ ...v, port: v.port + 1 }))))
    expect((await store.load()).value.port).toBe(1688 + 15)
  })

  it('creates a file only once, even from two store instances at the same time', async () => {
    const dir = tempDir()
    const file = path.join(dir, 'identity.json')
    const a = new JsonStore({ file, schema: identitySchema, defaults: () => ({ id: '00000000', note: '' }) })
    const b = new JsonStore({ file, schema: identitySchema, defaults: () => ({ id: '00000000', note: '' }) })
    const [ra, rb] = await Promise.all([a.createIfAbsent({ id: 'aaaaaaaa' }), b.createIfAbsent({ id: 'bbbbbbbb' })])
    expect([ra.created, rb.created].sort()).toEqual([false, true])
    expect(ra.value.id).toBe(rb.value.id)
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).id).toBe(ra.value.id)
    expect(fs.readdirSync(dir)).toEqual(['identity.json'])
  })
})

describe('fileSafeTimestamp', () => {
  it('has no characters Windows forbids in file names', () => {
    const stamp = fileSafeTimestamp(new Date('2026-01-02T03:04:05.678Z'))
    expect(stamp).toBe('2026-01-02T03-04-05-678Z')
    expect(stamp).not.toMatch(/[<>:"/\\|?*]/)
  })
})
