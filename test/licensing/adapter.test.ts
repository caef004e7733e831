/**
 * The licensing adapter driven through KMS_SCOUT_POWERSHELL with recorded outputs (test/fixtures/licensing): both
 * PowerShell JSON shapes, Office 2010's classes, a KMS host, missing properties, garbage, a hanging PowerShell, a
 * non-zero exit; and for every action the exact script and the exact data PowerShell received, with hostile input
 * refused before anything runs.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { actionRequest, readLicensingSnapshot, runLicensingAction, type LicensingAction } from '../../src-main/licensing/adapter'
import { LicensingError } from '../../src-main/licensing/errors'
import { locatePowerShell } from '../../src-main/licensing/powershell'
import { ACTION_SCRIPT, READ_SCRIPT } from '../../src-main/licensing/scripts'
import { parseDate } from '../../src-main/licensing/snapshot'
import { decodedScript, fakePowerShell, type FakePowerShell, type ScenarioEntry } from './fake-powershell'

let fake: FakePowerShell | undefined
afterEach(async () => {
  await fake?.cleanup()
  fake = undefined
})

async function withScenario(scenario: Record<string, ScenarioEntry>): Promise<FakePowerShell> {
  fake = await fakePowerShell(scenario)
  return fake
}

const options = (f: FakePowerShell, extra: object = {}) => ({ env: f.env, platform: 'linux' as const, ...extra })

async function failure(promise: Promise<unknown>): Promise<LicensingError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e
  )
  expect(error).toBeInstanceOf(LicensingError)
  return error as LicensingError
}

describe('reading the state', () => {
  it('reads PowerShell 5.1 output with one product as one object and dates as \\/Date(…)\\/', async () => {
    const f = await withScenario({ read: { stdoutFile: 'ps51-one-product-licensed.json' } })
    const snapshot = await readLicensingSnapshot(options(f), null)
    expect(snapshot.readAt).toBe('2026-11-25T10:15:30.123Z')
    expect(snapshot.powershellVersion).toBe('5.1.26100.2161')
    expect(snapshot.elevated).toBe(false)
    expect(snapshot.products).toHaveLength(1)
    const [p] = snapshot.products
    expect(p).toMatchObject({
      source: 'spp',
      id: '2de67392-b7a7-462a-b1ca-108dd189f588',
      partialProductKey: 'T83GX',
      licenseStatus: 1,
      licenseStatusReason: 0,
      gracePeriodRemainingMin: 253564,
      evaluationEndDate: null,
      discoveredName: 'kms01.corp.example',
      discoveredPort: 1688,
      discoveredIp: '192.0.2.10',
      kmsMachine: null,
      kmsHostEpid: '06401-00206-491-411285-03-1031-9600.0000-0802017'
    })
    expect(snapshot.service).toMatchObject({ clientMachineId: 'f9d4e20a-cb8f-4050-9c0c-56420455ada1', hostCaching: true, currentCount: -1 })
    expect(snapshot.officeService).toBeNull()

    const [run] = await f.runs()
    expect(decodedScript(run!)).toBe(READ_SCRIPT)
    expect(run!.request).toEqual({ computer: null, timeoutSec: 54 })
    expect(run!.argv.slice(0, 4)).toEqual(['-NoLogo', '-NoProfile', '-NonInteractive', '-EncodedCommand'])
  })

  it('reads PowerShell 7 output with many products, ISO dates and a large uint32 reason', async () => {
    const f = await withScenario({ read: { stdoutFile: 'ps7-many-products.json' } })
    const snapshot = await readLicensingSnapshot(options(f), null)
    expect(snapshot.products.map((p) => p.id)).toEqual([
      'de32eafd-aaee-4662-9444-c1befb41bde2',
      'fbdb3e18-a8ef-4fb3-9183-dffd60bd0984',
      '0c2f4d8e-3b5a-4c6d-8e9f-a1b2c3d4e5f6'
    ])
    expect(snapshot.products[0]).toMatchObject({
      licenseStatus: 5,
      licenseStatusReason: 0xc004f00f,
      kmsMachine: 'kms.lab.example',
      kmsPort: 1688,
      kmsLookupDomain: 'lab.example',
      lastActivationType: null
    })
    expect(snapshot.products[2]!.evaluationEndDate).toBe('2027-01-01T00:00:00.000Z')
    expect(snapshot.service?.hostCaching).toBe(false)
  })

  it("reads Office 2010's OSPP classes beside Windows 7, which lacks the Windows 8 properties", async () => {
    const f = await withScenario({ read: { stdoutFile: 'ps51-office2010-ospp.json' } })
    const snapshot = await readLicensingSnapshot(options(f), null)
    expect(snapshot.products.map((p) => [p.source, p.name])).toEqual([
      ['spp', 'Windows(R) 7, Enterprise edition'],
      ['ospp', 'Office 14, OfficeProPlus-KMS_Client edition']
    ])
    expect(snapshot.products[0]).toMatchObject({
      productKeyChannel: null,
      kmsLookupDomain: null,
      discoveredIp: null,
      activationIntervalMin: 15
    })
    expect(snapshot.products[1]).toMatchObject({
      licenseStatus: 2,
      gracePeriodRemainingMin: 41760,
      applicationId: '59a52881-a989-479d-af46-f275c6370663'
    })
    expect(snapshot.officeService).toMatchObject({ source: 'ospp', version: '14.0.7015.1000', hostCaching: true })
  })

  it("reads a KMS host's count and request counters", async () => {
    const f = await withScenario({ read: { stdoutFile: 'ps7-kms-host.json' } })
    const snapshot = await readLicensingSnapshot(options(f), null)
    expect(snapshot.products[0]!.isKmsHost).toBe(true)
    expect(snapshot.service).toMatchObject({
      currentCount: 27,
      requiredClientCount: 25,
      listeningPort: 1688,
      dnsPublishing: true,
      requests: { total: 826, failed: 0, licensed: 820, initialGrace: 6 }
    })
  })

  it('takes the {value, Count} wrapper, numbers as text and missing properties, and drops what is not a product', async () => {
    const f = await withScenario({ read: { stdoutFile: 'ps51-wrapped-and-missing.json' } })
    const received = new Date('2026-11-25T11:00:00Z')
    const snapshot = await readLicensingSnapshot(options(f, { now: () => received }), null)
    expect(snapshot.readAt).toBe(received.toISOString())
    expect(snapshot.products).toHaveLength(2)
    expect(snapshot.products[0]).toMatchObject({
      licenseStatus: 1,
      licenseStatusReason: 0xc004f009,
      gracePeriodRemainingMin: null,
      activationIntervalMin: null,
      discoveredName: null
    })
    expect(snapshot.products[1]).toMatchObject({ id: null, name: 'entry without an ID', licenseStatus: 99 })
    expect(snapshot.service?.clientMachineId).toBe('2ffcfc30-6a6a-49ec-92b8-f6150c7df211')
  })

  it('parses both date formats and treats the FILETIME epoch as no date', () => {
    expect(parseDate('/Date(1798761600000)/')).toBe('2027-01-01T00:00:00.000Z')
    expect(parseDate('/Date(1798761600000+0100)/')).toBe('2027-01-01T00:00:00.000Z')
    expect(parseDate({ value: '/Date(1798761600000)/', DateTime: 'Friday, 1 January 2027 00:00:00' })).toBe('2027-01-01T00:00:00.000Z')
    expect(parseDate('2027-01-01T01:00:00+01:00')).toBe('2027-01-01T00:00:00.000Z')
    expect(parseDate('/Date(-11644473600000)/')).toBeNull()
    expect(parseDate('1601-01-01T00:00:00Z')).toBeNull()
    expect(parseDate('yesterday')).toBeNull()
  })

  it('refuses output that is not the script JSON', async () => {
    const f = await withScenario({ read: { stdout: 'Windows PowerShell\r\nCopyright (C) Microsoft Corporation.\r\n\u001b[2J' } })
    const error = await failure(readLicensingSnapshot(options(f), null))
    expect(error.kind).toBe('unreadable')
    expect(error.message).toContain('did not print')
    await f.setScenario({ read: { stdout: '[1, 2, 3]' } })
    expect((await failure(readLicensingSnapshot(options(f), null))).kind).toBe('unreadable')
    await f.setScenario({ read: { stdout: '{"something":"else"}' } })
    expect((await failure(readLicensingSnapshot(options(f), null))).kind).toBe('unreadable')
  })

  it('stops a PowerShell that hangs, at the deadline', async () => {
    const f = await withScenario({ read: { hang: true } })
    const error = await failure(readLicensingSnapshot(options(f, { readTimeoutMs: 500 }), null))
    expect(error.kind).toBe('timeout')
    expect(error.message).toContain('did not finish')
  })

  it('reports a non-zero exit with an error record by its kind and code', async () => {
    const f = await withScenario({
      'read@pc-denied': { stdoutFile: 'error-access-denied.json', exitCode: 1 },
      'read@pc-winrm': { stdoutFile: 'error-winrm-off.json', exitCode: 1 },
      'read@pc-gone': { stdoutFile: 'error-unreachable.json', exitCode: 1 },
      read: { stderr: 'powershell.exe : The term is not recognized\r\nAt line:1 char:1\r\n', exitCode: 1 }
    })
    const denied = await failure(readLicensingSnapshot(options(f), 'pc-denied'))
    expect([denied.kind, denied.code]).toEqual(['access-denied', 0x80070005])
    const winrm = await failure(readLicensingSnapshot(options(f), 'pc-winrm'))
    expect([winrm.kind, winrm.code]).toEqual(['winrm-off', 0x80338012])
    const gone = await failure(readLicensingSnapshot(options(f), 'pc-gone'))
    expect([gone.kind, gone.code]).toEqual(['unreachable', null])
    const local = await failure(readLicensingSnapshot(options(f), null))
    expect(local.kind).toBe('powershell-failed')
    expect(local.message).toBe('PowerShell exited with 1: powershell.exe : The term is not recognized')
  })

  it('passes a remote computer as data with the CIM deadline', async () => {
    const f = await withScenario({ '*': { stdoutFile: 'ps7-kms-host.json' } })
    await readLicensingSnapshot(options(f, { readTimeoutMs: 10_000 }), 'pc01.corp.example')
    const [run] = await f.runs()
    expect(run!.request).toEqual({ computer: 'pc01.corp.example', timeoutSec: 9 })
    expect(run!.argv.join(' ')).not.toContain('pc01')
  })
})

describe('which PowerShell', () => {
  it('says plainly that the feature needs Windows elsewhere, unless KMS_SCOUT_POWERSHELL names one', () => {
    const error = (() => {
      try {
        locatePowerShell({ env: {}, platform: 'linux' })
      } catch (e) {
        return e as LicensingError
      }
      return undefined
    })()
    expect(error?.kind).toBe('needs-windows')
    expect(error?.message).toContain('needs Windows')
    expect(locatePowerShell({ env: { KMS_SCOUT_POWERSHELL: '/opt/pwsh/pwsh' }, platform: 'linux' })).toBe('/opt/pwsh/pwsh')
  })

  it('runs Windows PowerShell by absolute path under %SystemRoot% on Windows', () => {
    expect(locatePowerShell({ env: { SystemRoot: 'D:\\Windows' }, platform: 'win32' })).toBe(
      'D:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe'
    )
    expect(locatePowerShell({ env: {}, platform: 'win32' })).toBe('C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe')
    expect(() => locatePowerShell({ env: { KMS_SCOUT_POWERSHELL: 'pwsh' }, platform: 'win32' })).toThrow(/absolute path/)
    // a relative SystemRoot is not trusted (it would resolve against the current folder): the standard location
    expect(locatePowerShell({ env: { SystemRoot: 'Windows' }, platform: 'win32' })).toBe(
      'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe'
    )
  })
})

describe('actions: the exact script and data', () => {
  const ok = (action: string, values: number[]): ScenarioEntry => ({ stdout: JSON.stringify({ schema: 1, action, returnValues: values }) })

  const cases: [LicensingAction, Record<string, unknown>][] = [
    [
      { kind: 'set-host', host: 'kms01.corp.example', port: 1688 },
      { host: 'kms01.corp.example', port: 1688 }
    ],
    [
      { kind: 'set-host', host: 'fe80::10%eth0', port: 11688 },
      { host: 'fe80::10%eth0', port: 11688 }
    ],
    [{ kind: 'clear-host' }, {}],
    [{ kind: 'set-domain', domain: 'corp.example.' }, { domain: 'corp.example' }],
    [{ kind: 'clear-domain' }, {}],
    [{ kind: 'host-caching', enabled: false }, { enabled: false }],
    [{ kind: 'install-gvlk', productKey: 'w269n-wfgwx-yvc9b-4j6c9-t83gx' }, { productKey: 'W269N-WFGWX-YVC9B-4J6C9-T83GX' }],
    [
      { kind: 'activate', productIds: ['{2DE67392-B7A7-462A-B1CA-108DD189F588}'] },
      { productIds: ['2de67392-b7a7-462a-b1ca-108dd189f588'] }
    ],
    [{ kind: 'refresh' }, {}]
  ]

  for (const [action, data] of cases) {
    it(`${action.kind} ${JSON.stringify(data)}`, async () => {
      const f = await withScenario({ [action.kind]: ok(action.kind, [0, 0]) })
      const result = await runLicensingAction(options(f, { actionTimeoutMs: 20_000 }), action, 'pc01')
      expect(result).toEqual({ action: action.kind, returnValues: [0, 0] })
      const [run] = await f.runs()
      expect(decodedScript(run!)).toBe(ACTION_SCRIPT)
      expect(run!.request).toEqual({ action: action.kind, computer: 'pc01', timeoutSec: 18, ...data })
    })
  }

  it('reports a refusal by Windows with its code: an error record, or a non-zero ReturnValue', async () => {
    const f = await withScenario({
      activate: { stdoutFile: 'error-activate-no-kms.json', exitCode: 1 },
      refresh: ok('refresh', [0xc004f074])
    })
    const refused = await failure(
      runLicensingAction(options(f), { kind: 'activate', productIds: ['2de67392-b7a7-462a-b1ca-108dd189f588'] }, null)
    )
    expect([refused.kind, refused.code]).toEqual(['windows-error', 0xc004f074])
    const returned = await failure(runLicensingAction(options(f), { kind: 'refresh' }, null))
    expect([returned.kind, returned.code]).toEqual(['windows-error', 0xc004f074])
  })

  it('says "access denied" locally so the service can tell the technician to run as administrator', async () => {
    const f = await withScenario({ 'clear-host': { stdoutFile: 'error-access-denied.json', exitCode: 1 } })
    const denied = await failure(runLicensingAction(options(f), { kind: 'clear-host' }, null))
    expect([denied.kind, denied.code]).toEqual(['access-denied', 0x80070005])
  })

  it('refuses output of another action', async () => {
    const f = await withScenario({ refresh: ok('clear-host', [0]) })
    expect((await failure(runLicensingAction(options(f), { kind: 'refresh' }, null))).kind).toBe('unreadable')
  })

  const hostile: [string, LicensingAction, string | null][] = [
    ['a host with a port glued on', { kind: 'set-host', host: 'kms01:1688', port: 1688 }, null],
    ['a host with a PowerShell subexpression', { kind: 'set-host', host: 'kms$(Remove-Item C:\\ -Recurse)', port: 1688 }, null],
    ['a host with a quote and a semicolon', { kind: 'set-host', host: "kms01'; Stop-Computer; '", port: 1688 }, null],
    ['a host with a newline', { kind: 'set-host', host: 'kms01\nStop-Computer', port: 1688 }, null],
    ['a port out of range', { kind: 'set-host', host: 'kms01', port: 70_000 }, null],
    ['a domain with a backtick', { kind: 'set-domain', domain: 'corp.example`nStop-Computer' }, null],
    ['a domain that is an IP address', { kind: 'set-domain', domain: '10.0.0.1' }, null],
    ['a key that is not a catalog GVLK', { kind: 'install-gvlk', productKey: 'ABCDE-ABCDE-ABCDE-ABCDE-ABCDE' }, null],
    ['a product ID that is not a GUID', { kind: 'activate', productIds: ["' -or 1 -eq 1 -or '"] }, null],
    ['no product to activate', { kind: 'activate', productIds: [] }, null],
    ['a computer with a semicolon', { kind: 'refresh' }, 'pc01;Stop-Computer'],
    ['a computer with a subexpression', { kind: 'refresh' }, '$(Stop-Computer)'],
    ['a computer given as a UNC path', { kind: 'refresh' }, '\\\\pc01'],
    ['an empty computer', { kind: 'refresh' }, '  ']
  ]
  for (const [what, action, computer] of hostile) {
    it(`refuses ${what} before PowerShell runs`, async () => {
      const f = await withScenario({ '*': ok(action.kind, [0]) })
      const error = await failure(runLicensingAction(options(f), action, computer))
      expect(error.kind).toBe('invalid-input')
      expect(error.fix).not.toBeNull()
      expect(await f.runs()).toEqual([])
    })
  }

  it('passes accepted names only as data: an IPv6 computer and a NetBIOS name never reach the command line', async () => {
    const f = await withScenario({ '*': ok('refresh', [0]) })
    await runLicensingAction(options(f), { kind: 'refresh' }, '[fd00::5]')
    await runLicensingAction(options(f), { kind: 'refresh' }, 'PC_01')
    const runs = await f.runs()
    expect(runs.map((r) => r.request.computer)).toEqual(['fd00::5', 'PC_01'])
    for (const run of runs) expect(run.argv.join(' ')).not.toMatch(/fd00|PC_01/)
  })

  it('writes the data as ASCII JSON', () => {
    const request = actionRequest({ kind: 'set-domain', domain: 'corp.example' }, null, 10_000)
    expect(request).toEqual({ action: 'set-domain', computer: null, timeoutSec: 9, domain: 'corp.example' })
  })
})
