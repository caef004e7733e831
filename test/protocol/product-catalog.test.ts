/**
 * ProductCatalog on a small hand-made catalog, so that every rule is visible: the older products.json shape is
 * accepted with its defaults, data of the wrong shape is refused with the reason, lookups by GUID take any case
 * and refuse text that is not a GUID, findProduct tries GUID → exact name → alias → unique part of a name → unique
 * part of an alias, search needs every word (GUID and GVLK only for words of 4 characters or more), the default
 * product and the CSVLK group have their fallbacks, and the host-key queries take a key or its ID. The shipped
 * catalog is checked in test/catalog.
 */
import { describe, expect, it } from 'vitest'
import { ProductCatalog, type Csvlk, type ProductData } from '../../src-main/protocol/products'

const WINDOWS = '55c92734-d682-4d71-983e-d6ec3f16059f'
const OFFICE = '0ff1ce15-a989-479d-af46-f275c6370663'
const KMS_CLIENT = '58e2134f-8e11-4d17-9cb2-91069c151148'
const KMS_SERVER = '8449b1fb-f0ea-497a-99ab-66ca96e9a0f5'
const KMS_OFFICE = '86d50b16-4808-41af-b83b-b338274318b2'
const KMS_ORPHAN = 'aaaaaaaa-0000-4000-8000-000000000001'

type SkuInput = ProductData['skus'][number]
function sku(name: string, guid: string, fields: Partial<SkuInput> = {}): SkuInput {
  return {
    vlmcsListNumber: null,
    guid,
    name,
    application: 'Windows',
    kmsCountedId: KMS_CLIENT,
    kmsCountedName: 'Windows 10 2015 (Volume)',
    protocolVersion: 6,
    requiredClientCount: 25,
    isRetail: false,
    isPreview: false,
    ...fields
  }
}

function kmsId(
  guid: string,
  name: string,
  fields: Partial<ProductData['kmsCountedIds'][number]> = {}
): ProductData['kmsCountedIds'][number] {
  return {
    index: 0,
    guid,
    name,
    application: 'Windows',
    applicationId: WINDOWS,
    requiredClientCount: 25,
    defaultProtocolVersion: 6,
    isRetail: false,
    isPreview: false,
    csvlk: 'Windows',
    ...fields
  }
}

function csvlk(name: string, id: string | null, covers: string[], fields: Partial<Csvlk> = {}): Csvlk {
  return {
    id,
    name,
    alsoKnownAs: [],
    groupId: 206,
    minKeyId: 0,
    maxKeyId: 999,
    releaseDateUtc: '2020-01-01',
    isLab: false,
    isPreview: false,
    iniName: null,
    epid: null,
    activates: covers,
    covers,
    invalidWinBuild: [],
    hostBuilds: [17763],
    ...fields
  }
}

const group = (index: number, iniName: string) => ({
  index,
  iniName,
  defaultEpid: '',
  releaseDateUtc: '2018-10-02',
  groupId: 206,
  minKeyId: 0,
  maxKeyId: 1,
  minActiveClients: 0
})
const build = {
  index: 0,
  displayName: 'Server 2019',
  buildNumber: 17763,
  platformId: 3612,
  releaseDateUtc: '2018-10-02',
  flags: { useNdr64: true, useForEpid: true, mayBeServer: true }
}

const SKU_PRO = '2de67392-b7a7-462a-b1ca-108dd189f588'
const SKU_ENT = '73111121-5638-40f6-bc11-f1d7b0d64300'
const SKU_SRV = 'de32eafd-aaee-4662-9444-c1befb41bde2'
const SKU_OFFICE = '85dd8b5f-eaa4-4af3-a628-cce9e77c9a03'
const SKU_DUP_1 = '11111111-0000-4000-8000-000000000001'
const SKU_DUP_2 = '11111111-0000-4000-8000-000000000002'
const SKU_ORPHAN = '11111111-0000-4000-8000-000000000003'

function data(): ProductData {
  return {
    applications: [
      { guid: WINDOWS, name: 'Windows', maxClientListSize: 50, csvlkIndex: 0 },
      { guid: OFFICE, name: 'Office2013+', maxClientListSize: 10, csvlkIndex: 2 }
    ],
    csvlkGroups: [group(2, 'Office2013'), group(0, 'Windows')],
    hostBuilds: [build],
    kmsCountedIds: [
      kmsId(KMS_CLIENT, 'Windows 10 2015 (Volume)', { aliases: ['Windows 10/11 2015 (Volume)'] }),
      kmsId(KMS_SERVER, 'Windows Server 2019', { requiredClientCount: 5 }),
      kmsId(KMS_OFFICE, 'Office 2019', { application: 'Office2013+', applicationId: OFFICE, requiredClientCount: 5, csvlk: 'Office2013' })
    ],
    skus: [
      sku('Windows 10 Professional', SKU_PRO, { aliases: ['Windows 11 Pro'], gvlk: 'W269N-WFGWX-YVC9B-4J6C9-T83GX' }),
      sku('Windows 10 Enterprise', SKU_ENT, { aliases: ['Windows 11 Enterprise'] }),
      sku('Windows Server 2019 Standard', SKU_SRV, {
        kmsCountedId: KMS_SERVER,
        kmsCountedName: 'Windows Server 2019',
        requiredClientCount: 5
      }),
      sku('Office Professional Plus 2019', SKU_OFFICE, {
        application: 'Office2013+',
        kmsCountedId: KMS_OFFICE,
        kmsCountedName: 'Office 2019',
        requiredClientCount: 5
      }),
      sku('Twin Edition', SKU_DUP_1),
      sku('Twin Edition', SKU_DUP_2),
      sku('Orphan Edition', SKU_ORPHAN, { kmsCountedId: KMS_ORPHAN, application: 'Office2013+' })
    ]
  }
}

const catalog = new ProductCatalog(data())

describe('ProductCatalog: the data', () => {
  it('fills the defaults of the older products.json shape', () => {
    expect(catalog.skuById(SKU_SRV)).toMatchObject({ gvlk: null, gvlkIsGenerated: false, aliases: [], source: 'legacy' })
    expect(catalog.kmsCountedIdById(KMS_SERVER)).toMatchObject({ aliases: [], source: 'legacy' })
    expect(catalog.csvlks()).toEqual([])
    expect(catalog.windowsBuilds).toBe(catalog.hostBuilds)
  })

  it('keeps what the catalog shape gives', () => {
    const full = new ProductCatalog({
      ...data(),
      skus: [sku('X', SKU_PRO, { gvlk: 'K', gvlkIsGenerated: true, aliases: ['Y'], source: 'kms-database' })],
      kmsCountedIds: [kmsId(KMS_CLIENT, 'K', { aliases: ['A'], source: 'kms-database' })],
      windowsBuilds: [{ ...build, buildNumber: 22631 }]
    })
    expect(full.skuById(SKU_PRO)).toMatchObject({ gvlk: 'K', gvlkIsGenerated: true, aliases: ['Y'], source: 'kms-database' })
    expect(full.kmsCountedIdById(KMS_CLIENT)).toMatchObject({ aliases: ['A'], source: 'kms-database' })
    expect(full.windowsBuildByNumber(22631)?.buildNumber).toBe(22631)
    expect(full.windowsBuildByNumber(17763)).toBeUndefined()
    expect(full.hostBuildByNumber(17763)).toBe(build)
  })

  it.each<[string, (d: ProductData) => unknown, RegExp]>([
    ['applications', (d) => ((d as unknown as Record<string, unknown>).applications = {}), /applications is not a list/],
    ['csvlkGroups', (d) => ((d as unknown as Record<string, unknown>).csvlkGroups = null), /csvlkGroups is not a list/],
    ['hostBuilds', (d) => ((d as unknown as Record<string, unknown>).hostBuilds = 'x'), /hostBuilds is not a list/],
    ['kmsCountedIds', (d) => ((d as unknown as Record<string, unknown>).kmsCountedIds = 1), /kmsCountedIds is not a list/],
    ['skus', (d) => ((d as unknown as Record<string, unknown>).skus = undefined), /skus is not a list/],
    ['csvlks', (d) => ((d as unknown as Record<string, unknown>).csvlks = {}), /csvlks is not a list/],
    ['windowsBuilds', (d) => ((d as unknown as Record<string, unknown>).windowsBuilds = {}), /windowsBuilds is not a list/],
    ['a SKU GUID', (d) => (d.skus[0]!.guid = 'nope'), /bad GUID in SKU Windows 10 Professional/],
    ['a SKU KMS ID', (d) => (d.skus[1]!.kmsCountedId = 'nope'), /bad GUID in SKU Windows 10 Enterprise/],
    [
      'a protocol version',
      (d) => ((d.skus[2] as { protocolVersion: number }).protocolVersion = 7),
      /bad protocol version in SKU Windows Server 2019 Standard/
    ]
  ])('refuses data whose %s is wrong', (_label, spoil, message) => {
    const d = data()
    spoil(d)
    expect(() => new ProductCatalog(d)).toThrow(message)
  })
})

describe('ProductCatalog: lookups by GUID', () => {
  it('take any case and braces-free GUID text; anything else finds nothing', () => {
    expect(catalog.skuById(SKU_PRO.toUpperCase())?.name).toBe('Windows 10 Professional')
    expect(catalog.kmsCountedIdById(KMS_SERVER.toUpperCase())?.name).toBe('Windows Server 2019')
    expect(catalog.applicationById(OFFICE.toUpperCase())?.name).toBe('Office2013+')
    for (const bad of ['', 'Windows', `${SKU_PRO}x`]) {
      expect(catalog.skuById(bad)).toBeUndefined()
      expect(catalog.kmsCountedIdById(bad)).toBeUndefined()
      expect(catalog.applicationById(bad)).toBeUndefined()
      expect(catalog.skusForKmsCountedId(bad)).toEqual([])
      expect(catalog.csvlkByActivationId(bad)).toBeUndefined()
      expect(catalog.coveringCsvlks(bad)).toEqual([])
      expect(catalog.newestCsvlk(bad)).toBeUndefined()
    }
  })

  it('the GVLK of a SKU: the key, null when the data has none, undefined for an unknown SKU', () => {
    expect(catalog.gvlkForSku(SKU_PRO)).toBe('W269N-WFGWX-YVC9B-4J6C9-T83GX')
    expect(catalog.gvlkForSku(SKU_ENT)).toBeNull()
    expect(catalog.gvlkForSku('00000000-0000-4000-8000-000000000000')).toBeUndefined()
  })

  it('the SKUs of a KMS counted ID, in data order', () => {
    expect(catalog.skusForKmsCountedId(KMS_CLIENT.toUpperCase()).map((s) => s.guid)).toEqual([SKU_PRO, SKU_ENT, SKU_DUP_1, SKU_DUP_2])
  })
})

describe('ProductCatalog.findProduct', () => {
  it.each([
    [SKU_SRV.toUpperCase(), 'guid', 'Windows Server 2019 Standard'],
    ['  windows 10 professional ', 'exact-name', 'Windows 10 Professional'],
    ['WINDOWS 11 PRO', 'alias', 'Windows 10 Professional'],
    ['server 2019', 'substring', 'Windows Server 2019 Standard'],
    ['11 enterp', 'substring', 'Windows 10 Enterprise']
  ])('%s → by %s', (query, matchedBy, name) => {
    expect(catalog.findProduct(query)).toMatchObject({ kind: 'found', matchedBy, sku: { name } })
  })

  it('an exact name wins over a longer name that contains it', () => {
    const c = new ProductCatalog({ ...data(), skus: [sku('Windows 10 Enterprise N', SKU_ENT), sku('Windows 10 Enterprise', SKU_PRO)] })
    expect(c.findProduct('windows 10 enterprise')).toMatchObject({ kind: 'found', matchedBy: 'exact-name', sku: { guid: SKU_PRO } })
  })

  it('an alias wins over a name that contains the text', () => {
    const c = new ProductCatalog({
      ...data(),
      skus: [sku('Pro Edition Extra', SKU_ENT), sku('Windows 10 Professional', SKU_PRO, { aliases: ['Pro Edition'] })]
    })
    expect(c.findProduct('pro edition')).toMatchObject({ kind: 'found', matchedBy: 'alias', sku: { guid: SKU_PRO } })
  })

  it('duplicate exact names or aliases are ambiguous between those alone, not every name containing the text', () => {
    const names = new ProductCatalog({ ...data(), skus: [sku('Twin', SKU_PRO), sku('Twin', SKU_ENT), sku('Twin Plus', SKU_SRV)] })
    expect(names.findProduct('twin')).toMatchObject({ kind: 'ambiguous', candidateNames: ['Twin', 'Twin'] })
    const aliases = new ProductCatalog({
      ...data(),
      skus: [sku('A', SKU_PRO, { aliases: ['Same'] }), sku('B', SKU_ENT, { aliases: ['Same'] }), sku('Samesies', SKU_SRV)]
    })
    expect(aliases.findProduct('same')).toMatchObject({ kind: 'ambiguous', candidateNames: ['A', 'B'] })
  })

  it('part of an alias only when no name contains the text', () => {
    const c = new ProductCatalog({
      ...data(),
      skus: [
        sku('Windows 10 Professional', SKU_PRO, { aliases: ['Windows 11 Pro'] }),
        sku('Server', SKU_SRV, { aliases: ['Windows 11 Server'] })
      ]
    })
    expect(c.findProduct('windows 1')).toMatchObject({ kind: 'found', matchedBy: 'substring', sku: { guid: SKU_PRO } })
  })

  it('several matches are ambiguous, with the candidates and their names', () => {
    expect(catalog.findProduct('twin edition')).toEqual({
      kind: 'ambiguous',
      query: 'twin edition',
      candidates: [catalog.skuById(SKU_DUP_1), catalog.skuById(SKU_DUP_2)],
      candidateNames: ['Twin Edition', 'Twin Edition']
    })
    expect(catalog.findProduct('Windows 10')).toMatchObject({
      kind: 'ambiguous',
      candidateNames: ['Windows 10 Professional', 'Windows 10 Enterprise']
    })
    const twoAliases = new ProductCatalog({
      ...data(),
      skus: [sku('A', SKU_PRO, { aliases: ['Same'] }), sku('B', SKU_ENT, { aliases: ['Same'] })]
    })
    expect(twoAliases.findProduct('same')).toMatchObject({ kind: 'ambiguous', candidateNames: ['A', 'B'] })
  })

  it('an unknown GUID, blank text or text nothing contains is not found', () => {
    for (const q of ['00000000-0000-4000-8000-000000000000', '   ', 'macOS'])
      expect(catalog.findProduct(q)).toEqual({ kind: 'not-found', query: q })
  })
})

describe('ProductCatalog.searchProducts', () => {
  const names = (text: string): string[] => catalog.searchProducts(text).map((s) => s.name)
  it('every word must occur in a name, alias, KMS ID name or the application', () => {
    expect(names('  ')).toHaveLength(7)
    expect(names('windows 11')).toEqual(['Windows 10 Professional', 'Windows 10 Enterprise', 'Twin Edition', 'Twin Edition'])
    expect(names('WINDOWS server')).toEqual(['Windows Server 2019 Standard'])
    expect(names('office2013+ orphan')).toEqual(['Orphan Edition'])
    expect(names('windows macos')).toEqual([])
    // a KMS counted ID's own aliases count too ("Windows 10/11 2015 (Volume)")
    expect(names('10/11')).toEqual(['Windows 10 Professional', 'Windows 10 Enterprise', 'Twin Edition', 'Twin Edition'])
    // the fields are searched one by one: a word that runs from the end of one into the next matches nothing
    expect(names('professionalwindows')).toEqual([])
  })
  it('the GUID and the GVLK only for words of 4 characters or more', () => {
    expect(names('W269N')).toEqual(['Windows 10 Professional'])
    expect(names(SKU_SRV.slice(0, 8).toUpperCase())).toEqual(['Windows Server 2019 Standard'])
    expect(names('t83')).toEqual([])
    expect(names('t83g')).toEqual(['Windows 10 Professional'])
  })
})

describe('ProductCatalog: defaults and fallbacks', () => {
  it('the default product is the first named default with threshold 25 and protocol 6', () => {
    expect(catalog.defaultProduct().guid).toBe(SKU_PRO)
    const byAlias = new ProductCatalog({
      ...data(),
      skus: [sku('Other', SKU_ENT), sku('Something', SKU_PRO, { aliases: ['Windows 11 Pro'] })]
    })
    expect(byAlias.defaultProduct().guid).toBe(SKU_PRO)
  })

  it('without a named default: the first volume Windows client SKU with threshold 25 and protocol 6', () => {
    const skus = [
      sku('Windows 10 Professional', SKU_PRO, { protocolVersion: 5 }),
      sku('Windows 11 Pro', '11111111-0000-4000-8000-000000000009', { requiredClientCount: 5 }),
      sku('Retail', SKU_DUP_1, { isRetail: true }),
      sku('Preview', SKU_DUP_2, { isPreview: true }),
      sku('Office', SKU_OFFICE, { application: 'Office2013+' }),
      sku('Server', SKU_SRV, { requiredClientCount: 5 }),
      sku('Enterprise', SKU_ENT)
    ]
    expect(new ProductCatalog({ ...data(), skus }).defaultProduct().guid).toBe(SKU_ENT)
    expect(() => new ProductCatalog({ ...data(), skus: skus.slice(0, 6) }).defaultProduct()).toThrow(
      'product data has no Windows client SKU with threshold 25 and protocol 6'
    )
  })

  it('the CSVLK group of a KMS counted ID: its own; the Windows group (index 0) for an unknown ID; else the first', () => {
    expect(catalog.csvlkForKmsCountedId(KMS_OFFICE).iniName).toBe('Office2013')
    expect(catalog.csvlkForKmsCountedId(KMS_SERVER).iniName).toBe('Windows')
    expect(catalog.csvlkForKmsCountedId(KMS_ORPHAN).iniName).toBe('Windows')
    const noWindows = new ProductCatalog({ ...data(), csvlkGroups: [group(3, 'Office2016'), group(2, 'Office2013')] })
    expect(noWindows.csvlkForKmsCountedId(KMS_ORPHAN).iniName).toBe('Office2016')
    expect(() => new ProductCatalog({ ...data(), csvlkGroups: [] }).csvlkForKmsCountedId(KMS_CLIENT)).toThrow(
      'product data has no CSVLK groups'
    )
  })

  it("the request identity: the KMS ID's application, else the application of the SKU's name", () => {
    expect(catalog.requestIdentity(catalog.skuById(SKU_OFFICE)!)).toEqual({
      appId: OFFICE,
      actId: SKU_OFFICE,
      kmsId: KMS_OFFICE,
      nPolicy: 5,
      protocol: 6
    })
    expect(catalog.requestIdentity(catalog.skuById(SKU_ORPHAN)!)).toMatchObject({ appId: OFFICE, kmsId: KMS_ORPHAN, nPolicy: 25 })
    const lost = new ProductCatalog({ ...data(), skus: [sku('Lost', SKU_ORPHAN, { kmsCountedId: KMS_ORPHAN, application: 'Nothing' })] })
    expect(() => lost.requestIdentity(lost.skuById(SKU_ORPHAN)!)).toThrow('no application id for SKU Lost')
  })
})

describe('ProductCatalog: host keys', () => {
  const SRV_KEY = 'cccccccc-0000-4000-8000-000000000001'
  const OFFICE_KEY = 'cccccccc-0000-4000-8000-000000000002'
  const LAB_KEY = 'cccccccc-0000-4000-8000-000000000003'
  const keys = [
    csvlk('Server key', SRV_KEY, [KMS_SERVER, KMS_CLIENT, KMS_ORPHAN], { groupId: 206, minKeyId: 0, maxKeyId: 99 }),
    csvlk('Office key', OFFICE_KEY, [KMS_OFFICE], { groupId: 206, minKeyId: 50, maxKeyId: 149 }),
    csvlk('Lab key', LAB_KEY, [KMS_CLIENT], { isLab: true, releaseDateUtc: '2030-01-01', groupId: 5 }),
    csvlk('Placeholder', null, [KMS_OFFICE], { groupId: 999 })
  ]
  const c = new ProductCatalog({ ...data(), csvlks: keys })

  it('by activation ID (any case); keys without an ID are not indexed', () => {
    expect(c.csvlkByActivationId(SRV_KEY.toUpperCase())?.name).toBe('Server key')
    expect(c.csvlks()).toHaveLength(4)
  })

  it('by ePID: one key, several keys sharing the range, or none', () => {
    expect(c.csvlkForEpid(206, 10)?.name).toBe('Server key')
    expect(c.csvlksForEpid(206, 60).map((k) => k.name)).toEqual(['Server key', 'Office key'])
    expect(c.csvlkForEpid(206, 60)).toBeUndefined()
    expect(c.csvlkForEpid(207, 10)).toBeUndefined()
  })

  it('which keys cover a KMS counted ID, and whether one key does (by key or by its ID)', () => {
    expect(c.coveringCsvlks(KMS_CLIENT.toUpperCase()).map((k) => k.name)).toEqual(['Server key', 'Lab key'])
    expect(c.covers(keys[0]!, KMS_SERVER.toUpperCase())).toBe(true)
    expect(c.covers(SRV_KEY, KMS_SERVER)).toBe(true)
    expect(c.covers(OFFICE_KEY, KMS_SERVER)).toBe(false)
    expect(c.covers('cccccccc-0000-4000-8000-0000000000ff', KMS_SERVER)).toBe(false)
    expect(c.covers(keys[0]!, 'not a guid')).toBe(false)
  })

  it('the applications a key serves, each once; KMS IDs the catalog lacks add none', () => {
    expect(c.csvlkApplicationIds(keys[0]!)).toEqual([WINDOWS])
    expect(c.csvlkApplicationIds(keys[1]!)).toEqual([OFFICE])
    expect(c.csvlkApplicationIds(csvlk('none', null, [KMS_ORPHAN]))).toEqual([])
  })

  it('the newest released key of an application: never a lab key, never one without an ID', () => {
    expect(c.newestCsvlk(WINDOWS.toUpperCase())?.name).toBe('Server key')
    expect(c.newestCsvlk(OFFICE)?.name).toBe('Office key')
    expect(new ProductCatalog({ ...data(), csvlks: [keys[2]!, keys[3]!] }).newestCsvlk(WINDOWS)).toBeUndefined()
  })

  it('the default host build of a key, and the coverage verdict with the KMS ID in any case', () => {
    expect(c.defaultBuildForCsvlk(keys[0]!)).toBe(build)
    expect(c.hostKeyCoverage(206, 10, KMS_SERVER.toUpperCase())).toMatchObject({ verdict: 'covered', csvlk: { name: 'Server key' } })
    expect(c.hostKeyCoverage(206, 120, KMS_SERVER)).toMatchObject({ verdict: 'not-covered', csvlk: { name: 'Office key' } })
  })
})
