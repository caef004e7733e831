import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createAppService } from '../../src-main/service/app-service'
import { defaultSettings } from '../../src-main/storage/settings'

let configDir: string
beforeEach(async () => {
  configDir = await mkdtemp(join(tmpdir(), 'kms-scout-service-'))
})
afterEach(async () => {
  await rm(configDir, { recursive: true, force: true })
})

describe('app service', () => {
  it('starts with defaults when there is no settings file', async () => {
    const service = await createAppService({ shell: 'cli', configDir, version: '1.2.3' })
    expect(await service.handlers.getSettings(undefined)).toEqual({ settings: defaultSettings(), warnings: [] })
    expect(await service.handlers.getAppInfo(undefined)).toMatchObject({ version: '1.2.3', shell: 'cli', configDir })
    await service.close()
  })

  it('a broken settings file is moved aside, defaults are used and a warning is shown', async () => {
    await writeFile(join(configDir, 'settings.json'), '{ "client": { "hostCaching": tru')
    const service = await createAppService({ shell: 'cli', configDir, version: '1' })
    const view = await service.handlers.getSettings(undefined)
    expect(view.settings).toEqual(defaultSettings())
    expect(view.warnings).toHaveLength(1)
    expect(view.warnings[0]).toMatch(/corrupt/)
    const files = await readdir(configDir)
    const movedAside = files.find((name) => name.startsWith('settings.json.corrupt-'))
    expect(movedAside).toBeDefined()
    // Nothing is lost: the broken content is still there, under the new name.
    expect(await readFile(join(configDir, movedAside!), 'utf8')).toBe('{ "client": { "hostCaching": tru')
    await service.close()
  })

  it('saves settings, announces the change, and a new instance reads them back', async () => {
    const service = await createAppService({ shell: 'cli', configDir, version: '1' })
    const seen: unknown[] = []
    service.events.on('settingsChanged', (view) => seen.push(view))
    const next = { ...defaultSettings(), client: { ...defaultSettings().client, lookupDomain: 'lab.example.test' } }
    const view = await service.handlers.updateSettings(next)
    expect(view.settings.client.lookupDomain).toBe('lab.example.test')
    expect(seen).toEqual([view])
    await service.close()

    const reopened = await createAppService({ shell: 'cli', configDir, version: '1' })
    expect((await reopened.handlers.getSettings(undefined)).settings.client.lookupDomain).toBe('lab.example.test')
    await reopened.close()
  })

  it('remembers window bounds without exposing them to the renderer API', async () => {
    const service = await createAppService({ shell: 'electron', configDir, version: '1' })
    expect(await service.windowBounds.load()).toBeUndefined()
    await service.windowBounds.save({ x: 10, y: 20, width: 1000, height: 700, maximized: true })
    await service.close()
    const reopened = await createAppService({ shell: 'electron', configDir, version: '1' })
    expect(await reopened.windowBounds.load()).toEqual({ x: 10, y: 20, width: 1000, height: 700, maximized: true })
    await reopened.close()
  })
})
