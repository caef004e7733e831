/**
 * The shipped catalog (src-main/data/catalog.json) through ProductCatalog: Windows 11 names, GVLKs, host keys
 * (CSVLKs) and what they activate, identifying a host's key from its ePID, default host builds.
 */
import { describe, expect, it } from 'vitest'
import { parseEpid } from '../../src-main/protocol/epid'
import { productCatalog, ProductCatalog, type Csvlk } from '../../src-main/protocol/products'

const WINDOWS = '55c92734-d682-4d71-983e-d6ec3f16059f'
const OFFICE_2010 = '59a52881-a989-479d-af46-f275c6370663'
const OFFICE_2013_PLUS = '0ff1ce15-a989-479d-af46-f275c6370663'

function kmsId(name: string): string {
  const k = productCatalog.kmsCountedIds.find((x) => x.name === name)
  if (!k) throw new Error(`no KMS ID ${name}`)
  return k.guid
}

function csvlk(name: string): Csvlk {
  const c = productCatalog.csvlks().find((x) => x.name === name)
  if (!c) throw new Error(`no CSVLK ${name}`)
  return c
}

function names(skus: readonly { name: string }[]): string[] {
  return skus.map((s) => s.name)
}

describe('catalog content', () => {
  it('has the database SKUs with their GVLKs, plus the older SKUs the database lacks, marked legacy', () => {
    const fromDb = productCatalog.skus.filter((s) => s.source === 'kms-database')
    expect(fromDb).toHaveLength(257)
    expect(fromDb.every((s) => s.gvlk !== null && /^[0-9A-Z]{5}(-[0-9A-Z]{5}){4}$/.test(s.gvlk))).toBe(true)
    const legacy = productCatalog.skus.filter((s) => s.source === 'legacy')
    expect(legacy.length).toBeGreaterThan(0)
    for (const s of legacy) {
      expect(s.gvlk).toBeNull()
      expect(s.vlmcsListNumber).not.toBeNull()
    }
    expect(productCatalog.kmsCountedIds.filter((k) => k.source === 'legacy').map((k) => k.name)).toEqual(['Windows Preview'])
    // the older vlmcs list numbers are all still there, once each
    const numbers = productCatalog.skus.map((s) => s.vlmcsListNumber).filter((n) => n !== null)
    expect([...numbers].sort((a, b) => a - b)).toEqual(Array.from({ length: 202 }, (_, i) => i + 1))
    expect(new Set(productCatalog.skus.map((s) => s.guid)).size).toBe(productCatalog.skus.length)
  })

  it('every SKU agrees with its KMS counted ID on threshold, protocol and name', () => {
    for (const s of productCatalog.skus) {
      const k = productCatalog.kmsCountedIdById(s.kmsCountedId)
      expect(k, s.name).toBeDefined()
      expect([s.requiredClientCount, s.protocolVersion, s.kmsCountedName, s.application]).toEqual([
        k!.requiredClientCount,
        k!.defaultProtocolVersion,
        k!.name,
        k!.application
      ])
    }
  })

  it('knows the GVLK, and the preview / retail flags, of a SKU', () => {
    expect(productCatalog.gvlkForSku('2de67392-b7a7-462a-b1ca-108dd189f588')).toBe('W269N-WFGWX-YVC9B-4J6C9-T83GX')
    expect(productCatalog.gvlkForSku('{C052F164-CDF6-409A-A0CB-853BA0F0F55A}')).toBe('D764K-2NDRG-47T6Q-P8T8W-YP6DF')
    expect(productCatalog.gvlkForSku('00000000-0000-0000-0000-000000000001')).toBeUndefined()
    const home = productCatalog.findProduct('Windows 11 Home')
    expect(home).toMatchObject({ kind: 'found', matchedBy: 'alias', sku: { isRetail: true, isPreview: false } })
    const insider = productCatalog.skuById('903663f7-d2ab-49c9-8942-14aa9e0a9c72')!
    expect(insider).toMatchObject({ name: 'Windows 10/11 Insider Preview Core', isPreview: true, isRetail: true, vlmcsListNumber: null })
    expect(productCatalog.skuById('fceda083-1203-402a-8ec4-3d7ed9f3648c')).toMatchObject({
      name: 'Office Professional Plus 2024 Preview',
      isPreview: true
    })
    expect(productCatalog.skuById('e9942b32-2e55-4197-b0bd-5ff58cba8860')).toMatchObject({ gvlkIsGenerated: true })
  })

  it('has the host builds of Server 2022 and Server 2025 / Windows 11 24H2, and every Windows build of the database', () => {
    expect(productCatalog.hostBuilds.map((b) => b.buildNumber)).toEqual([26100, 20348, 17763, 14393, 9600, 9200, 7601, 6002])
    expect(productCatalog.hostBuilds.every((b) => b.flags.useForEpid && b.flags.mayBeServer)).toBe(true)
    expect(productCatalog.hostBuildByNumber(20348)).toMatchObject({
      platformId: 3612,
      displayName: 'Windows Server 2022 (21H2)',
      releaseDateUtc: '2021-08-18'
    })
    expect(productCatalog.hostBuildByNumber(26100)).toMatchObject({ platformId: 3612, releaseDateUtc: '2024-11-01' })
    expect(productCatalog.windowsBuilds).toHaveLength(30)
    expect(productCatalog.windowsBuildByNumber(22631)).toMatchObject({ displayName: 'Windows 11 23H2', flags: { useForEpid: false } })
    expect(productCatalog.hostBuildByNumber(22631)).toBeUndefined()
  })
})

describe('searching with Windows 11 and LTSC names', () => {
  it('"Windows 11 Pro" finds the Windows 10/11 Pro SKUs (one SKU ID for both)', () => {
    const found = productCatalog.searchProducts('Windows 11 Pro')
    expect(names(found)).toContain('Windows 10 Professional')
    // every hit has a Windows 11 name with "pro" in it (the Pro editions, and the Insider Preview Professional ones)
    expect(found.length).toBeGreaterThanOrEqual(6)
    expect(found.every((s) => s.aliases.some((a) => /^windows 11 .*pro/i.test(a)))).toBe(true)
    expect(productCatalog.findProduct('Windows 11 Pro')).toMatchObject({
      kind: 'found',
      matchedBy: 'alias',
      sku: { guid: '2de67392-b7a7-462a-b1ca-108dd189f588' }
    })
    expect(productCatalog.findProduct('windows 11 pro n')).toMatchObject({ kind: 'found', sku: { name: 'Windows 10 Professional N' } })
    expect(productCatalog.searchProducts('Windows 11 SE').map((s) => s.gvlk)).toEqual(
      expect.arrayContaining(['37D7F-N49CB-WQR8W-TBJ73-FM8RX'])
    )
  })

  it('"2022" finds the Windows Server 2022 SKUs (and Office LTSC 2021 does not match)', () => {
    const found = productCatalog.searchProducts('2022')
    expect(names(found).sort()).toEqual([
      'Windows Server 2022 Azure Core',
      'Windows Server 2022 Datacenter',
      'Windows Server 2022 Datacenter (Semi-Annual Channel)',
      'Windows Server 2022 Datacenter Azure Edition',
      'Windows Server 2022 Standard',
      'Windows Server 2022 Standard (Semi-Annual Channel)'
    ])
    expect(found.every((s) => s.kmsCountedName === 'Windows Server 2022' && s.requiredClientCount === 5)).toBe(true)
  })

  it('"LTSC 2024" finds Office LTSC 2024, Windows 11 (IoT) Enterprise LTSC 2024, and nothing else', () => {
    const found = productCatalog.searchProducts('LTSC 2024')
    const office = found.filter((s) => s.application === 'Office2013+')
    const windows = found.filter((s) => s.application === 'Windows')
    expect(office.length).toBeGreaterThanOrEqual(10)
    expect(office.every((s) => s.kmsCountedName === 'Office 2024')).toBe(true)
    expect(names(office)).toContain('Office LTSC Professional Plus 2024')
    expect(windows.map((s) => s.guid).sort()).toEqual([
      '32d2fab3-e4a8-42c2-923b-4bf4fd13e6ee',
      '59eb965c-9150-42b7-a0ec-22151b9897c5',
      '7103a333-b8c8-49cc-93ce-d37c09687f92'
    ])
    expect(productCatalog.findProduct('Windows 11 Enterprise LTSC 2024')).toMatchObject({
      kind: 'found',
      sku: { gvlk: 'M7XTQ-FN8P6-TTKYV-9D4CC-J462D' }
    })
  })

  it('old names keep working the same way', () => {
    expect(productCatalog.findProduct('Windows 10 Professional')).toMatchObject({ kind: 'found', matchedBy: 'exact-name' })
    expect(productCatalog.findProduct('Windows 10 Prof')).toMatchObject({
      kind: 'ambiguous',
      candidateNames: expect.arrayContaining(['Windows 10 Professional Workstation'])
    })
    expect(productCatalog.defaultProduct().name).toBe('Windows 10 Professional')
  })
})

describe('host keys (CSVLKs)', () => {
  it('the Server 2025 KMS ID is activated by the Windows Server 2025 key, not by the Server 2019 one', () => {
    const server2025 = kmsId('Windows Server 2025')
    expect(productCatalog.covers(csvlk('Windows Server 2025'), server2025)).toBe(true)
    expect(productCatalog.covers('84e331f6-4279-48c4-ab10-b75139181351', server2025)).toBe(true)
    expect(productCatalog.covers(csvlk('Windows Server 2019'), server2025)).toBe(false)
    expect(productCatalog.covers(csvlk('Windows Server 2019'), kmsId('Windows Server 2019'))).toBe(true)
    expect(productCatalog.coveringCsvlks(server2025).map((c) => c.name)).toEqual([
      'Windows Server 2025',
      'Windows Server 2025 (Azure-only)',
      'Windows Server 2025 (Microsoft Internal Lab)'
    ])
    expect(productCatalog.covers('not a guid', server2025)).toBe(false)
    expect(productCatalog.coveringCsvlks('not a guid')).toEqual([])
  })

  it('a newer key serves what the older keys of its line served; a server key also serves the client editions', () => {
    const covering = (product: string): string[] => {
      const found = productCatalog.findProduct(product)
      if (found.kind !== 'found') throw new Error(`${product}: ${found.kind}`)
      return productCatalog.coveringCsvlks(found.sku.kmsCountedId).map((c) => c.name)
    }
    // Windows 11 Pro (the Windows 10/11 2015 KMS ID): every server key since 2016 and the client keys
    expect(covering('Windows 11 Pro')).toEqual(
      expect.arrayContaining([
        'Windows Server 2025',
        'Windows Server 2022',
        'Windows Server 2019',
        'Windows Server 2016',
        'Windows 10 2019'
      ])
    )
    // Server 2022: its own keys (the database names an undefined KMS ID for them; catalog-aliases.json adds the
    // real one) and the 2025 keys, never a 2019 key or a client key
    expect(covering('Windows Server 2022 Datacenter')).toEqual(expect.arrayContaining(['Windows Server 2025', 'Windows Server 2022']))
    expect(covering('Windows Server 2022 Datacenter')).not.toContain('Windows Server 2019')
    expect(covering('Windows Server 2022 Datacenter')).not.toContain('Windows 10 2019')
    // a client key serves clients only
    expect(covering('Windows Server 2019 Standard')).not.toContain('Windows 10 2019')
    // Office: the LTSC 2024 key serves 2024, 2021, 2019 and 2016; the 2021 key not 2024
    expect(covering('Office LTSC Professional Plus 2024')).toEqual(['Office LTSC 2024'])
    expect(covering('Office LTSC Professional Plus 2021')).toEqual(['Office LTSC 2024', 'Office LTSC 2021'])
    expect(covering('Office Professional Plus 2016')).toEqual(
      expect.arrayContaining(['Office LTSC 2024', 'Office LTSC 2021', 'Office 2019 VL'])
    )
    // an undated key inherits nothing across lines (Windows Server 2012 has no date in the database)
    expect(covering('Windows 11 Pro')).not.toContain('Windows Server 2012')
  })

  it('retail and preview KMS IDs are served by no key', () => {
    const retailOrPreview = productCatalog.kmsCountedIds.filter((k) => k.isRetail || k.isPreview)
    expect(retailOrPreview.length).toBeGreaterThan(0)
    for (const k of retailOrPreview) {
      expect(productCatalog.csvlks().filter((c) => c.covers.includes(k.guid))).toEqual([])
    }
  })

  it('identifies a host key from the ePID: group 206 with different key IDs names different keys', () => {
    const at = (epid: string): Csvlk | undefined => {
      const p = parseEpid(epid)
      if (!p.ok) throw new Error(p.error.message)
      return productCatalog.csvlkForEpid(p.parts.groupId, p.parts.keyId)
    }
    expect(at('03612-00206-567-887631-03-2074-14393.0000-0092024')?.name).toBe('Windows Server 2019')
    expect(at('03612-00206-535-000001-03-1033-14393.0000-0092024')?.name).toBe('Windows 10 2016')
    expect(at('03612-00206-245-277825-03-2074-14393.0000-0092024')?.name).toBe('Office 2013 VL')
    expect(at('03612-00206-580-000000-03-1033-20348.0000-0092024')?.name).toBe('Office LTSC 2021')
    expect(at('03612-04918-001-000000-03-1033-26100.0000-0012025')?.name).toBe('Windows Server 2025')
    expect(at('03612-00206-999-000000-03-1033-17763.0000-0012020')).toBeUndefined()
    // Office 2019 VL and Office LTSC 2024 share group 206 and the range 666000000–685999999
    expect(at('03612-00206-670-000000-03-1033-17763.0000-0012020')).toBeUndefined()
    expect(
      productCatalog
        .csvlksForEpid(206, 670_000_000)
        .map((c) => c.name)
        .sort()
    ).toEqual(['Office 2019 VL', 'Office LTSC 2024'])
    // the one key the database lists twice is one key with two names
    expect(productCatalog.csvlkForEpid(206, 98_600_000)).toMatchObject({
      name: 'Windows Server 2012 R2 (Microsoft Internal Lab)',
      alsoKnownAs: ['Windows Server 2012 (Microsoft internal Lab)']
    })
  })

  it('no two identifiable keys overlap in group and range except Office 2019 VL / Office LTSC 2024', () => {
    const keys = productCatalog.csvlks().filter((c) => c.groupId !== null && c.minKeyId !== null && c.maxKeyId !== null)
    const overlaps: string[] = []
    keys.forEach((a, i) => {
      for (const b of keys.slice(i + 1))
        if (a.groupId === b.groupId && a.minKeyId! <= b.maxKeyId! && b.minKeyId! <= a.maxKeyId!) overlaps.push(`${a.name} / ${b.name}`)
    })
    expect(overlaps).toEqual(['Office LTSC 2024 / Office 2019 VL'])
  })

  it('says whether the key named by an ePID covers a KMS ID', () => {
    const server2025 = kmsId('Windows Server 2025')
    expect(productCatalog.hostKeyCoverage(206, 567_887_631, server2025)).toMatchObject({
      verdict: 'not-covered',
      csvlk: { name: 'Windows Server 2019' }
    })
    expect(productCatalog.hostKeyCoverage(4918, 1_000_000, server2025)).toMatchObject({
      verdict: 'covered',
      csvlk: { name: 'Windows Server 2025' }
    })
    const office2024 = kmsId('Office 2024')
    const amb = productCatalog.hostKeyCoverage(206, 670_000_000, office2024)
    expect(amb.verdict).toBe('ambiguous')
    expect(amb.covering.map((c) => c.name)).toEqual(['Office LTSC 2024'])
    expect(productCatalog.hostKeyCoverage(1, 1, office2024)).toMatchObject({ verdict: 'unknown-key', candidates: [] })
  })

  it('lists each key with group, range, dates, what it activates and the builds it may run on', () => {
    expect(csvlk('Windows Server 2025')).toMatchObject({
      id: '84e331f6-4279-48c4-ab10-b75139181351',
      groupId: 4918,
      minKeyId: 30000,
      maxKeyId: 20029999,
      releaseDateUtc: '2024-11-01',
      isLab: false,
      invalidWinBuild: [0, 1, 2],
      hostBuilds: [26100, 20348, 17763, 14393, 9600]
    })
    expect(csvlk('Windows Server 2008 C (Datacenter)').hostBuilds).toEqual([26100, 20348, 17763, 14393, 9600, 9200, 7601, 6002])
    expect(csvlk('Windows 10 2019').activates).toContain(kmsId('Windows 10 2015 (Volume)'))
    expect(csvlk('Office 2013 VL [Pre-Release]')).toMatchObject({ id: null, groupId: null, isPreview: true })
    expect(productCatalog.csvlks().filter((c) => c.isLab).length).toBeGreaterThan(5)
  })

  it('names the newest released key per application', () => {
    expect(productCatalog.newestCsvlk(WINDOWS)?.name).toBe('Windows Server 2025')
    expect(productCatalog.newestCsvlk(OFFICE_2013_PLUS.toUpperCase())?.name).toBe('Office LTSC 2024')
    expect(productCatalog.newestCsvlk(OFFICE_2010)?.name).toBe('Office 2010 VL')
    expect(productCatalog.newestCsvlk('00000000-0000-0000-0000-000000000001')).toBeUndefined()
    // the database names an undefined KMS ID for the Server 2022 keys; catalog-aliases.json adds the real one
    expect(productCatalog.csvlkApplicationIds(csvlk('Windows Server 2022 (Azure-only)'))).toEqual([WINDOWS])
  })

  it('gives each key a default host build: 26100 for Server 2025, 20348 for Server 2022, 17763 for Server 2019', () => {
    const build = (name: string): number | undefined => productCatalog.defaultBuildForCsvlk(csvlk(name))?.buildNumber
    expect(build('Windows Server 2025')).toBe(26100)
    expect(build('Windows Server 2025 (Azure-only)')).toBe(26100)
    expect(build('Windows Server 2022')).toBe(20348)
    expect(build('Windows Server 2019')).toBe(17763)
    expect(build('Office 2013 VL')).toBe(9200)
    expect(build('Windows 7')).toBe(7601) // 6002 is closer in date but the key cannot run there
    expect(build('Office LTSC 2024')).toBe(26100) // no release date: the newest build it may run on
    const withBuilds = productCatalog.csvlks().filter((c) => c.hostBuilds.length > 0)
    expect(withBuilds.length).toBeGreaterThan(0)
    for (const c of withBuilds) expect(c.hostBuilds, c.name).toContain(productCatalog.defaultBuildForCsvlk(c)?.buildNumber)
  })

  it('a catalog without host keys (older data shape) answers with nothing rather than failing', () => {
    const small = new ProductCatalog({ applications: [], csvlkGroups: [], hostBuilds: [], kmsCountedIds: [], skus: [] })
    expect(small.csvlks()).toEqual([])
    expect(small.coveringCsvlks(WINDOWS)).toEqual([])
    expect(small.newestCsvlk(WINDOWS)).toBeUndefined()
    expect(small.hostKeyCoverage(206, 1, WINDOWS).verdict).toBe('unknown-key')
  })
})
