/**
 * Counting like a real host (docs/protocol.md §10.1, docs/lab-host.md): distinct CMIDs per KMS counted ID in the last
 * 30 days, capped at 2 × the highest N_Policy seen; fixed-count mode; everything survives a restart.
 */
import { describe, expect, it } from 'vitest'
import { LabHost } from '../../src-main/lab-host/lab-host'
import { baseFor, expectResponse, kmsExchange, newCmid, PRODUCT_BY_PROTOCOL, TestKmsConnection } from '../helpers/lab-host-client'
import { useLabHosts } from '../helpers/lab-host-fixture'

const labs = useLabHosts()
const WIN10 = PRODUCT_BY_PROTOCOL[6] // N = 25
const SERVER = 'Windows Server 2019 Standard' // N = 5
const DAY = 86_400_000

async function countOf(port: number, product: string, cmid: string, nPolicy?: number): Promise<number> {
  return expectResponse(await kmsExchange(port, baseFor(product, { cmid, nPolicy }))).response.base.count
}

describe('lab host: count', () => {
  it('rises with distinct CMIDs, not with repeats, and each KMS counted ID counts on its own', async () => {
    const { port } = await labs.start()
    const a = newCmid()
    const b = newCmid()
    expect(await countOf(port, WIN10, a)).toBe(1)
    expect(await countOf(port, WIN10, a)).toBe(1)
    expect(await countOf(port, WIN10, a)).toBe(1)
    expect(await countOf(port, WIN10, b)).toBe(2)
    expect(await countOf(port, WIN10, a)).toBe(2)
    // another KMS counted ID starts at 1, even for a CMID Windows 10 already counted
    expect(await countOf(port, SERVER, a)).toBe(1)
    expect(await countOf(port, WIN10, newCmid())).toBe(3)
  })

  it('several requests of one connection with new CMIDs each count (vlmcs "charging")', async () => {
    const { port } = await labs.start()
    const c = await TestKmsConnection.open(port)
    await c.bind()
    const counts: number[] = []
    for (let i = 0; i < 6; i++) counts.push(expectResponse(await c.request(baseFor(SERVER))).response.base.count)
    await c.close()
    expect(counts).toEqual([1, 2, 3, 4, 5, 6])
  })

  it('is capped at 2 × N_Policy: 10 for a server-only lab, 50 for Windows clients', async () => {
    const { port } = await labs.start()
    const server: number[] = []
    for (let i = 0; i < 13; i++) server.push(await countOf(port, SERVER, newCmid()))
    expect(server).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10, 10, 10])
    // a known client keeps getting the capped count too
    const c = await TestKmsConnection.open(port)
    await c.bind()
    let last = 0
    for (let i = 0; i < 52; i++) last = expectResponse(await c.request(baseFor(WIN10))).response.base.count
    await c.close()
    expect(last).toBe(50)
  })

  it('caps at twice the HIGHEST N_Policy seen for the KMS counted ID in the window, this request included', async () => {
    let now = Date.UTC(2026, 10, 1)
    const { port } = await labs.start({ now: () => now })
    for (let i = 0; i < 12; i++) await countOf(port, SERVER, newCmid())
    expect(await countOf(port, SERVER, newCmid())).toBe(10)
    // a client asking with N = 7 lifts the cap to 14 for everyone asking for this KMS counted ID …
    expect(await countOf(port, SERVER, newCmid(), 7)).toBe(14)
    expect(await countOf(port, SERVER, newCmid())).toBe(14)
    // … until that request leaves the 30-day window (the others are refreshed meanwhile)
    now += 29 * DAY
    expect(await countOf(port, SERVER, newCmid())).toBe(14)
    now += 2 * DAY
    const fresh = await countOf(port, SERVER, newCmid())
    expect(fresh).toBe(2) // every client older than 30 days dropped out: the one from day 29 and this one
  })

  it('forgets clients not seen for 30 days', async () => {
    let now = Date.UTC(2026, 10, 1)
    const { port } = await labs.start({ now: () => now })
    const old = newCmid()
    expect(await countOf(port, WIN10, old)).toBe(1)
    now += 10 * DAY
    expect(await countOf(port, WIN10, newCmid())).toBe(2)
    now += 21 * DAY // the first client is now 31 days old
    expect(await countOf(port, WIN10, newCmid())).toBe(2)
    expect(await countOf(port, WIN10, old)).toBe(3) // it comes back as a new client
  })

  it('fixed-count mode always answers the configured count (e.g. 3 → clients report 0xC004F038)', async () => {
    const { host, port } = await labs.start({ countMode: { fixed: 3 } })
    const outcome = expectResponse(await kmsExchange(port, baseFor(WIN10)))
    expect(outcome.response.base.count).toBe(3)
    expect(outcome.countSufficient).toBe(false) // N = 25 > 3: a Windows client stays unactivated
    expect(await countOf(port, WIN10, newCmid())).toBe(3)
    const rows = await host.clientLog!.recent(10)
    expect(rows.map((r) => r.countReturned)).toEqual([3, 3])
    expect(host.status().countMode).toEqual({ fixed: 3 })
  })

  it('a restart keeps the counts, the ePIDs and the HwId', async () => {
    const first = await labs.start()
    const cmids = [newCmid(), newCmid(), newCmid()]
    for (const cmid of cmids) await countOf(first.port, WIN10, cmid)
    const before = expectResponse(await kmsExchange(first.port, baseFor(WIN10, { cmid: cmids[0] })))
    expect(before.response.base.count).toBe(3)
    await first.host.stop()

    // a new LabHost object on the same directory: identity file and client log are read again
    const second = await labs.start({ dir: first.dir })
    expect(second.host).not.toBe(first.host)
    const after = expectResponse(await kmsExchange(second.port, baseFor(WIN10, { cmid: cmids[1] })))
    expect(after.response.base.count).toBe(3)
    expect(after.response.base.epid).toBe(before.response.base.epid)
    expect(after.response.hwid).toEqual(before.response.hwid)
    expect(await countOf(second.port, WIN10, newCmid())).toBe(4)
    expect(second.host.status().identity).toEqual(first.host.status().identity)
  })

  it('a restart keeps the highest N_Policy seen (the cap does not drop back)', async () => {
    const first = await labs.start()
    for (let i = 0; i < 11; i++) await countOf(first.port, SERVER, newCmid(), 6)
    expect(await countOf(first.port, SERVER, newCmid(), 6)).toBe(12)
    await first.host.stop()
    const second = await labs.start({ dir: first.dir })
    // an honest server client (N = 5) after the restart still sees the cap of 12 from the N = 6 clients
    expect(await countOf(second.port, SERVER, newCmid())).toBe(12)
  })

  it('refuses to start with an identity without host keys or a bad HwId, and with out-of-range options', async () => {
    const dir = labs.tempDir()
    const identity = await labs.identity(dir)
    expect(() => new LabHost({ dbPath: `${dir}/x.sqlite`, identity: { keys: [], hwid: identity.hwid } })).toThrow(/no host key/)
    expect(() => new LabHost({ dbPath: `${dir}/x.sqlite`, identity: { ...identity, hwid: new Uint8Array(4) } })).toThrow(/8 bytes/)
    expect(() => new LabHost({ dbPath: `${dir}/x.sqlite`, identity, activationInterval: 14 })).toThrow(/activationInterval/)
    expect(() => new LabHost({ dbPath: `${dir}/x.sqlite`, identity, renewalInterval: 43_201 })).toThrow(/renewalInterval/)
    expect(() => new LabHost({ dbPath: `${dir}/x.sqlite`, identity, countMode: { fixed: -1 } })).toThrow(/fixed count/)
    expect(() => new LabHost({ identity })).toThrow(/dbPath/)
  })
})
