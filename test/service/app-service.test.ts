import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { productCatalog } from '../../src-main/protocol/products'
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

describe('app service: products and client identity', () => {
  it('lists and searches products, and names the default', async () => {
    const service = await createAppService({ shell: 'cli', configDir, version: '1' })
    const all = await service.handlers.listProducts(undefined)
    expect(all.products).toHaveLength(productCatalog.skus.length)
    expect(all.products.find((sku) => sku.guid === all.defaultSkuId)?.requiredClientCount).toBe(25)
    const office = await service.handlers.listProducts({ search: 'office 2016 plus' })
    expect(office.products.length).toBeGreaterThan(0)
    for (const sku of office.products) {
      expect(`${sku.name} ${sku.kmsCountedName} ${sku.application}`).toMatch(/office/i)
      expect(`${sku.name} ${sku.kmsCountedName}`).toMatch(/2016/)
      expect(`${sku.name} ${sku.kmsCountedName}`).toMatch(/plus/i)
    }
    await service.close()
  })

  it('keeps one client machine ID across restarts until it is renewed on purpose', async () => {
    const first = await createAppService({ shell: 'cli', configDir, version: '1' })
    const identity = await first.handlers.getIdentity(undefined)
    expect(identity.cmid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(await first.handlers.getIdentity(undefined)).toEqual(identity)
    await first.close()

    const second = await createAppService({ shell: 'cli', configDir, version: '1' })
    expect((await second.handlers.getIdentity(undefined)).cmid).toBe(identity.cmid)
    const renewed = await second.handlers.renewIdentity(undefined)
    expect(renewed.cmid).not.toBe(identity.cmid)
    expect(renewed.previousCmid).toBe(identity.cmid)
    await second.close()
  })
})
