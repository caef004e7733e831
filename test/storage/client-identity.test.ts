import fs from 'node:fs'
import path from 'node:path'
import { describe, it, expect } from 'vitest'
import { ClientIdentityStore, randomUuidV4 } from '../../src-main/storage/client-identity'
import type { StoreWarning } from '../../src-main/storage/json-store'
import { useTempDirs, fixedClock } from './temp-dir'

const tempDir = useTempDirs()

/** Deterministic "random" bytes: 0, 1, 2, ... continuing across calls; counts how many calls were made. */
function countingRandom(start = 0) {
  let next = start
  const source = {
    calls: 0,
    random: (n: number) => {
      source.calls += 1
      return Uint8Array.from({ length: n }, () => next++ & 0xff)
    }
  }
  return source
}

function makeIdentity(file: string, random = countingRandom().random) {
  const warnings: StoreWarning[] = []
  const clock = fixedClock('2026-05-06T07:08:09.000Z')
  const store = new ClientIdentityStore({ file, random, now: clock.now, onWarning: (w) => warnings.push(w) })
  return { store, warnings, clock }
}

describe('randomUuidV4', () => {
  it('sets the version 4 and RFC 4122 variant bits on the injected bytes', () => {
    expect(randomUuidV4(() => Uint8Array.from({ length: 16 }, (_, i) => i))).toBe('00010203-0405-4607-8809-0a0b0c0d0e0f')
    expect(randomUuidV4(() => new Uint8Array(16).fill(0xff))).toBe('ffffffff-ffff-4fff-bfff-ffffffffffff')
  })
})

describe('ClientIdentityStore', () => {
  it('creates one CMID on first use and persists it before returning it', async () => {
    const file = path.join(tempDir(), 'identity.json')
    const { store, warnings } = makeIdentity(file)
    const identity = await store.get()
    expect(identity).toEqual({
      version: 1,
      cmid: '00010203-0405-4607-8809-0a0b0c0d0e0f',
      createdAt: '2026-05-06T07:08:09.000Z',
      previousCmid: null
    })
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual(identity)
    expect(warnings).toEqual([])
  })

  it('reuses the stored CMID in every later check and process without rewriting the file', async () => {
    const file = path.join(tempDir(), 'identity.json')
    const first = await makeIdentity(file).store.get()
    const hand = `{"version":1,"cmid":"${first.cmid}","createdAt":null,"previousCmid":null}`
    fs.writeFileSync(file, hand)
    const random = countingRandom(100)
    const { store } = makeIdentity(file, random.random)
    for (let i = 0; i < 3; i += 1) expect((await store.get()).cmid).toBe(first.cmid)
    expect((await makeIdentity(file, random.random).store.get()).cmid).toBe(first.cmid)
    expect(random.calls).toBe(0)
    expect(fs.readFileSync(file, 'utf8')).toBe(hand)
  })

  it('creates only one identity when two stores (app and CLI) start at the same time', async () => {
    const file = path.join(tempDir(), 'identity.json')
    const a = makeIdentity(file, countingRandom(0).random).store
    const b = makeIdentity(file, countingRandom(50).random).store
    const [ia, ib] = await Promise.all([a.get(), b.get()])
    expect(ia.cmid).toBe(ib.cmid)
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).cmid).toBe(ia.cmid)
  })

  it('renews on request and records the previous CMID (for CMID_prev)', async () => {
    const file = path.join(tempDir(), 'identity.json')
    const { store } = makeIdentity(file)
    const original = await store.get()
    const renewed = await store.renew()
    expect(renewed.cmid).not.toBe(original.cmid)
    expect(renewed.cmid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(renewed.previousCmid).toBe(original.cmid)
    expect(await store.get()).toEqual(renewed)
    const reloaded = await makeIdentity(file, countingRandom(200).random).store.get()
    expect(reloaded).toEqual(renewed)
    const again = await store.renew()
    expect(again.previousCmid).toBe(renewed.cmid)
  })

  it('replaces a corrupt identity file with a new CMID and says where the old file went', async () => {
    const dir = tempDir()
    const file = path.join(dir, 'identity.json')
    fs.writeFileSync(file, '{"cmid": ')
    const { store, warnings } = makeIdentity(file)
    const identity = await store.get()
    expect(identity.cmid).toBe('00010203-0405-4607-8809-0a0b0c0d0e0f')
    expect(warnings).toHaveLength(1)
    expect(warnings[0]?.kind).toBe('corrupt-json')
    const movedTo = path.join(dir, 'identity.json.corrupt-2026-05-06T07-08-09-000Z')
    expect(warnings[0]?.movedTo).toBe(movedTo)
    expect(fs.readFileSync(movedTo, 'utf8')).toBe('{"cmid": ')
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).cmid).toBe(identity.cmid)
  })

  it('keeps a valid CMID when only an informational field is broken', async () => {
    const file = path.join(tempDir(), 'identity.json')
    const cmid = '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d'
    fs.writeFileSync(file, JSON.stringify({ version: 1, cmid: cmid.toUpperCase(), createdAt: 'yesterday', previousCmid: null }))
    const { store, warnings } = makeIdentity(file)
    const identity = await store.get()
    expect(identity.cmid).toBe(cmid)
    expect(identity.createdAt).toBeNull()
    expect(warnings[0]?.kind).toBe('fields-reset')
  })

  it('does not accept the zero GUID as an identity', async () => {
    const file = path.join(tempDir(), 'identity.json')
    fs.writeFileSync(file, JSON.stringify({ version: 1, cmid: '00000000-0000-0000-0000-000000000000' }))
    const { store, warnings } = makeIdentity(file)
    expect((await store.get()).cmid).toBe('00010203-0405-4607-8809-0a0b0c0d0e0f')
    expect(warnings[0]?.kind).toBe('schema-invalid')
  })
})
