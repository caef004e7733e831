import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { explainEpid, generateEpid, parseEpid } from '../../src-main/protocol/epid'
import { formatHwid, generateHwid, parseHwid, VLMCSD_DEFAULT_HWID } from '../../src-main/protocol/hwid'
import { productCatalog, ProductCatalog, type ProductData } from '../../src-main/protocol/products'
import { scriptedRandom, seededRandom } from '../helpers/vectors'

/** The older vlmcsd product data kept in the repo (the importer merges it into catalog.json). */
const LEGACY_PRODUCTS = fileURLToPath(new URL('../../src-main/data/products.json', import.meta.url))

describe('ePID parsing and explanation', () => {
  it('explains the captured ePID', () => {
    const p = parseEpid('03612-00206-567-887631-03-2074-14393.0000-0092024')
    expect(p.ok).toBe(true)
    if (!p.ok) return
    expect(p.parts).toEqual({
      platformId: 3612,
      groupId: 206,
      keyId: 567887631,
      channel: 3,
      lcid: 2074,
      build: 14393,
      buildSuffix: '0000',
      activationDay: 9,
      activationYear: 2024
    })
    const e = explainEpid(p.parts)
    // the vlmcsd group, and the host key of the catalog whose range holds it
    expect(e.csvlk?.iniName).toBe('Windows')
    expect(e.groupName).toBe('Windows Server 2019')
    expect(e.hostKeys.map((k) => k.name)).toEqual(['Windows Server 2019'])
    expect(e.keyIdInRange).toBe(true)
    expect(e.hostBuild?.displayName).toBe('Windows 10 1607 / Server 2016')
    expect(e.platformMatchesBuild).toBe(true)
    expect(e.platformHostOs).toEqual([
      'Windows 11 24H2 / Windows Server 2025',
      'Windows Server 2022 (21H2)',
      'Windows 10 1809 / Server 2019',
      'Windows 10 1607 / Server 2016'
    ])
    expect(e.isVolumeChannel).toBe(true)
    expect(e.activationDate).toBe('2024-01-09')
  })

  it('finds the CSVLK by key-id range inside a shared group id, and flags an out-of-range key', () => {
    const office2013 = parseEpid('03612-00206-245-277825-03-2074-14393.0000-0092024')
    expect(office2013.ok && explainEpid(office2013.parts)).toMatchObject({ csvlk: { iniName: 'Office2013' }, groupName: 'Office 2013 VL' })
    const office2010 = parseEpid('03612-00096-209-634674-03-2074-14393.0000-0092024')
    expect(office2010.ok && explainEpid(office2010.parts)).toMatchObject({ csvlk: { iniName: 'Office2010' }, groupName: 'Office 2010 VL' })
    const outside = parseEpid('03612-00206-999-000000-03-1033-17763.0000-0012020')
    expect(outside.ok && explainEpid(outside.parts)).toMatchObject({
      keyIdInRange: false,
      csvlk: undefined,
      groupName: 'Windows / Office2013 / Office2016 / Office2019'
    })
    const unknown = parseEpid('12345-00001-000-000001-03-1033-12345.0000-3662020')
    expect(unknown.ok && explainEpid(unknown.parts)).toMatchObject({
      groupName: 'unknown group 1',
      hostBuild: undefined,
      platformMatchesBuild: undefined,
      platformHostOs: []
    })
  })

  it('accepts 48- and 50-character ePIDs (4-digit build, 5-digit LCID)', () => {
    expect(parseEpid('06401-00206-271-392135-03-1033-9600.0000-3622014').ok).toBe(true)
    expect(parseEpid('03612-00206-556-123727-03-58380-17763.0000-2972018').ok).toBe(true)
  })

  it.each([
    ['', 'empty'],
    ['x'.repeat(64), 'too-long'],
    ['03612-00206-567-887631-03-2074-14393.0000', 'parts'],
    ['3612-00206-567-887631-03-2074-14393.0000-0092024', 'platform-id'],
    ['03612-0020a-567-887631-03-2074-14393.0000-0092024', 'group-id'],
    ['03612-00206-5678-87631-03-2074-14393.0000-0092024', 'key-id'],
    ['03612-00206-567-887631-3-2074-14393.0000-0092024', 'channel'],
    ['03612-00206-567-887631-03-99999-14393.0000-0092024', 'lcid'],
    ['03612-00206-567-887631-03-2074-14393x0000-0092024', 'build'],
    ['03612-00206-567-887631-03-2074-14393.000-0092024', 'build'],
    ['03612-00206-567-887631-03-2074-14393.0000-0002024', 'date'],
    ['03612-00206-567-887631-03-2074-14393.0000-3662023', 'date'],
    ['03612-00206-567-887631-03-2074-14393.0000-092024', 'date']
  ])('"%s" → %s', (epid, code) => {
    const p = parseEpid(epid)
    expect(p.ok).toBe(false)
    if (!p.ok) {
      expect(p.error.code).toBe(code)
      expect(p.error.message.length).toBeGreaterThan(10)
    }
  })

  it('day 366 is valid in a leap year only', () => {
    expect(parseEpid('03612-00206-567-887631-03-2074-14393.0000-3662024').ok).toBe(true)
  })
})

describe('ePID generation', () => {
  const now = new Date('2026-11-25T08:22:47Z')

  it('every KMS counted ID gets a valid ePID of its CSVLK with the key in range and a plausible date', () => {
    fc.assert(
      fc.property(fc.constantFrom(...productCatalog.kmsCountedIds), fc.integer({ min: 1, max: 0xffffffff }), (kms, seed) => {
        const epid = generateEpid(kms.guid, { random: seededRandom(seed), now })
        const p = parseEpid(epid)
        expect(p.ok, epid).toBe(true)
        if (!p.ok) return
        const e = explainEpid(p.parts)
        const csvlk = productCatalog.csvlkGroups.find((c) => c.iniName === kms.csvlk)!
        expect(e.csvlk?.iniName).toBe(csvlk.iniName)
        expect(e.keyIdInRange).toBe(true)
        expect(e.platformMatchesBuild).toBe(true)
        expect(e.hostBuild?.flags.useForEpid).toBe(true)
        expect(p.parts.channel).toBe(3)
        const earliest = [csvlk.releaseDateUtc, e.hostBuild!.releaseDateUtc].sort().at(-1)!
        expect(e.activationDate >= earliest).toBe(true)
        expect(e.activationDate <= '2026-11-25').toBe(true)
      }),
      { seed: 201, numRuns: 300 }
    )
  })

  it('respects a chosen host build and LCID, and the data quirk Office 2013 (Pre-Release) → Windows', () => {
    const preRelease = productCatalog.kmsCountedIds.find((k) => k.name === 'Office 2013 (Pre-Release)')!
    const epid = generateEpid(preRelease.guid, { random: seededRandom(3), now, hostBuild: 9600, lcid: 1031 })
    expect(epid).toMatch(/^06401-00206-5[5-7]\d-\d{6}-03-1031-9600\.0000-\d{7}$/)
    const p = parseEpid(epid)
    expect(p.ok && explainEpid(p.parts).csvlk?.iniName).toBe('Windows')
    expect(() => generateEpid(preRelease.guid, { random: seededRandom(3), now, hostBuild: 1234 })).toThrow(/not in the product data/)
  })

  it('an unknown KMS ID uses the Windows CSVLK (vlmcsd rule); the output depends only on the injected inputs', () => {
    const a = generateEpid('01234567-89ab-cdef-0123-456789abcdef', { random: seededRandom(9), now })
    const b = generateEpid('01234567-89ab-cdef-0123-456789abcdef', { random: seededRandom(9), now })
    expect(a).toBe(b)
    const p = parseEpid(a)
    expect(p.ok && explainEpid(p.parts).csvlk?.iniName).toBe('Windows')
  })
})

describe('HwId', () => {
  it('generates 8 bytes from the random source and formats 16 upper-case hex digits', () => {
    const h = generateHwid(scriptedRandom(Uint8Array.of(1, 2, 3, 4, 5, 6, 0xab, 0xcd)))
    expect(formatHwid(h)).toBe('010203040506ABCD')
    expect(formatHwid(VLMCSD_DEFAULT_HWID)).toBe('3A1C049600B60076')
    expect(formatHwid(parseHwid('3a1c049600b60076')!)).toBe('3A1C049600B60076')
    expect(parseHwid('3A1C0496')).toBeUndefined()
    expect(parseHwid('zz1C049600B60076')).toBeUndefined()
    expect(() => generateHwid(() => new Uint8Array(4))).toThrow(TypeError)
  })
})

describe('products', () => {
  it('the catalog keeps the older data: its tables, names and vlmcs order, each SKU with the same GUID and name', () => {
    const legacy = JSON.parse(readFileSync(LEGACY_PRODUCTS, 'utf8')) as ProductData
    expect(legacy.skus).toHaveLength(202)
    expect(productCatalog.applications.map((a) => a.name)).toEqual(['Windows', 'Office2010', 'Office2013+'])
    expect(productCatalog.csvlkGroups).toEqual(legacy.csvlkGroups)
    expect(productCatalog.kmsCountedIds).toHaveLength(34)
    expect(productCatalog.skus).toHaveLength(262)
    expect(productCatalog.hostBuilds).toHaveLength(8)
    for (const old of legacy.kmsCountedIds)
      expect(productCatalog.kmsCountedIdById(old.guid)).toMatchObject({ name: old.name, csvlk: old.csvlk, index: old.index })
    expect(productCatalog.skus.slice(0, 202).map((s) => [s.guid, s.name, s.vlmcsListNumber])).toEqual(
      legacy.skus.map((s) => [s.guid, s.name, s.vlmcsListNumber])
    )
    for (const old of legacy.hostBuilds)
      expect(productCatalog.hostBuildByNumber(old.buildNumber)).toMatchObject({
        platformId: old.platformId,
        flags: old.flags,
        releaseDateUtc: old.releaseDateUtc,
        displayName: old.displayName
      })
    expect(productCatalog.skus.filter((s) => s.requiredClientCount === 25).length).toBeGreaterThan(75)
    for (const s of productCatalog.skus)
      expect(productCatalog.kmsCountedIdById(s.kmsCountedId)?.requiredClientCount).toBe(s.requiredClientCount)
  })

  it('finds a product by GUID (any case, braces) and by name: exact, then unique substring', () => {
    const byGuid = productCatalog.findProduct('{2DE67392-B7A7-462A-B1CA-108DD189F588}')
    expect(byGuid).toMatchObject({ kind: 'found', matchedBy: 'guid', sku: { name: 'Windows 10 Professional' } })
    // "windows 10 professional" is also a substring of several names; the exact match wins
    expect(productCatalog.findProduct('windows 10 professional')).toMatchObject({
      kind: 'found',
      matchedBy: 'exact-name',
      sku: { guid: '2de67392-b7a7-462a-b1ca-108dd189f588' }
    })
    expect(productCatalog.findProduct('server 2019 arm64')).toMatchObject({
      kind: 'found',
      matchedBy: 'substring',
      sku: { vlmcsListNumber: 1 }
    })
    expect(productCatalog.findProduct('00000000-0000-0000-0000-000000000001')).toMatchObject({ kind: 'not-found' })
    expect(productCatalog.findProduct('no such product')).toMatchObject({ kind: 'not-found' })
    expect(productCatalog.findProduct('  ')).toMatchObject({ kind: 'not-found' })
  })

  it('reports ambiguity with the candidate names, also for duplicate names in the data', () => {
    const amb = productCatalog.findProduct('Windows 10 Enterprise')
    // exact name exists once
    expect(amb.kind).toBe('found')
    const sub = productCatalog.findProduct('Office Professional Plus')
    expect(sub.kind).toBe('ambiguous')
    if (sub.kind === 'ambiguous') {
      expect(sub.candidateNames.length).toBeGreaterThan(3)
      expect(sub.candidateNames.every((n) => n.toLowerCase().includes('office professional plus'))).toBe(true)
    }
    const dup = productCatalog.findProduct('Windows 10 Enterprise Preview')
    expect(dup).toMatchObject({ kind: 'ambiguous', candidateNames: ['Windows 10 Enterprise Preview', 'Windows 10 Enterprise Preview'] })
    if (dup.kind === 'ambiguous') expect(new Set(dup.candidates.map((c) => c.guid)).size).toBe(2)
  })

  it('searches by words in name, KMS group, application or GUID', () => {
    const names = productCatalog.searchProducts('server 2019 datacenter').map((s) => s.name)
    expect(names).toContain('Windows Server 2019 Datacenter')
    expect(names.every((n) => /server/i.test(n))).toBe(true)
    expect(productCatalog.searchProducts('office2010').every((s) => s.application === 'Office2010')).toBe(true)
    expect(productCatalog.searchProducts('2de67392').map((s) => s.name)).toEqual(['Windows 10 Professional'])
    expect(productCatalog.searchProducts('W269N').map((s) => s.name)).toEqual(['Windows 10 Professional'])
    expect(productCatalog.searchProducts('')).toHaveLength(productCatalog.skus.length)
  })

  it('default product is Windows 10 Professional (N = 25, protocol 6) and maps to a request identity', () => {
    const d = productCatalog.defaultProduct()
    expect(d).toMatchObject({ name: 'Windows 10 Professional', requiredClientCount: 25, protocolVersion: 6 })
    expect(productCatalog.requestIdentity(d)).toEqual({
      appId: '55c92734-d682-4d71-983e-d6ec3f16059f',
      actId: '2de67392-b7a7-462a-b1ca-108dd189f588',
      kmsId: '58e2134f-8e11-4d17-9cb2-91069c151148',
      nPolicy: 25,
      protocol: 6
    })
  })

  it('a catalog with "Windows 11 Pro" but no "Windows 10 Professional" picks it', () => {
    const raw = JSON.parse(readFileSync(LEGACY_PRODUCTS, 'utf8')) as ProductData
    raw.skus = raw.skus.map((s) => (s.name === 'Windows 10 Professional' ? { ...s, name: 'Windows 11 Pro' } : s))
    expect(new ProductCatalog(raw).defaultProduct().name).toBe('Windows 11 Pro')
  })

  it('maps KMS counted IDs to CSVLK groups as the data says', () => {
    const csvlkOf = (name: string) =>
      productCatalog.csvlkForKmsCountedId(productCatalog.kmsCountedIds.find((k) => k.name === name)!.guid).iniName
    expect(csvlkOf('Windows 10 2015 (Volume)')).toBe('Windows')
    expect(csvlkOf('Office 2010')).toBe('Office2010')
    expect(csvlkOf('Office 2016')).toBe('Office2016')
    expect(csvlkOf('Office 2019')).toBe('Office2019')
    expect(csvlkOf('Windows 10 China Government')).toBe('WinChinaGov')
    expect(csvlkOf('Office 2013 (Pre-Release)')).toBe('Windows')
    expect(productCatalog.csvlkForKmsCountedId('not a guid').iniName).toBe('Windows')
  })
})
