/**
 * The activation manager's service over the recorded outputs: licence states explained by the one error table,
 * time left as a date and a duration, the GVLK check, the recorded host ePID with its host key, a KMS host's
 * counters; many computers with the reason each could not be read; actions planned, taken and read again; and the
 * cross-check against a real KMS exchange on 127.0.0.1 with the machine's own CMID.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ApiFailure } from '../../src-main/api/result'
import { dispatchCall } from '../../src-main/api/dispatch'
import { openAppContext } from '../../src-main/service/app-context'
import { createAppService } from '../../src-main/service/app-service'
import {
  crossCheckLicensingHost,
  planLicensingAction,
  readLicensingStatus,
  runLicensingActionOn,
  type LicensingHost
} from '../../src-main/service/licensing-service'
import { startKmsTestHost, type KmsTestHost } from '../helpers/kms-test-host'
import { FIXTURES, fakePowerShell, type FakePowerShell, type ScenarioEntry } from './fake-powershell'

let fake: FakePowerShell | undefined
let kmsHost: KmsTestHost | undefined
const dirs: string[] = []
afterEach(async () => {
  await fake?.cleanup()
  await kmsHost?.close()
  fake = undefined
  kmsHost = undefined
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

async function host(scenario: Record<string, ScenarioEntry>, extra: Partial<LicensingHost> = {}): Promise<LicensingHost> {
  fake = await fakePowerShell(scenario)
  return { env: fake.env, platform: 'linux', ...extra }
}

const ok = (action: string): ScenarioEntry => ({ stdout: JSON.stringify({ schema: 1, action, returnValues: [0] }) })

describe('the state, explained', () => {
  it('one licensed KMS client: validity as a duration and a date, the GVLK, the host from DNS and its ePID with the host key', async () => {
    const view = await readLicensingStatus(await host({ read: { stdoutFile: 'ps51-one-product-licensed.json' } }))
    expect(view.level).toBe(0)
    const [result] = view.results
    if (!result?.ok) throw new Error('expected a state')
    const state = result.state
    expect(state.computer).toBeNull()
    expect(state.cmid).toBe('f9d4e20a-cb8f-4050-9c0c-56420455ada1')
    expect(state.kmsHost).toBeNull()
    const [p] = state.products
    expect(p!.status).toEqual({ code: 1, name: 'licensed', text: 'Licensed', level: 'ok' })
    expect(p!.reason).toBeNull()
    // 253564 minutes after the read, as slmgr counts days (rounded up).
    expect(p!.remaining).toEqual({
      kind: 'validity',
      minutes: 253564,
      days: 177,
      text: '176 days 2 hours 4 minutes',
      until: '2027-05-20T12:19:30.123Z'
    })
    expect(p!.channel).toBe('VOLUME_KMSCLIENT')
    expect(p!.gvlk).toEqual({ isGvlk: true, text: 'the GVLK of Windows 10 Professional' })
    expect(p!.kms.discovered).toEqual({ host: 'kms01.corp.example', port: 1688, endpoint: 'kms01.corp.example:1688', ip: '192.0.2.10' })
    expect(p!.kms.configuredHost).toBeNull()
    expect(p!.kms.lastActivationType).toBe('KMS')
    const epid = p!.kms.hostEpid!
    expect(epid.meaning).toContain('build 9600')
    expect(epid.meaning).toContain('LCID 1031')
    // the ePID's group and key ID name the Server 2016 host key, which serves Windows 10 (counted as 2015 Volume)
    expect(epid.hostKey).toEqual({
      name: 'Windows Server 2016',
      verdict: 'covered',
      text: 'host key Windows Server 2016, which activates Windows 10 2015 (Volume)'
    })
    expect(p!.intervals.text).toBe('retry every 2 hours until activated, renew every 7 days')
  })

  it('many products: Notification with its reason from the table, a grace period, the /skms host and domain', async () => {
    const view = await readLicensingStatus(await host({ read: { stdoutFile: 'ps7-many-products.json' } }))
    expect(view.level).toBe(1)
    const state = view.results[0]!.ok ? view.results[0]!.state : undefined
    const [server, office, addon] = state!.products
    expect(server!.status.name).toBe('notification')
    expect(server!.reason).toMatchObject({
      code: '0xC004F00F',
      summary: 'Hardware ID binding is beyond tolerance',
      fix: 'For KMS clients: restart, or run slmgr /ato.'
    })
    expect(server!.remaining).toBeNull()
    expect(server!.kms.configuredHost?.endpoint).toBe('kms.lab.example:1688')
    expect(server!.kms.lookupDomain).toBe('lab.example')
    expect(office!.application.name).toBe('Office2013+')
    expect(office!.gvlk.isGvlk).toBe(true)
    expect(addon!.status.name).toBe('initial-grace')
    expect(addon!.remaining).toMatchObject({ kind: 'grace', days: 30, until: '2026-12-25T10:15:30.123Z' })
    expect(addon!.reason?.code).toBe('0x4004F00C')
    expect(addon!.gvlk.isGvlk).toBeNull()
    expect(state!.hostCaching).toBe(false)
    expect(state!.summary).toContain('2 of 3 product(s) not licensed')
  })

  it('Office 2010 through its own service, and a key that is not the GVLK', async () => {
    const view = await readLicensingStatus(await host({ read: { stdoutFile: 'ps51-office2010-ospp.json' } }))
    const state = view.results[0]!.ok ? view.results[0]!.state : undefined
    expect(state!.office2010).toEqual({ cmid: '2ffcfc30-6a6a-49ec-92b8-f6150c7df211', hostCaching: true, version: '14.0.7015.1000' })
    const office = state!.products.find((p) => p.source === 'ospp')!
    expect(office.application.name).toBe('Office2010')
    expect(office.status.name).toBe('initial-grace')
    expect(office.gvlk).toEqual({ isGvlk: true, text: 'the GVLK of Office Professional Plus 2010' })
  })

  it('a KMS host: its count, required count, port, DNS publishing and counters', async () => {
    const view = await readLicensingStatus(await host({ read: { stdoutFile: 'ps7-kms-host.json' } }))
    const state = view.results[0]!.ok ? view.results[0]!.state : undefined
    expect(state!.kmsHost).toMatchObject({
      currentCount: 27,
      requiredCount: 25,
      listeningPort: 1688,
      dnsPublishing: true,
      lowPriority: false
    })
    expect(state!.kmsHost!.requests.total).toBe(826)
    expect(state!.products[0]!.channel).toBe('VOLUME_KMS_WS22')
  })
})

describe('other computers', () => {
  it('one row per computer, in order, with the reason and fix for those that could not be read', async () => {
    const h = await host(
      {
        'read@pc01': { stdoutFile: 'ps51-one-product-licensed.json' },
        'read@pc02': { stdoutFile: 'error-access-denied.json', exitCode: 1 },
        'read@pc03': { stdoutFile: 'error-winrm-off.json', exitCode: 1 },
        'read@pc04': { stdoutFile: 'error-unreachable.json', exitCode: 1 },
        'read@pc05': { hang: true }
      },
      { readTimeoutMs: 1_000, parallelComputers: 2 }
    )
    const view = await readLicensingStatus(h, ['pc01', 'pc02', 'pc03', 'pc04', 'pc05', 'PC01'])
    expect(view.level).toBe(2)
    expect(view.results.map((r) => [r.computer, r.ok ? 'ok' : r.failure.kind])).toEqual([
      ['pc01', 'ok'],
      ['pc02', 'access-denied'],
      ['pc03', 'winrm-off'],
      ['pc04', 'unreachable'],
      ['pc05', 'timeout']
    ])
    const failures = view.results.flatMap((r) => (r.ok ? [] : [r.failure]))
    expect(failures[0]!.fix).toContain('administrator on pc02')
    expect(failures[1]!.fix).toContain('winrm quickconfig')
    expect(failures[1]!.windowsCode?.code).toBe('0x80338012')
    expect(failures[2]!.fix).toContain('TCP 5985')
    expect((await fake!.runs()).map((r) => r.request.computer).sort()).toEqual(['pc01', 'pc02', 'pc03', 'pc04', 'pc05'])
  })

  it('refuses a bad name before anything runs, and the feature needs Windows without an override', async () => {
    const h = await host({ '*': { stdoutFile: 'ps51-one-product-licensed.json' } })
    await expect(readLicensingStatus(h, ['pc01', 'pc02 & calc'])).rejects.toMatchObject({ code: 'invalid-input' })
    expect(await fake!.runs()).toEqual([])
    await expect(readLicensingStatus({ env: {}, platform: 'darwin' })).rejects.toThrow(ApiFailure)
    await expect(readLicensingStatus({ env: {}, platform: 'darwin' })).rejects.toMatchObject({ code: 'needs-windows' })
  })
})

describe('actions', () => {
  it('install-gvlk: the GVLK of the installed edition, said before it is done, then the state read again', async () => {
    const h = await host({ read: { stdoutFile: 'ps51-one-product-licensed.json' }, 'install-gvlk': ok('install-gvlk') })
    const plans = await planLicensingAction(h, { kind: 'install-gvlk' })
    expect(plans[0]!.ok && plans[0]!.plan.text).toContain('Install the GVLK of Windows 10 Professional (…T83GX)')
    expect(plans[0]!.ok && plans[0]!.plan.warnings[0]).toContain('not running as administrator')
    const announced: string[] = []
    const run = await runLicensingActionOn(h, { kind: 'install-gvlk' }, [], { onPlan: (plan) => announced.push(plan.text) })
    expect(run.ok).toBe(true)
    expect(announced).toHaveLength(1)
    expect(run.results[0]!.after?.ok).toBe(true)
    const requests = (await fake!.runs()).map((r) => r.request)
    expect(requests.map((r) => r.action ?? 'read')).toEqual(['read', 'read', 'install-gvlk', 'read'])
    expect(requests[2]!.productKey).toBe('W269N-WFGWX-YVC9B-4J6C9-T83GX')
  })

  it('install-gvlk refuses a generated GVLK, a product without one, an unknown product, and a retail edition', async () => {
    const h = await host({ read: { stdoutFile: 'ps51-wrapped-and-missing.json' } })
    const reasons = async (productSkuId?: string): Promise<string> => {
      const [plan] = await planLicensingAction(h, { kind: 'install-gvlk', productSkuId })
      return plan!.ok ? 'planned' : plan!.failure.message
    }
    expect(await reasons('e58d87b5-8126-4580-80fb-861b22f79296')).toContain('generated one')
    expect(await reasons('cde952c7-2f96-4d9d-8f2b-2d349f64fc51')).toContain('has no GVLK for Windows 10 Enterprise Preview')
    expect(await reasons('0c2f4d8e-3b5a-4c6d-8e9f-a1b2c3d4e5f6')).toContain('is not in the catalog')
    // The installed key is a retail one of an edition the catalog knows: its GVLK is installed (the edition stays).
    expect(await reasons()).toBe('planned')
    expect((await fake!.runs()).every((r) => r.request.action === undefined)).toBe(true)
  })

  it('activate: every KMS client product by default; a refusal is explained by the table', async () => {
    const h = await host({
      read: { stdoutFile: 'ps7-many-products.json' },
      activate: { stdoutFile: 'error-activate-no-kms.json', exitCode: 1 }
    })
    const run = await runLicensingActionOn(h, { kind: 'activate' })
    expect(run.ok).toBe(false)
    const [result] = run.results
    expect(result!.failure).toMatchObject({ kind: 'windows-error', windowsCode: { code: '0xC004F074' } })
    expect(result!.failure!.fix).toContain('sppsvc')
    expect(result!.outcome).toContain('failed: 0xC004F074')
    const activate = (await fake!.runs()).find((r) => r.request.action === 'activate')!
    expect(activate.request.productIds).toEqual(['de32eafd-aaee-4662-9444-c1befb41bde2', 'fbdb3e18-a8ef-4fb3-9183-dffd60bd0984'])
  })

  it('access denied on this computer says: run KMS Scout as administrator', async () => {
    const h = await host({
      read: { stdoutFile: 'ps51-one-product-licensed.json' },
      'set-host': { stdoutFile: 'error-access-denied.json', exitCode: 1 }
    })
    const run = await runLicensingActionOn(h, { kind: 'set-host', host: 'kms01.corp.example', port: 1688 })
    expect(run.results[0]!.failure).toMatchObject({ kind: 'access-denied', windowsCode: { code: '0x80070005' } })
    expect(run.results[0]!.failure!.fix).toContain('Run KMS Scout as administrator')
  })

  it('the API validates an action before anything runs: hostile computer, key instead of product, bad host', async () => {
    const configDir = await mkdtemp(join(tmpdir(), 'kms-scout-licensing-api-'))
    dirs.push(configDir)
    const service = await createAppService({ shell: 'cli', configDir, version: '1' })
    try {
      const bad = [
        { action: { kind: 'refresh' }, computers: ['pc01; Stop-Computer'] },
        { action: { kind: 'install-gvlk', productKey: 'W269N-WFGWX-YVC9B-4J6C9-T83GX' } },
        { action: { kind: 'set-host', host: 'kms 01' } },
        { action: { kind: 'set-domain', domain: 'corp.example`n' } },
        { action: { kind: 'reboot' } }
      ]
      for (const input of bad) {
        const result = await dispatchCall(service.handlers, 'runLicensingAction', input)
        expect(result.ok ? 'accepted' : result.error.code).toBe('invalid-input')
      }
    } finally {
      await service.close()
    }
  })
})

describe('cross-check', () => {
  it("queries the host Windows recorded, with the machine's own CMID, and shows both side by side", async () => {
    kmsHost = await startKmsTestHost({ count: 30 })
    const recorded = JSON.parse(await readFile(join(FIXTURES, 'ps51-one-product-licensed.json'), 'utf8')) as {
      products: Record<string, unknown>
    }
    recorded.products.DiscoveredKeyManagementServiceMachineName = '127.0.0.1'
    recorded.products.DiscoveredKeyManagementServiceMachinePort = kmsHost.port
    const h = await host({ read: { stdout: JSON.stringify(recorded) } })
    const configDir = await mkdtemp(join(tmpdir(), 'kms-scout-licensing-ctx-'))
    dirs.push(configDir)
    const ctx = await openAppContext({ configDir, onWarning: () => {} })
    const view = await crossCheckLicensingHost(ctx, h, {}, { onWarning: () => {} })
    expect(view.recorded).toMatchObject({ source: 'discovered', endpoint: `127.0.0.1:${kmsHost.port}`, ip: '192.0.2.10' })
    expect(view.recorded.epid?.value).toBe('06401-00206-491-411285-03-1031-9600.0000-0802017')
    expect(view.now).toMatchObject({ ok: true, count: 30, threshold: 25, cmid: 'f9d4e20a-cb8f-4050-9c0c-56420455ada1' })
    expect(view.sameEpid).toBe(false)
    expect(kmsHost.calls).toHaveLength(1)
    expect(kmsHost.calls[0]!.request.base.cmid).toBe('f9d4e20a-cb8f-4050-9c0c-56420455ada1')
  })

  it('says so when Windows has no host recorded', async () => {
    const h = await host({ read: { stdoutFile: 'ps7-kms-host.json' } })
    const configDir = await mkdtemp(join(tmpdir(), 'kms-scout-licensing-ctx-'))
    dirs.push(configDir)
    const ctx = await openAppContext({ configDir, onWarning: () => {} })
    await expect(crossCheckLicensingHost(ctx, h, {}, { onWarning: () => {} })).rejects.toMatchObject({ code: 'no-kms-host' })
  })
})
