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
  it('lists every SKU with name, SKU GUID, KMS counted ID, threshold, protocol, kind and GVLK', async () => {
    const { code, out, err } = await run(['products'])
    expect(code).toBe(0)
    expect(err).toBe('')
    const lines = out.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^Product\s+SKU ID\s+KMS counted ID\s+N\s+Protocol\s+Kind\s+GVLK$/)
    expect(lines).toHaveLength(productCatalog.skus.length + 1)
    expect(out).toMatch(
      /\nWindows 10 Professional\s+2de67392-b7a7-462a-b1ca-108dd189f588\s+Windows 10 2015 \(Volume\)\s+25\s+v6\s+volume\s+W269N-WFGWX-YVC9B-4J6C9-T83GX\n/
    )
    expect(out).toMatch(/\nWindows 10 Home\s+58e97c99-f377-4ef1-81d5-4ad5522b5fd8\s+.*\s+retail\s+TX9XD-98N7V-6WMQ6-BX7FG-H8Q99\n/)
    expect(out).toMatch(/\nOffice Professional Plus 2024 Preview\s+.*\s+preview\s+2TDPW-NDQ7G-FMG99-DXQ7M-TX3T2\n/)
    expect(out).toMatch(/\nWindows 8\.1 Core Connected\s+.*\s+volume\s+3PY8R-QHNP9-W7XQD-G6DPH-3J2C9 \(generated\)\n/)
    // a SKU only the older data has: no GVLK
    expect(out).toMatch(/\nWindows 8\.x Preview\s+.*\s+preview\s+-\n/)
  })

  it('--search finds Windows 11 names; --json carries GVLK, KMS ID, threshold, protocol and the covering CSVLKs', async () => {
    const human = await run(['products', '--search', 'windows 11 pro education'])
    expect(human.code).toBe(0)
    expect(human.out).toMatch(/\nWindows 10 Professional Education\s+3f1afc82-f8ac-4f6c-8005-1d233e606eee\s/)
    const { code, out } = await run(['products', '--search', 'server 2025 standard', '--json'])
    expect(code).toBe(0)
    const parsed = JSON.parse(out) as { count: number; products: Record<string, unknown>[] }
    expect(parsed.count).toBe(1)
    expect(parsed.products[0]).toMatchObject({
      name: 'Windows Server 2025 Standard',
      skuId: '7dc26449-db21-4e09-ba37-28f2958506a6',
      gvlk: 'TVRH6-WHNXV-R9WG3-9XRFY-MY832',
      kmsCountedId: '4b83307d-7788-50ff-8d1f-1861915bdb9d',
      kmsCountedName: 'Windows Server 2025',
      threshold: 5,
      protocol: 6,
      isRetail: false,
      isPreview: false,
      source: 'kms-database'
    })
    const csvlks = parsed.products[0]!.csvlks as { name: string; groupId: number | null; minKeyId: number | null; isLab: boolean }[]
    expect(csvlks.map((c) => c.name)).toEqual([
      'Windows Server 2025',
      'Windows Server 2025 (Azure-only)',
      'Windows Server 2025 (Microsoft Internal Lab)'
    ])
    expect(csvlks[0]).toMatchObject({ groupId: 4918, minKeyId: 30000, isLab: false })
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
    const parsed = JSON.parse(out) as {
      ok: boolean
      count: number
      products: { name: string; threshold: number; protocol: number; kmsCountedName: string }[]
    }
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
    expect(err.trimEnd().split('\n')).toEqual([
      "kms-scout: unexpected argument 'office'",
      '  to search, write: kms-scout products --search "office"'
    ])
  })
})
