import fs from 'node:fs'
import path from 'node:path'
import { describe, it, expect } from 'vitest'
import { HostCache } from '../../src-main/storage/host-cache'
import type { StoreWarning } from '../../src-main/storage/json-store'
import { useTempDirs, fixedClock } from './temp-dir'

const WINDOWS = '55c92734-d682-4d71-983e-d6ec3f16059f'
const OFFICE_2013 = '0ff1ce15-a989-479d-af46-f275c6370663'
const tempDir = useTempDirs()

function makeCache(file: string) {
  const warnings: StoreWarning[] = []
  const clock = fixedClock('2026-02-01T12:00:00.000Z')
  const cache = new HostCache({ file, now: clock.now, onWarning: (w) => warnings.push(w) })
  return { cache, clock, warnings }
}

describe('HostCache', () => {
  it('is empty at first', async () => {
    const { cache } = makeCache(path.join(tempDir(), 'host-cache.json'))
    expect(await cache.get(WINDOWS)).toBeNull()
    expect(await cache.all()).toEqual({})
  })

  it('stores the host that answered, per application, and persists it', async () => {
    const file = path.join(tempDir(), 'host-cache.json')
    const { cache } = makeCache(file)
    const entry = await cache.recordSuccess(WINDOWS.toUpperCase(), { host: 'kms1.corp.example', port: 1688, address: '192.0.2.10' })
    expect(entry).toEqual({
      host: 'kms1.corp.example',
      port: 1688,
      address: '192.0.2.10',
      cachedAt: '2026-02-01T12:00:00.000Z',
      lastSuccessAt: '2026-02-01T12:00:00.000Z'
    })
    expect(await cache.get(WINDOWS)).toEqual(entry)
    expect(await cache.get(OFFICE_2013)).toBeNull()
    expect(await makeCache(file).cache.get(WINDOWS)).toEqual(entry)
  })

  it('keeps cachedAt while the same host keeps answering; a new host starts a new entry', async () => {
    const { cache, clock } = makeCache(path.join(tempDir(), 'host-cache.json'))
    await cache.recordSuccess(WINDOWS, { host: 'kms1', port: 1688 })
    clock.set('2026-02-08T12:00:00.000Z')
    const same = await cache.recordSuccess(WINDOWS, { host: 'kms1', port: 1688 })
    expect(same.cachedAt).toBe('2026-02-01T12:00:00.000Z')
    expect(same.lastSuccessAt).toBe('2026-02-08T12:00:00.000Z')
    expect(same.address).toBeUndefined()
    clock.set('2026-02-09T00:00:00.000Z')
    const other = await cache.recordSuccess(WINDOWS, { host: 'kms1', port: 11688 })
    expect(other.cachedAt).toBe('2026-02-09T00:00:00.000Z')
  })

  it('clears one application on failure and everything on request', async () => {
    const { cache } = makeCache(path.join(tempDir(), 'host-cache.json'))
    await cache.recordSuccess(WINDOWS, { host: 'kms1', port: 1688 })
    await cache.recordSuccess(OFFICE_2013, { host: 'kms2', port: 1688 })
    await cache.clear(WINDOWS)
    expect(await cache.get(WINDOWS)).toBeNull()
    expect((await cache.get(OFFICE_2013))?.host).toBe('kms2')
    await cache.clearAll()
    expect(await cache.all()).toEqual({})
  })

  it('does not lose entries when several applications succeed at once', async () => {
    const { cache } = makeCache(path.join(tempDir(), 'host-cache.json'))
    await Promise.all([cache.recordSuccess(WINDOWS, { host: 'a', port: 1 }), cache.recordSuccess(OFFICE_2013, { host: 'b', port: 2 })])
    expect(Object.keys(await cache.all()).sort()).toEqual([OFFICE_2013, WINDOWS])
  })

  it('drops a broken entry, keeps the others and warns', async () => {
    const file = path.join(tempDir(), 'host-cache.json')
    const good = { host: 'kms2', port: 1688, cachedAt: '2026-01-01T00:00:00.000Z', lastSuccessAt: '2026-01-02T00:00:00.000Z' }
    fs.writeFileSync(file, JSON.stringify({ version: 1, entries: { [WINDOWS]: { ...good, port: 'x' }, [OFFICE_2013]: good } }))
    const { cache, warnings } = makeCache(file)
    expect(await cache.all()).toEqual({ [OFFICE_2013]: good })
    expect(warnings[0]?.kind).toBe('fields-reset')
    expect(warnings[0]?.message).toContain(`entries.${WINDOWS}`)
  })

  it('rejects something that is not an application GUID', async () => {
    const { cache } = makeCache(path.join(tempDir(), 'host-cache.json'))
    await expect(cache.get('Windows')).rejects.toThrow(TypeError)
  })
})
