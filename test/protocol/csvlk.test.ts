/**
 * The host-key rules of src-main/protocol/csvlk.ts on small hand-made keys, so every boundary is visible: an ePID
 * names a key by group and key-ID range (both ends inclusive), a key serves what its `covers` lists, which keys a
 * real host can hold, which key of a family is the newest (docs/product-catalog.md: the database lists each family
 * newest first, and an undated key listed first is the newest), the host build a key most plausibly runs on, and
 * the verdict on a host key for one KMS counted ID. The catalog's real keys are checked in test/catalog.
 */
import { describe, expect, it } from 'vitest'
import {
  csvlkActivates,
  csvlkMatchesEpid,
  defaultBuildFor,
  hostKeyCoverage,
  isProductionCsvlk,
  newestOf,
  type Csvlk
} from '../../src-main/protocol/csvlk'

const CLIENT = '58e2134f-8e11-4d17-9cb2-91069c151148'
const SERVER = '8449b1fb-f0ea-497a-99ab-66ca96e9a0f5'

function key(fields: Partial<Csvlk> & { name: string }): Csvlk {
  return {
    id: '11111111-2222-4333-8444-555555555555',
    alsoKnownAs: [],
    groupId: 206,
    minKeyId: 100,
    maxKeyId: 199,
    releaseDateUtc: '2020-01-01',
    isLab: false,
    isPreview: false,
    iniName: null,
    epid: null,
    activates: [],
    covers: [CLIENT],
    invalidWinBuild: [],
    hostBuilds: [],
    ...fields
  }
}

describe('csvlkMatchesEpid', () => {
  const k = key({ name: 'k' })
  it.each([
    [206, 100, true],
    [206, 199, true],
    [206, 150, true],
    [206, 99, false],
    [206, 200, false],
    [207, 150, false]
  ])('group %i, key ID %i → %s', (group, keyId, expected) => {
    expect(csvlkMatchesEpid(k, group, keyId)).toBe(expected)
  })

  it('a key without a known range matches nothing, whatever its group', () => {
    expect(csvlkMatchesEpid(key({ name: 'no min', minKeyId: null }), 206, 150)).toBe(false)
    expect(csvlkMatchesEpid(key({ name: 'no max', maxKeyId: null }), 206, 150)).toBe(false)
    // key ID 0 with a lower end of 0: only the missing upper end keeps it out
    expect(csvlkMatchesEpid(key({ name: 'no max', minKeyId: 0, maxKeyId: null }), 206, 0)).toBe(false)
  })
})

describe('csvlkActivates', () => {
  it('is what the key covers, nothing else', () => {
    const k = key({ name: 'k', covers: [CLIENT], activates: [SERVER] })
    expect(csvlkActivates(k, CLIENT)).toBe(true)
    expect(csvlkActivates(k, SERVER)).toBe(false)
  })
})

describe('isProductionCsvlk', () => {
  it('a released key with ID, group and range', () => {
    expect(isProductionCsvlk(key({ name: 'k' }))).toBe(true)
  })
  it.each<[string, Partial<Csvlk>]>([
    ['a lab key', { isLab: true }],
    ['a pre-release key', { isPreview: true }],
    ['no ID', { id: null }],
    ['no group', { groupId: null }],
    ['no lower end', { minKeyId: null }],
    ['no upper end', { maxKeyId: null }]
  ])('not %s', (_label, change) => {
    expect(isProductionCsvlk(key({ name: 'k', ...change }))).toBe(false)
  })
})

describe('newestOf', () => {
  const names = (c: Csvlk | undefined): string | undefined => c?.name
  it('the latest release date wins, wherever it is listed', () => {
    const family = [
      key({ name: '2019', releaseDateUtc: '2018-10-02' }),
      key({ name: '2022', releaseDateUtc: '2021-08-18' }),
      key({ name: '2016', releaseDateUtc: '2016-10-12' })
    ]
    expect(names(newestOf(family))).toBe('2022')
  })
  it('of two keys with the same date, the first listed', () => {
    expect(names(newestOf([key({ name: 'a', releaseDateUtc: '2021-01-01' }), key({ name: 'b', releaseDateUtc: '2021-01-01' })]))).toBe('a')
  })
  it('an undated key listed before the latest dated one is newer (Office LTSC 2024 before 2021)', () => {
    const family = [
      key({ name: '2024', releaseDateUtc: null }),
      key({ name: '2021', releaseDateUtc: '2021-09-16' }),
      key({ name: '2019', releaseDateUtc: '2018-09-24' })
    ]
    expect(names(newestOf(family))).toBe('2024')
  })
  it('an undated key listed after the latest dated one is not', () => {
    const family = [key({ name: '2021', releaseDateUtc: '2021-09-16' }), key({ name: 'old', releaseDateUtc: null })]
    expect(names(newestOf(family))).toBe('2021')
  })
  it('the first undated key listed before it, when there are several', () => {
    const family = [
      key({ name: 'x', releaseDateUtc: '2010-01-01' }),
      key({ name: 'u1', releaseDateUtc: null }),
      key({ name: 'u2', releaseDateUtc: null }),
      key({ name: 'dated', releaseDateUtc: '2021-01-01' })
    ]
    expect(names(newestOf(family))).toBe('u1')
  })
  it('no dated key: the first listed; no key: none', () => {
    expect(names(newestOf([key({ name: 'u1', releaseDateUtc: null }), key({ name: 'u2', releaseDateUtc: null })]))).toBe('u1')
    expect(newestOf([])).toBeUndefined()
  })
})

describe('defaultBuildFor', () => {
  const builds = [
    { buildNumber: 17763, releaseDateUtc: '2018-10-02' },
    { buildNumber: 20348, releaseDateUtc: '2021-08-18' },
    { buildNumber: 26100, releaseDateUtc: '2024-11-01' }
  ]
  it('the allowed build released closest to the key', () => {
    expect(defaultBuildFor(key({ name: 'k', releaseDateUtc: '2021-09-01', hostBuilds: [26100, 20348, 17763] }), builds)?.buildNumber).toBe(
      20348
    )
    expect(defaultBuildFor(key({ name: 'k', releaseDateUtc: '2018-01-01', hostBuilds: [26100, 20348, 17763] }), builds)?.buildNumber).toBe(
      17763
    )
  })
  it('only builds the key may run on', () => {
    expect(defaultBuildFor(key({ name: 'k', releaseDateUtc: '2018-10-02', hostBuilds: [26100, 20348] }), builds)?.buildNumber).toBe(20348)
  })
  it('a tie goes to the newer build', () => {
    const tie = [
      { buildNumber: 100, releaseDateUtc: '2020-01-01' },
      { buildNumber: 200, releaseDateUtc: '2020-01-21' }
    ]
    expect(defaultBuildFor(key({ name: 'k', releaseDateUtc: '2020-01-11', hostBuilds: [100, 200] }), tie)?.buildNumber).toBe(200)
  })
  it('an undated key: the newest allowed build; no allowed build: none', () => {
    expect(defaultBuildFor(key({ name: 'k', releaseDateUtc: null, hostBuilds: [17763, 20348] }), builds)?.buildNumber).toBe(20348)
    expect(defaultBuildFor(key({ name: 'k', hostBuilds: [9600] }), builds)).toBeUndefined()
  })
})

describe('hostKeyCoverage', () => {
  const serves = key({ name: 'serves', groupId: 206, minKeyId: 100, maxKeyId: 199, covers: [CLIENT, SERVER] })
  const clientOnly = key({ name: 'client only', groupId: 206, minKeyId: 150, maxKeyId: 299, covers: [CLIENT] })
  const elsewhere = key({ name: 'elsewhere', groupId: 3612, minKeyId: 0, maxKeyId: 999, covers: [SERVER] })
  const all = [serves, clientOnly, elsewhere]

  it('one key in range that serves the ID: covered, named', () => {
    expect(hostKeyCoverage(all, 206, 120, SERVER)).toEqual({
      verdict: 'covered',
      csvlk: serves,
      candidates: [serves],
      covering: [serves, elsewhere]
    })
  })
  it('one key in range that does not serve it: not covered, named, with the keys that would', () => {
    expect(hostKeyCoverage(all, 206, 250, SERVER)).toEqual({
      verdict: 'not-covered',
      csvlk: clientOnly,
      candidates: [clientOnly],
      covering: [serves, elsewhere]
    })
  })
  it('two keys share the range and both serve it: covered, no single key named', () => {
    expect(hostKeyCoverage(all, 206, 160, CLIENT)).toEqual({
      verdict: 'covered',
      csvlk: null,
      candidates: [serves, clientOnly],
      covering: [serves, clientOnly]
    })
  })
  it('two keys share the range, one serves it: ambiguous', () => {
    expect(hostKeyCoverage(all, 206, 160, SERVER)).toEqual({
      verdict: 'ambiguous',
      csvlk: null,
      candidates: [serves, clientOnly],
      covering: [serves, elsewhere]
    })
  })
  it('no key has the group and key ID: unknown key', () => {
    expect(hostKeyCoverage(all, 5, 1, CLIENT)).toEqual({
      verdict: 'unknown-key',
      csvlk: null,
      candidates: [],
      covering: [serves, clientOnly]
    })
  })
})
