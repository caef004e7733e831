/**
 * scripts/catalog-import.ts: the committed catalog is exactly what the importer makes from the repo's copy of
 * KmsDataBase.xml (test/fixtures/catalog, see ORIGIN.md there); the database's quirks are survived; a file it does
 * not understand ends in one clear line.
 */
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import {
  buildCatalog,
  DEFAULT_OUT,
  diffCatalogs,
  ImportError,
  parseKmsDatabase,
  readAliases,
  readLegacy,
  runImport,
  serializeCatalog,
  type CatalogFile,
  type LegacyData
} from '../../scripts/catalog-import'

const FIXTURE = fileURLToPath(new URL('../fixtures/catalog/KmsDataBase.xml', import.meta.url))
const tmp = mkdtempSync(path.join(tmpdir(), 'catalog-import-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const NO_LEGACY: LegacyData = {
  applications: [],
  csvlkGroups: [
    {
      index: 0,
      iniName: 'Windows',
      defaultEpid: '03612-00206-556-123727-03-1033-17763.0000-2972018',
      releaseDateUtc: '2018-10-02',
      groupId: 206,
      minKeyId: 551000000,
      maxKeyId: 570999999,
      minActiveClients: 0
    }
  ],
  hostBuilds: [],
  kmsCountedIds: [],
  skus: []
}

function run(args: string[]): { code: number; out: string; err: string } {
  let out = ''
  let err = ''
  const code = runImport(args, { stdout: (s) => (out += s), stderr: (s) => (err += s) })
  return { code, out, err }
}

/** A small database in the real file's layout; `parts` replace its sections. */
function xml(parts: { builds?: string; csvlks?: string; apps?: string; root?: string } = {}): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<!-- a comment before the root -->
<${parts.root ?? 'KmsData'} Version="2.0" Author="test">
  <WinBuilds>
    <!-- a comment between items -->
    ${
      parts.builds ??
      `<WinBuild BuildNumber="17763" ReleaseDate="2018-10-02T00:00:00Z" DisplayName="Windows 10 1809 / Server 2019" PlatformId="3612" UseForEpid="true" MayBeServer="true" UsesNDR64="true" />
    <WinBuild BuildNumber="22631" ReleaseDate="2023-10-31T00:00:00Z" DisplayName="Windows 11 23H2" PlatformId="3612" UsesNDR64="true" />
    <WinBuild BuildNumber="26100" ReleaseDate="2024-11-01T00:00:00Z" DisplayName="Windows 11 24H2 / Windows Server 2025" PlatformId="3612" UseForEpid="True" MayBeServer="true" UsesNDR64="true" />`
    }
  </WinBuilds>
  <CsvlkItems>
    ${
      parts.csvlks ??
      `<CsvlkItem DisplayName="Windows Server 2025" ReleaseDate="2024-11-01T00:00:00Z" GroupId="4918" MinKeyId="30000" MaxKeyId="20029999" IniFileName="Windows" Id="84e331f6-4279-48c4-ab10-b75139181351" InvalidWinBuild="[0]">
      <!-- comment inside an item -->
      <Activate KmsItem="4b83307d-7788-50ff-8d1f-1861915bdb9d" />
    </CsvlkItem>
    <CsvlkItem DisplayName="Lab A" IsLab="True" GroupId="206" MinKeyId="1" MaxKeyId="2" Id="fe27276b-a5a9-4b4d-88e3-14271beb79be" InvalidWinBuild="[]">
      <Activate KmsItem="4b83307d-7788-50ff-8d1f-1861915bdb9d" />
    </CsvlkItem>
    <CsvlkItem DisplayName="Lab B" IsLab="true" GroupId="206" MinKeyId="1" MaxKeyId="2" Id="{FE27276B-A5A9-4B4D-88E3-14271BEB79BE}">
      <Activate KmsItem="4b83307d-7788-50ff-8d1f-1861915bdb9d" />
    </CsvlkItem>
    <CsvlkItem DisplayName="Placeholder [Pre-Release]" IsPreview="true" GroupId="" MinKeyId="" MaxKeyId="" EPid="" Id="" InvalidWinBuild="">
      <Activate KmsItem="1b4db7eb-4057-5ddf-91e0-36dec72071f5" />
    </CsvlkItem>`
    }
  </CsvlkItems>
  <AppItems>
    ${
      parts.apps ??
      `<AppItem DisplayName="Windows" VlmcsdIndex="0" Id="{55c92734-d682-4d71-983e-d6ec3f16059f}" MinActiveClients="50">
      <KmsItem DisplayName="Windows Server 2025" Id="4b83307d-7788-50ff-8d1f-1861915bdb9d" DefaultKmsProtocol="6.0" NCountPolicy="5">
        <SkuItem DisplayName="Windows Server 2025 Standard" Id="7dc26449-db21-4e09-ba37-28f2958506a6" Gvlk="TVRH6-WHNXV-R9WG3-9XRFY-MY832" />
      </KmsItem>
      <KmsItem DisplayName="Windows 10/11 2015 (Volume)" Id="58e2134f-8e11-4d17-9cb2-91069c151148" DefaultKmsProtocol="6.0" NCountPolicy="25">
        <SkuItem DisplayName="Windows 10/11 Pro" Id="2de67392-b7a7-462a-b1ca-108dd189f588" Gvlk="W269N-WFGWX-YVC9B-4J6C9-T83GX" />
        <SkuItem DisplayName="Windows 11 SE" Id="ca7df2e3-5ea0-47b8-9ac1-b1be4d8edd69" Gvlk="" IsGeneratedGvlk="false" />
      </KmsItem>
    </AppItem>
    <AppItem DisplayName="Office 2013+" VlmcsdIndex="5" MinActiveClients="10" Id="0ff1ce15-a989-479d-af46-f275c6370663">
      <KmsItem DisplayName="Office 2024" Id="1b4db7eb-4057-5ddf-91e0-36dec72071f5" IsPreview="false" DefaultKmsprotocol="5.0" NCountPolicy="5">
      </KmsItem>
    </AppItem>`
    }
  </AppItems>
</${parts.root ?? 'KmsData'}>
`
}

function build(text: string, legacy: LegacyData = NO_LEGACY) {
  return buildCatalog(parseKmsDatabase(text), legacy, { skus: {} }, { sha256: '0'.repeat(64) })
}

function importError(text: string): string {
  try {
    build(text)
  } catch (e) {
    if (e instanceof ImportError) return e.message
    throw e
  }
  throw new Error('no ImportError')
}

describe('catalog import of the real database', () => {
  it('reproduces the committed catalog exactly from test/fixtures/catalog/KmsDataBase.xml', () => {
    const bytes = readFileSync(FIXTURE)
    const { catalog } = buildCatalog(parseKmsDatabase(bytes.toString('utf8')), readLegacy(), readAliases(), {
      sha256: createHash('sha256').update(bytes).digest('hex')
    })
    expect(serializeCatalog(catalog)).toBe(readFileSync(DEFAULT_OUT, 'utf8'))
  })

  it('--check: exit 0 when up to date, exit 1 (nothing written) when the catalog would change', () => {
    const ok = run([FIXTURE, '--check'])
    expect(ok.code).toBe(0)
    expect(ok.out).toMatch(/^262 SKUs \(\+0 -0 ~0\), 34 KMS IDs \(\+0 -0 ~0\), 46 CSVLKs \(\+0 -0 ~0\), 30 builds \(\+0 -0 ~0\)\n/)
    expect(ok.out).toContain('is up to date')

    const stale = JSON.parse(readFileSync(DEFAULT_OUT, 'utf8')) as CatalogFile
    stale.skus = stale.skus.filter((s) => s.name !== 'Windows Server 2025 Standard')
    stale.csvlks = stale.csvlks.filter((c) => c.name !== 'Office LTSC 2024')
    const out = path.join(tmp, 'stale.json')
    const staleText = serializeCatalog(stale)
    writeFileSync(out, staleText)
    const r = run([FIXTURE, '--check', '--out', out])
    expect(r.code).toBe(1)
    expect(r.out).toContain('+ SKU Windows Server 2025 Standard (7dc26449-db21-4e09-ba37-28f2958506a6)')
    expect(r.out).toContain('+ CSVLK Office LTSC 2024 (f3d89bbf-c0ec-47ce-a8fa-e5a5f97e447f)')
    expect(r.out).toContain('is out of date')
    expect(readFileSync(out, 'utf8')).toBe(staleText)

    // without --check it writes the catalog, and a second run finds nothing to do
    expect(run([FIXTURE, '--out', out]).code).toBe(0)
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(DEFAULT_OUT, 'utf8'))
    expect(run([FIXTURE, '--out', out]).out).toContain('unchanged')
  })

  it('reports the quirks it survived as notes', () => {
    const r = run([FIXTURE, '--check'])
    expect(r.err).toContain('attribute DefaultKmsprotocol read as DefaultKmsProtocol')
    expect(r.err).toContain('"Windows Server 2012 (Microsoft internal Lab)": same Id, group, range and KMS IDs')
    expect(r.err).toContain('"Office 2013 VL [Pre-Release]" has no Id')
    expect(r.err).toContain('activates KMS ID 10a7e9fb-ca8c-5352-88f5-91b8dbe13b22, which neither the database nor products.json defines')
  })
})

describe('catalog import: quirks of the format', () => {
  const { catalog, notes } = build(xml())

  it('reads a DefaultKmsprotocol attribute with a lower-case p', () => {
    expect(catalog.kmsCountedIds.find((k) => k.name === 'Office 2024')).toMatchObject({ defaultProtocolVersion: 5, csvlk: 'Windows' })
    expect(notes.some((n) => n.includes('attribute DefaultKmsprotocol read as DefaultKmsProtocol'))).toBe(true)
  })

  it('reads IsLab / IsPreview / UseForEpid in any case, and skips comments between and inside items', () => {
    expect(catalog.windowsBuilds.map((b) => [b.buildNumber, b.flags.useForEpid])).toEqual([
      [26100, true],
      [22631, false],
      [17763, true]
    ])
    expect(catalog.hostBuilds.map((b) => b.buildNumber)).toEqual([26100, 17763])
    expect(catalog.csvlks.map((c) => [c.name, c.isLab, c.isPreview])).toEqual([
      ['Windows Server 2025', false, false],
      ['Lab A', true, false],
      ['Placeholder [Pre-Release]', false, true]
    ])
  })

  it('reads InvalidWinBuild as indexes into the ePID host builds ("[0]", "[]", empty)', () => {
    expect(catalog.csvlks[0]).toMatchObject({ invalidWinBuild: [0], hostBuilds: [26100] })
    expect(catalog.csvlks[1]).toMatchObject({ invalidWinBuild: [], hostBuilds: [26100, 17763] })
    expect(catalog.csvlks[2]).toMatchObject({ invalidWinBuild: [], id: null, groupId: null, minKeyId: null, epid: null })
  })

  it('merges a key listed twice with the same data (GUIDs compared in any case or braces) into one with two names', () => {
    expect(catalog.csvlks[1]).toMatchObject({ id: 'fe27276b-a5a9-4b4d-88e3-14271beb79be', name: 'Lab A', alsoKnownAs: ['Lab B'] })
  })

  it('names SKUs for Windows 10 and 11, keeps empty GVLKs as none, marks SKUs the database gives', () => {
    const pro = catalog.skus.find((s) => s.guid === '2de67392-b7a7-462a-b1ca-108dd189f588')
    expect(pro).toMatchObject({
      name: 'Windows 10/11 Pro',
      aliases: ['Windows 10 Pro', 'Windows 11 Pro'],
      gvlk: 'W269N-WFGWX-YVC9B-4J6C9-T83GX',
      source: 'kms-database',
      vlmcsListNumber: null
    })
    expect(catalog.skus.find((s) => s.name === 'Windows 11 SE')).toMatchObject({ gvlk: null, gvlkIsGenerated: false })
  })

  it('keeps the older data where the database lacks it, and its names and order where both have it', () => {
    const legacy: LegacyData = {
      ...NO_LEGACY,
      applications: [{ guid: '55c92734-d682-4d71-983e-d6ec3f16059f', name: 'Windows', maxClientListSize: 50, csvlkIndex: 0 }],
      hostBuilds: [
        {
          index: 0,
          displayName: 'Windows 8.1 / Server 2012 R2',
          buildNumber: 9600,
          platformId: 6401,
          releaseDateUtc: '2013-10-18',
          flags: { useNdr64: true, useForEpid: true, mayBeServer: true }
        }
      ],
      kmsCountedIds: [
        {
          index: 0,
          guid: '58e2134f-8e11-4d17-9cb2-91069c151148',
          name: 'Windows 10 2015 (Volume)',
          application: 'Windows',
          applicationId: '55c92734-d682-4d71-983e-d6ec3f16059f',
          requiredClientCount: 25,
          defaultProtocolVersion: 6,
          isRetail: false,
          isPreview: false,
          csvlk: 'Windows'
        },
        {
          index: 1,
          guid: '5f94a0bb-d5a0-4081-a685-5819418b2fe0',
          name: 'Windows Preview',
          application: 'Windows',
          applicationId: '55c92734-d682-4d71-983e-d6ec3f16059f',
          requiredClientCount: 25,
          defaultProtocolVersion: 5,
          isRetail: false,
          isPreview: true,
          csvlk: 'Windows'
        }
      ],
      skus: [
        {
          vlmcsListNumber: 2,
          guid: '2de67392-b7a7-462a-b1ca-108dd189f588',
          name: 'Windows 10 Professional',
          application: 'Windows',
          kmsCountedId: '58e2134f-8e11-4d17-9cb2-91069c151148',
          kmsCountedName: 'Windows 10 2015 (Volume)',
          protocolVersion: 6,
          requiredClientCount: 25,
          isRetail: false,
          isPreview: false
        },
        {
          vlmcsListNumber: 1,
          guid: '7f0cba9b-8fa7-4ac2-bcde-f2da8e5cbf81',
          name: 'Windows 8.x Preview',
          application: 'Windows',
          kmsCountedId: '5f94a0bb-d5a0-4081-a685-5819418b2fe0',
          kmsCountedName: 'Windows Preview',
          protocolVersion: 5,
          requiredClientCount: 25,
          isRetail: false,
          isPreview: true
        }
      ]
    }
    const { catalog: merged } = build(xml(), legacy)
    expect(merged.skus.slice(0, 2).map((s) => [s.name, s.source, s.vlmcsListNumber])).toEqual([
      ['Windows 8.x Preview', 'legacy', 1],
      ['Windows 10 Professional', 'kms-database', 2]
    ])
    expect(merged.skus[1]).toMatchObject({
      aliases: ['Windows 10/11 Pro', 'Windows 10 Pro', 'Windows 11 Pro'],
      gvlk: 'W269N-WFGWX-YVC9B-4J6C9-T83GX'
    })
    expect(merged.kmsCountedIds.map((k) => [k.name, k.source])).toEqual([
      ['Windows 10 2015 (Volume)', 'kms-database'],
      ['Windows Preview', 'legacy'],
      ['Windows Server 2025', 'kms-database'],
      ['Office 2024', 'kms-database']
    ])
    expect(merged.kmsCountedIds[0]!.aliases).toEqual(['Windows 10/11 2015 (Volume)'])
    expect(merged.windowsBuilds.find((b) => b.buildNumber === 9600)).toMatchObject({ source: 'legacy', platformId: 6401 })
    expect(merged.csvlkGroups).toEqual(legacy.csvlkGroups)
  })

  it('diffs two catalogs by SKU, KMS ID, CSVLK and build', () => {
    const { catalog: other } = build(
      xml({
        csvlks:
          '<CsvlkItem DisplayName="K" GroupId="1" MinKeyId="0" MaxKeyId="9" Id="11111111-2222-3333-4444-555555555555"><Activate KmsItem="4b83307d-7788-50ff-8d1f-1861915bdb9d" /></CsvlkItem>'
      })
    )
    const d = diffCatalogs(catalog, other)
    expect(d.csvlks.added).toEqual(['K (11111111-2222-3333-4444-555555555555)'])
    expect(d.csvlks.removed).toHaveLength(3)
    expect(d.skus).toMatchObject({ added: [], removed: [], changed: [] })
    expect(d.differs).toBe(true)
    expect(diffCatalogs(catalog, catalog).differs).toBe(false)
  })
})

describe('catalog import: files it does not understand', () => {
  it.each([
    ['not XML', 'this is not xml', /^not well-formed XML at line 1, column 1: .* — is this a KmsDataBase\.xml\?$/],
    ['an empty file', '', /^not well-formed XML at line 1/],
    ['unclosed tags', '<KmsData><WinBuilds></KmsData>', /^not well-formed XML at line 1, column \d+: Expected closing tag 'WinBuilds'/],
    ['another root', xml({ root: 'Products' }), /^the root element is <Products>, not <KmsData>/],
    [
      'no AppItems',
      '<KmsData><WinBuilds><WinBuild BuildNumber="1" DisplayName="x" PlatformId="1"/></WinBuilds><CsvlkItems><CsvlkItem DisplayName="k"/></CsvlkItems></KmsData>',
      /^<KmsData> has no <AppItems> section/
    ],
    ['an empty section', xml({ csvlks: '' }), /^<CsvlkItems> has no <CsvlkItem>/],
    [
      'a bad GUID',
      xml({
        apps: '<AppItem DisplayName="Windows" Id="55c92734-d682-4d71-983e-d6ec3f16059"><KmsItem DisplayName="k" Id="4b83307d-7788-50ff-8d1f-1861915bdb9d"/></AppItem>'
      }),
      /^AppItems\/AppItem\[1\] "Windows": Id="55c92734-d682-4d71-983e-d6ec3f16059" is not a GUID; write one like/
    ],
    [
      'a bad Activate GUID',
      xml({ csvlks: '<CsvlkItem DisplayName="K" Id="11111111-2222-3333-4444-555555555555"><Activate KmsItem="zz" /></CsvlkItem>' }),
      /^CsvlkItems\/CsvlkItem\[1\] "K"\/Activate\[1\]: KmsItem="zz" is not a GUID/
    ],
    [
      'a duplicate SKU',
      xml({
        apps: '<AppItem DisplayName="W" Id="55c92734-d682-4d71-983e-d6ec3f16059f"><KmsItem DisplayName="k" Id="4b83307d-7788-50ff-8d1f-1861915bdb9d"><SkuItem DisplayName="a" Id="7dc26449-db21-4e09-ba37-28f2958506a6"/><SkuItem DisplayName="b" Id="7DC26449-DB21-4E09-BA37-28F2958506A6"/></KmsItem></AppItem>'
      }),
      /^AppItems\/AppItem\[1\] "W"\/KmsItem\[1\] "k"\/SkuItem\[2\] "b": Id 7dc26449-db21-4e09-ba37-28f2958506a6 is already the SkuItem at .*SkuItem\[1\] "a"; each SKU is listed once$/
    ],
    [
      'a duplicate KMS ID',
      xml({
        apps: '<AppItem DisplayName="W" Id="55c92734-d682-4d71-983e-d6ec3f16059f"><KmsItem DisplayName="k" Id="4b83307d-7788-50ff-8d1f-1861915bdb9d"/><KmsItem DisplayName="k2" Id="4b83307d-7788-50ff-8d1f-1861915bdb9d"/></AppItem>'
      }),
      /KmsItem\[2\] "k2": Id 4b83307d-7788-50ff-8d1f-1861915bdb9d is already the KmsItem at .*; each KMS counted ID is listed once$/
    ],
    [
      'a duplicate CSVLK with different data',
      xml({
        csvlks:
          '<CsvlkItem DisplayName="A" GroupId="1" MinKeyId="0" MaxKeyId="9" Id="11111111-2222-3333-4444-555555555555"/><CsvlkItem DisplayName="B" GroupId="2" MinKeyId="0" MaxKeyId="9" Id="11111111-2222-3333-4444-555555555555"/>'
      }),
      /^CsvlkItems\/CsvlkItem\[2\] "B": Id 11111111-2222-3333-4444-555555555555 is already used by CsvlkItem "A" with a different group/
    ],
    [
      'a duplicate build',
      xml({
        builds:
          '<WinBuild BuildNumber="9600" DisplayName="a" PlatformId="6401"/><WinBuild BuildNumber="9600" DisplayName="b" PlatformId="6401"/>'
      }),
      /^WinBuilds\/WinBuild\[2\] "b": build 9600 is listed twice/
    ],
    [
      'a missing build number',
      xml({ builds: '<WinBuild DisplayName="a" PlatformId="6401"/>' }),
      /^WinBuilds\/WinBuild\[1\] "a" has no BuildNumber; add BuildNumber="26100"$/
    ],
    [
      'a bad number',
      xml({ csvlks: '<CsvlkItem DisplayName="K" GroupId="two" Id="11111111-2222-3333-4444-555555555555"/>' }),
      /^CsvlkItems\/CsvlkItem\[1\] "K": GroupId="two" is not a whole number/
    ],
    [
      'a bad boolean',
      xml({ csvlks: '<CsvlkItem DisplayName="K" IsLab="yes" Id="11111111-2222-3333-4444-555555555555"/>' }),
      /IsLab="yes" is not a boolean; write IsLab="true" or IsLab="false"$/
    ],
    [
      'a bad date',
      xml({ csvlks: '<CsvlkItem DisplayName="K" ReleaseDate="2024-13-01" Id="11111111-2222-3333-4444-555555555555"/>' }),
      /ReleaseDate="2024-13-01" is not a date/
    ],
    [
      'a bad InvalidWinBuild',
      xml({ csvlks: '<CsvlkItem DisplayName="K" InvalidWinBuild="0,1" Id="11111111-2222-3333-4444-555555555555"/>' }),
      /InvalidWinBuild="0,1" is not a list of build indexes/
    ],
    [
      'an InvalidWinBuild out of range',
      xml({ csvlks: '<CsvlkItem DisplayName="K" InvalidWinBuild="[0,5]" Id="11111111-2222-3333-4444-555555555555"/>' }),
      /InvalidWinBuild index 5 is out of range; <WinBuilds> has 2 builds with UseForEpid="true"/
    ],
    [
      'a reversed key range',
      xml({ csvlks: '<CsvlkItem DisplayName="K" GroupId="1" MinKeyId="9" MaxKeyId="1" Id="11111111-2222-3333-4444-555555555555"/>' }),
      /MinKeyId 9 is above MaxKeyId 1; swap them$/
    ],
    [
      'a bad protocol',
      xml({
        apps: '<AppItem DisplayName="W" Id="55c92734-d682-4d71-983e-d6ec3f16059f"><KmsItem DisplayName="k" Id="4b83307d-7788-50ff-8d1f-1861915bdb9d" DefaultKmsProtocol="7.0"/></AppItem>'
      }),
      /DefaultKmsProtocol="7\.0" is not a KMS protocol; write "4\.0", "5\.0" or "6\.0"$/
    ],
    [
      'a bad GVLK',
      xml({
        apps: '<AppItem DisplayName="W" Id="55c92734-d682-4d71-983e-d6ec3f16059f"><KmsItem DisplayName="k" Id="4b83307d-7788-50ff-8d1f-1861915bdb9d"><SkuItem DisplayName="s" Id="7dc26449-db21-4e09-ba37-28f2958506a6" Gvlk="ABC"/></KmsItem></AppItem>'
      }),
      /SkuItem\[1\] "s": Gvlk="ABC" is not a product key/
    ]
  ])('%s → one clear line', (_what, text, message) => {
    const m = importError(text)
    expect(m).toMatch(message)
    expect(m).not.toContain('\n')
  })

  it('the command prints one line and exits 2 for a bad file, a missing file or bad arguments', () => {
    const bad = path.join(tmp, 'products.json')
    writeFileSync(bad, '{"skus": []}')
    const out = path.join(tmp, 'never.json')
    for (const args of [[bad, '--out', out], [path.join(tmp, 'missing.xml'), '--out', out], [], [FIXTURE, '--bogus'], [FIXTURE, FIXTURE]]) {
      const r = run(args)
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.err).toMatch(/^catalog-import: \S.*\n$/)
      expect(r.err).not.toMatch(/\n\s+at /)
    }
    expect(run([bad, '--out', out]).err).toMatch(/^catalog-import: products\.json: not well-formed XML at line 1, column 1/)
    expect(run([path.join(tmp, 'missing.xml')]).err).toContain('ENOENT; give the path of a KmsDataBase.xml')
  })
})
