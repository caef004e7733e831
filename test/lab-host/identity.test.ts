/**
 * The lab host's identity file: ePID per CSVLK group and HwId, generated once from injected randomness and clock,
 * persisted, stable, overridable.
 */
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { explainEpid, formatHwid, parseEpid, productCatalog } from '../../src-main/protocol/index'
import { generateIdentityFile, LAB_HOST_IDENTITY_FILE, loadLabHostIdentity } from '../../src-main/lab-host/identity'
import { seededRandom } from '../helpers/vectors'
import { useLabHosts } from '../helpers/lab-host-fixture'

const labs = useLabHosts()
const NOW = new Date('2026-11-25T10:00:00Z')

describe('lab host identity', () => {
  it('generates a valid, realistic ePID for every CSVLK group: one host build and LCID, key ids in range, dates after release', () => {
    const file = generateIdentityFile(seededRandom(1), NOW)
    expect(Object.keys(file.epids).sort()).toEqual(productCatalog.csvlkGroups.map((g) => g.iniName).sort())
    const newest = [...productCatalog.hostBuilds].sort((a, b) => Date.parse(b.releaseDateUtc) - Date.parse(a.releaseDateUtc)).slice(0, 2)
    expect(newest.map((b) => b.buildNumber)).toContain(file.hostBuild)
    for (const group of productCatalog.csvlkGroups) {
      const parsed = parseEpid(file.epids[group.iniName]!)
      if (!parsed.ok) throw new Error(parsed.error.message)
      const ex = explainEpid(parsed.parts)
      expect(parsed.parts.groupId).toBe(group.groupId)
      expect(parsed.parts.build).toBe(file.hostBuild)
      expect(parsed.parts.lcid).toBe(file.lcid)
      expect(ex.platformMatchesBuild).toBe(true)
      expect(parsed.parts.keyId).toBeGreaterThanOrEqual(group.minKeyId)
      expect(parsed.parts.keyId).toBeLessThanOrEqual(group.maxKeyId)
      const activated = Date.parse(ex.activationDate)
      expect(activated).toBeGreaterThanOrEqual(Date.parse(group.releaseDateUtc) - 86_400_000)
      expect(activated).toBeLessThanOrEqual(NOW.getTime())
    }
    expect(file.hwid).toMatch(/^[0-9A-F]{16}$/)
    // deterministic for the same randomness and clock
    expect(generateIdentityFile(seededRandom(1), NOW)).toEqual(file)
    expect(generateIdentityFile(seededRandom(2), NOW).epids).not.toEqual(file.epids)
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
    expect(second.identity.epids).toEqual(first.identity.epids)
    expect(second.identity.hwid).toEqual(first.identity.hwid)
    expect(second.sources.Windows).toBe('file')
    expect(fs.readFileSync(file, 'utf8')).toBe(text)
  })

  it('settings/CLI overrides win over the file and are not written to it', async () => {
    const dir = labs.tempDir()
    const file = path.join(dir, LAB_HOST_IDENTITY_FILE)
    const own = await loadLabHostIdentity({ file, random: seededRandom(4), now: () => NOW })
    const epid = '03612-00206-567-887631-03-2074-14393.0000-0092024'
    const o = await loadLabHostIdentity({
      file,
      random: seededRandom(5),
      now: () => NOW,
      overrides: { epids: { Windows: epid }, hwid: '3a1c049600b60076' }
    })
    expect(o.identity.epids.Windows).toBe(epid)
    expect(o.identity.epids.Office2010).toBe(own.identity.epids.Office2010)
    expect(formatHwid(o.identity.hwid)).toBe('3A1C049600B60076')
    expect(o.sources).toMatchObject({ Windows: 'override', Office2010: 'file' })
    // one ePID for every group; a per-group override still wins
    const all = await loadLabHostIdentity({
      file,
      random: seededRandom(5),
      now: () => NOW,
      overrides: { allEpids: epid, epids: { Office2010: own.identity.epids.Office2013! } }
    })
    expect(
      new Set(
        Object.entries(all.identity.epids)
          .filter(([g]) => g !== 'Office2010')
          .map(([, e]) => e)
      )
    ).toEqual(new Set([epid]))
    expect(all.identity.epids.Office2010).toBe(own.identity.epids.Office2013)
    expect(all.warnings.some((w) => w.includes('names CSVLK group 206'))).toBe(true) // Office 2010 is group 96
    // the file still holds the host's own identity
    const again = await loadLabHostIdentity({ file, random: seededRandom(6), now: () => NOW })
    expect(again.identity.epids).toEqual(own.identity.epids)
  })

  it('rejects invalid overrides', async () => {
    const file = path.join(labs.tempDir(), LAB_HOST_IDENTITY_FILE)
    await expect(
      loadLabHostIdentity({ file, random: seededRandom(7), now: () => NOW, overrides: { allEpids: 'not-an-epid' } })
    ).rejects.toThrow(/invalid/)
    await expect(loadLabHostIdentity({ file, random: seededRandom(7), now: () => NOW, overrides: { hwid: 'XYZ' } })).rejects.toThrow(
      /16 hex digits/
    )
    await expect(
      loadLabHostIdentity({ file, random: seededRandom(7), now: () => NOW, overrides: { epids: { Windows: `${'1'.repeat(60)}` } } })
    ).rejects.toThrow(/Windows/)
  })

  it('moves an unusable file aside and makes a new identity, with a warning', async () => {
    const dir = labs.tempDir()
    const file = path.join(dir, LAB_HOST_IDENTITY_FILE)
    fs.writeFileSync(file, '{ "version": 1, "epids": "broken" ')
    const loaded = await loadLabHostIdentity({ file, random: seededRandom(8), now: () => NOW })
    expect(loaded.created).toBe(true)
    expect(loaded.warnings.join('\n')).toMatch(/not valid JSON/)
    expect(fs.readdirSync(dir).some((f) => f.startsWith(`${LAB_HOST_IDENTITY_FILE}.corrupt-`))).toBe(true)
    expect(Object.keys(loaded.identity.epids)).toHaveLength(productCatalog.csvlkGroups.length)
  })

  it('adds an ePID for a CSVLK group missing from an older file, keeping the others', async () => {
    const dir = labs.tempDir()
    const file = path.join(dir, LAB_HOST_IDENTITY_FILE)
    const own = await loadLabHostIdentity({ file, random: seededRandom(9), now: () => NOW })
    const stored = JSON.parse(fs.readFileSync(file, 'utf8')) as { epids: Record<string, string> }
    delete stored.epids.Office2019
    fs.writeFileSync(file, JSON.stringify(stored))
    const again = await loadLabHostIdentity({ file, random: seededRandom(10), now: () => NOW })
    expect(again.identity.epids.Windows).toBe(own.identity.epids.Windows)
    expect(parseEpid(again.identity.epids.Office2019!).ok).toBe(true)
    expect((JSON.parse(fs.readFileSync(file, 'utf8')) as { epids: Record<string, string> }).epids.Office2019).toBe(
      again.identity.epids.Office2019
    )
  })
})
