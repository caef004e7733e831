import { describe, expect, it } from 'vitest'
import { runCli } from '../../src-main/cli/run'
import { productCatalog } from '../../src-main/protocol'
import { captureIo } from '../helpers/cli-io'

async function run(args: string[]) {
  const io = captureIo()
  const code = await runCli(args, io)
  return { code, out: io.out(), err: io.err() }
}

describe('kms-scout products', () => {
  it('lists every SKU with name, SKU GUID, KMS counted ID, threshold and protocol', async () => {
    const { code, out, err } = await run(['products'])
    expect(code).toBe(0)
    expect(err).toBe('')
    const lines = out.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^Product\s+SKU ID\s+KMS counted ID\s+N\s+Protocol$/)
    expect(lines).toHaveLength(productCatalog.skus.length + 1)
    expect(out).toMatch(/\nWindows 10 Professional\s+2de67392-b7a7-462a-b1ca-108dd189f588\s+Windows 10 2015 \(Volume\)\s+25\s+v6\n/)
  })

  it('--search keeps the products matching every word', async () => {
    const { code, out } = await run(['products', '--search', 'server 2019'])
    expect(code).toBe(0)
    const rows = out.trimEnd().split('\n').slice(1)
    expect(rows.length).toBeGreaterThan(1)
    for (const r of rows) expect(r.toLowerCase()).toMatch(/server.*2019|2019.*server/)
    expect(out).toMatch(/Windows Server 2019 Standard\s+de32eafd-aaee-4662-9444-c1befb41bde2\s+Windows Server 2019\s+5\s+v6/)
  })

  it('--search --json gives the rows as objects', async () => {
    const { code, out } = await run(['products', '--search', 'office 2010', '--json'])
    expect(code).toBe(0)
    const parsed = JSON.parse(out) as { ok: boolean; count: number; products: { name: string; threshold: number; protocol: number; kmsCountedName: string }[] }
    expect(parsed.ok).toBe(true)
    expect(parsed.count).toBe(parsed.products.length)
    expect(parsed.products.length).toBeGreaterThan(0)
    for (const p of parsed.products) expect(p).toMatchObject({ kmsCountedName: 'Office 2010', threshold: 5, protocol: 4 })
  })

  it('no match: exit 1 with a hint on stderr; JSON gives an empty list', async () => {
    const human = await run(['products', '--search', 'windows zzz'])
    expect(human.code).toBe(1)
    expect(human.out).toBe('')
    expect(human.err).toContain("no product matches 'windows zzz'")
    const json = await run(['products', '--search', 'windows zzz', '--json'])
    expect(json.code).toBe(1)
    expect(JSON.parse(json.out)).toMatchObject({ ok: true, count: 0, products: [] })
  })

  it('a positional argument is a usage error that shows the --search form', async () => {
    const { code, err } = await run(['products', 'office'])
    expect(code).toBe(3)
    expect(err.trimEnd().split('\n')).toEqual(["kms-scout: unexpected argument 'office'", '  to search, write: kms-scout products --search "office"'])
  })
})
