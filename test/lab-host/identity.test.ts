/**
 * The lab host's identity file: the ePID of every held host key (CSVLK) and the HwId, generated once from injected
 * randomness and clock, persisted, stable, overridable; files of the first format (ePIDs per vlmcsd group) keep
 * their ePIDs under the keys they name.
 */
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { explainEpid, formatHwid, parseEpid, productCatalog, type Csvlk } from '../../src-main/protocol/index'
import { chooseHostKeys, defaultHostKeys } from '../../src-main/lab-host/host-keys'
import { generateIdentityFile, LAB_HOST_IDENTITY_FILE, loadLabHostIdentity, type LabHostIdentity } from '../../src-main/lab-host/identity'
import { seededRandom } from '../helpers/vectors'
import { useLabHosts } from '../helpers/lab-host-fixture'

const labs = useLabHosts()
const NOW = new Date('2026-11-25T10:00:00Z')

const epidOf = (identity: LabHostIdentity, keyName: string): string | undefined => identity.keys.find((k) => k.csvlk.name === keyName)?.epid

describe('lab host identity', () => {
  it('holds the newest released key of every application by default', () => {
    expect(defaultHostKeys(productCatalog).map((k) => k.name)).toEqual(['Windows Server 2025', 'Office 2010 VL', 'Office LTSC 2024'])
  })

  it('generates a valid ePID per held key: its group and key range, a build it may run on, one LCID, dates after release', () => {
    const keys = defaultHostKeys(productCatalog)
    const file = generateIdentityFile(seededRandom(1), NOW, productCatalog, keys)
    expect(Object.keys(file.keys).sort()).toEqual(keys.map((k) => k.id).sort())
    for (const key of keys) {
      const parsed = parseEpid(file.keys[key.id!]!)
      if (!parsed.ok) throw new Error(parsed.error.message)
      const ex = explainEpid(parsed.parts)
      expect(parsed.parts.groupId).toBe(key.groupId)
      expect(parsed.parts.keyId).toBeGreaterThanOrEqual(key.minKeyId!)
      expect(parsed.parts.keyId).toBeLessThanOrEqual(key.maxKeyId!)
      expect(key.hostBuilds).toContain(parsed.parts.build)
      expect(parsed.parts.build).toBe(productCatalog.defaultBuildForCsvlk(key)!.buildNumber)
      expect(parsed.parts.lcid).toBe(file.lcid)
      expect(ex.platformMatchesBuild).toBe(true)
      const activated = Date.parse(ex.activationDate)
      if (key.releaseDateUtc !== null) expect(activated).toBeGreaterThanOrEqual(Date.parse(key.releaseDateUtc) - 86_400_000)
      expect(activated).toBeLessThanOrEqual(NOW.getTime())
    }
    // the Windows Server 2025 key: group 04918, build 26100
    expect(file.keys['84e331f6-4279-48c4-ab10-b75139181351']).toMatch(/^\d{5}-04918-\d{3}-\d{6}-03-\d+-26100\.0000-\d{7}$/)
    expect(file.hwid).toMatch(/^[0-9A-F]{16}$/)
    // deterministic for the same randomness and clock
    expect(generateIdentityFile(seededRandom(1), NOW, productCatalog, keys)).toEqual(file)
    expect(generateIdentityFile(seededRandom(2), NOW, productCatalog, keys).keys).not.toEqual(file.keys)
  })

  it('is created once and read back unchanged (no randomness used the second time)', async () => {
    const dir = labs.tempDir()
    const file = path.join(dir, LAB_HOST_IDENTITY_FILE)
    const first = await loadLabHostIdentity({ file, random: seededRandom(3), now: () => NOW })
    expect(first.created).toBe(true)
    expect(first.hwidSource).toBe('generated')
    const text = fs.readFileSync(file, 'utf8')
    const noRandom = (): Uint8Array => {
      throw new Error('randomness must not be needed for an existing identity')
    }
    const second = await loadLabHostIdentity({ file, random: noRandom, now: () => new Date('2027-01-01T00:00:00Z') })
    expect(second.created).toBe(false)
    expect(second.identity.keys.map((k) => k.epid)).toEqual(first.identity.keys.map((k) => k.epid))
    expect(second.identity.hwid).toEqual(first.identity.hwid)
    expect(second.sources['Windows Server 2025']).toBe('file')
    expect(fs.readFileSync(file, 'utf8')).toBe(text)
  })

  it('keeps the ePID of every key it has held: switching to the 2019 key and back changes nothing', async () => {
    const file = path.join(labs.tempDir(), LAB_HOST_IDENTITY_FILE)
    const server2019 = chooseHostKeys(productCatalog, ['Windows Server 2019'])
    const first = await loadLabHostIdentity({ file, random: seededRandom(11), now: () => NOW })
    const with2019 = await loadLabHostIdentity({ file, random: seededRandom(12), now: () => NOW, keys: server2019 })
    expect(with2019.identity.keys.map((k) => k.csvlk.name)).toEqual(['Office 2010 VL', 'Office LTSC 2024', 'Windows Server 2019'])
    const epid2019 = epidOf(with2019.identity, 'Windows Server 2019')!
    expect(parseEpid(epid2019)).toMatchObject({ ok: true, parts: { groupId: 206 } })
    const back = await loadLabHostIdentity({ file, random: seededRandom(13), now: () => NOW })
    expect(epidOf(back.identity, 'Windows Server 2025')).toBe(epidOf(first.identity, 'Windows Server 2025'))
    const again2019 = await loadLabHostIdentity({ file, random: seededRandom(14), now: () => NOW, keys: server2019 })
    expect(epidOf(again2019.identity, 'Windows Server 2019')).toBe(epid2019)
  })

  it('reads a file of the first format: each group ePID stays the ePID of the key it names; new keys get one', async () => {
    const file = path.join(labs.tempDir(), LAB_HOST_IDENTITY_FILE)
    const old2019 = '03612-00206-566-775718-03-1058-17763.0000-0982025' // Windows Server 2019 key range
    const office2010 = '03612-00096-199-799188-03-1033-17763.0000-2972018'
    fs.writeFileSync(
      file,
      JSON.stringify({
        version: 1,
        createdAt: '2025-04-08T00:00:00.000Z',
        hostBuild: 17763,
        lcid: 1058,
        epids: { Windows: old2019, Office2010: office2010 },
        hwid: '3A1C049600B60076'
      })
    )
    const loaded = await loadLabHostIdentity({ file, random: seededRandom(15), now: () => NOW })
    expect(loaded.created).toBe(false)
    expect(epidOf(loaded.identity, 'Office 2010 VL')).toBe(office2010)
    expect(epidOf(loaded.identity, 'Windows Server 2025')).toMatch(/-04918-.*-1058-26100\.0000-/)
    expect(formatHwid(loaded.identity.hwid)).toBe('3A1C049600B60076')
    const with2019 = await loadLabHostIdentity({
      file,
      random: seededRandom(16),
      now: () => NOW,
      keys: chooseHostKeys(productCatalog, ['Windows Server 2019'])
    })
    expect(epidOf(with2019.identity, 'Windows Server 2019')).toBe(old2019)
    expect((JSON.parse(fs.readFileSync(file, 'utf8')) as { version: number }).version).toBe(2)
  })

  it('settings/CLI overrides win over the file and are not written to it', async () => {
    const dir = labs.tempDir()
    const file = path.join(dir, LAB_HOST_IDENTITY_FILE)
    const own = await loadLabHostIdentity({ file, random: seededRandom(4), now: () => NOW })
    const epid = '03612-04918-001-000000-03-1033-26100.0000-0012025'
    const o = await loadLabHostIdentity({
      file,
      random: seededRandom(5),
      now: () => NOW,
      overrides: { epids: { Windows: epid }, hwid: '3a1c049600b60076' }
    })
    expect(epidOf(o.identity, 'Windows Server 2025')).toBe(epid)
    expect(epidOf(o.identity, 'Office 2010 VL')).toBe(epidOf(own.identity, 'Office 2010 VL'))
    expect(formatHwid(o.identity.hwid)).toBe('3A1C049600B60076')
    expect(o.sources).toMatchObject({ 'Windows Server 2025': 'override', 'Office 2010 VL': 'file' })
    expect(o.warnings).toEqual([])
    // one ePID for every key; a per-key override (by the key's name) still wins, and a mismatch is a warning
    const all = await loadLabHostIdentity({
      file,
      random: seededRandom(5),
      now: () => NOW,
      overrides: { allEpids: epid, epids: { 'Office 2010 VL': epidOf(own.identity, 'Office LTSC 2024')! } }
    })
    expect(epidOf(all.identity, 'Windows Server 2025')).toBe(epid)
    expect(epidOf(all.identity, 'Office LTSC 2024')).toBe(epid)
    expect(epidOf(all.identity, 'Office 2010 VL')).toBe(epidOf(own.identity, 'Office LTSC 2024'))
    expect(all.warnings.some((w) => w.includes('does not name the host key Office 2010 VL'))).toBe(true)
    // an override for a key the host does not hold is ignored with a warning
    const other = await loadLabHostIdentity({ file, random: seededRandom(5), now: () => NOW, overrides: { epids: { Office2013: epid } } })
    expect(other.warnings.join('\n')).toMatch(/"Office2013" ignored: the host holds no such key/)
    // the file still holds the host's own identity
    const again = await loadLabHostIdentity({ file, random: seededRandom(6), now: () => NOW })
    expect(again.identity.keys.map((k) => k.epid)).toEqual(own.identity.keys.map((k) => k.epid))
  })

  it('rejects invalid overrides and unknown keys', async () => {
    const file = path.join(labs.tempDir(), LAB_HOST_IDENTITY_FILE)
    await expect(
      loadLabHostIdentity({ file, random: seededRandom(7), now: () => NOW, overrides: { allEpids: 'not-an-epid' } })
    ).rejects.toThrow(/invalid/)
    await expect(loadLabHostIdentity({ file, random: seededRandom(7), now: () => NOW, overrides: { hwid: 'XYZ' } })).rejects.toThrow(
      /16 hex digits/
    )
    await expect(
      loadLabHostIdentity({ file, random: seededRandom(7), now: () => NOW, overrides: { epids: { Windows: `${'1'.repeat(60)}` } } })
    ).rejects.toThrow(/Windows Server 2025/)
    expect(() => chooseHostKeys(productCatalog, ['Windows Server 2099'])).toThrow(/no host key \(CSVLK\) is called 'Windows Server 2099'/)
    expect(() => chooseHostKeys(productCatalog, ['Windows Server'])).toThrow(/names \d+ host keys/)
  })

  it('moves an unusable file aside and makes a new identity, with a warning', async () => {
    const dir = labs.tempDir()
    const file = path.join(dir, LAB_HOST_IDENTITY_FILE)
    fs.writeFileSync(file, '{ "version": 1, "epids": "broken" ')
    const loaded = await loadLabHostIdentity({ file, random: seededRandom(8), now: () => NOW })
    expect(loaded.created).toBe(true)
    expect(loaded.warnings.join('\n')).toMatch(/not valid JSON/)
    expect(fs.readdirSync(dir).some((f) => f.startsWith(`${LAB_HOST_IDENTITY_FILE}.corrupt-`))).toBe(true)
    expect(loaded.identity.keys).toHaveLength(defaultHostKeys(productCatalog).length)
  })

  it('chooseHostKeys replaces the default of the chosen key’s application only', () => {
    const names = (keys: Csvlk[]): string[] => keys.map((k) => k.name).sort()
    expect(names(chooseHostKeys(productCatalog, ['Office LTSC 2021']))).toEqual([
      'Office 2010 VL',
      'Office LTSC 2021',
      'Windows Server 2025'
    ])
    expect(names(chooseHostKeys(productCatalog, ['84e331f6-4279-48c4-ab10-b75139181351']))).toEqual(names(defaultHostKeys(productCatalog)))
  })
})
