/**
 * The UI's check and discovery go through the app service: settings as defaults, the form's fields as
 * overrides, live progress as checkProgress events, and the installation's stable CMID on the wire.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { dispatchCall } from '../../src-main/api/dispatch'
import type { CheckProgress } from '../../src-main/api/contract'
import { createAppService, type AppService } from '../../src-main/service/app-service'
import { defaultSettings } from '../../src-main/storage/settings'
import { closedPort, startKmsTestHost, type KmsTestHost } from '../helpers/kms-test-host'

let configDir: string
let service: AppService
let host: KmsTestHost | undefined

beforeEach(async () => {
  configDir = await mkdtemp(join(tmpdir(), 'kms-scout-client-service-'))
  service = await createAppService({ shell: 'cli', configDir, version: '1' })
})
afterEach(async () => {
  await host?.close()
  host = undefined
  await service.close()
  await rm(configDir, { recursive: true, force: true })
})

describe('runCheck through the app service', () => {
  it('checks the host given in the form, verifies the answer and streams each step', async () => {
    host = await startKmsTestHost({ count: 50 })
    const progress: CheckProgress[] = []
    service.events.on('checkProgress', (event) => progress.push(event))

    const report = await service.handlers.runCheck({ host: { host: '127.0.0.1', port: host.port } })

    expect(report.status).toBe('ok')
    expect(report.wouldActivate).toBe(true)
    expect(report.answer?.count).toBe(50)
    expect(report.host).toMatchObject({ host: '127.0.0.1', port: host.port, source: 'manual' })
    // The CMID on the wire is this installation's identity, and a second check sends the same one.
    const { cmid } = await service.handlers.getIdentity(undefined)
    expect(report.cmid).toBe(cmid)
    // Every trace step arrived live, in order, with its one-line text, and the report carries the same steps.
    expect(progress.map((p) => p.step.seq)).toEqual(report.trace.map((step) => step.seq))
    expect(new Set(progress.map((p) => p.runId)).size).toBe(1)
    expect(report.trace.every((step) => step.text.length > 0)).toBe(true)
    expect(report.trace.some((step) => step.kind === 'attempt-end' && step.outcome === 'verified')).toBe(true)

    await service.handlers.runCheck({ host: { host: '127.0.0.1', port: host.port } })
    expect(host.calls.map((call) => call.request.base.cmid)).toEqual([cmid, cmid])
  })

  it('a count below the threshold is a warning with 0xC004F038', async () => {
    host = await startKmsTestHost({ count: 3 })
    const report = await service.handlers.runCheck({ host: { host: '127.0.0.1', port: host.port } })
    expect(report.status).toBe('warning')
    expect(report.windows?.code).toBe('0xC004F038')
  })

  it('uses the manual host from the settings when the form leaves it out', async () => {
    host = await startKmsTestHost({ count: 10 })
    const settings = defaultSettings()
    await service.handlers.updateSettings({
      ...settings,
      client: { ...settings.client, manualHost: { host: '127.0.0.1', port: host.port } }
    })
    const report = await service.handlers.runCheck({ productSkuId: 'de32eafd-aaee-4662-9444-c1befb41bde2' })
    expect(report.product.name).toBe('Windows Server 2019 Standard')
    expect(report.status).toBe('ok')
    expect(report.answer?.threshold).toBe(5)
  })

  it('no host answering is critical with 0xC004F074', async () => {
    const port = await closedPort()
    const report = await service.handlers.runCheck({ host: { host: '127.0.0.1', port } })
    expect(report.status).toBe('critical')
    expect(report.error?.windows.code).toBe('0xC004F074')
  })

  it('rejects a malformed host or DNS server before running anything', async () => {
    const badHost = await dispatchCall(service.handlers, 'runCheck', { host: '[::1' })
    expect(badHost).toMatchObject({ ok: false, error: { code: 'invalid-input' } })
    const badDns = await dispatchCall(service.handlers, 'runCheck', { dnsServer: 'dns.example.com' })
    expect(badDns).toMatchObject({ ok: false, error: { code: 'invalid-input' } })
    if (!badDns.ok) expect(badDns.error.message).toContain('dnsServer')
    const extra = await dispatchCall(service.handlers, 'runCheck', { host: '127.0.0.1', sneaky: 1 })
    expect(extra).toMatchObject({ ok: false, error: { code: 'invalid-input' } })
  })
})
