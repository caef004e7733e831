/**
 * The activation-manager commands in process, over the recorded outputs: status and its exit codes (monitoring
 * convention), --json, configuration errors with exit 3, an action that says what it will do and then does it, and
 * hostile names refused with exit 3 before PowerShell runs.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { runCli } from '../../src-main/cli/run'
import { captureIo } from '../helpers/cli-io'
import { fakePowerShell, type FakePowerShell, type ScenarioEntry } from './fake-powershell'

let fake: FakePowerShell | undefined
afterEach(async () => {
  await fake?.cleanup()
  fake = undefined
})

async function cli(argv: string[], scenario: Record<string, ScenarioEntry>): Promise<{ code: number; out: string; err: string }> {
  fake = await fakePowerShell(scenario)
  const io = captureIo(fake.env)
  const code = await runCli(argv, io)
  return { code, out: io.out(), err: io.err() }
}

describe('kms-scout status', () => {
  it('prints every product like slmgr /dlv and exits 0 when all are licensed', async () => {
    const { code, out } = await cli(['status'], { read: { stdoutFile: 'ps51-one-product-licensed.json' } })
    expect(code).toBe(0)
    expect(out).toContain('This computer — 1 product(s), all licensed')
    expect(out).toMatch(/Status\s+Licensed — volume activation valid 177 day\(s\)/)
    expect(out).toMatch(/From DNS\s+kms01\.corp\.example:1688 \(192\.0\.2\.10\)/)
    expect(out).toContain('the GVLK of Windows 10 Professional')
  })

  it('exits 1 when a product is in grace or Notification, with the reason and fix', async () => {
    const { code, out } = await cli(['status'], { read: { stdoutFile: 'ps7-many-products.json' } })
    expect(code).toBe(1)
    expect(out).toMatch(/Reason\s+0xC004F00F Hardware ID binding is beyond tolerance/)
    expect(out).toMatch(/KMS host\s+kms\.lab\.example:1688/)
  })

  it('exits 2 when a computer cannot be read, one row per computer, and prints JSON with --json', async () => {
    const { code, out } = await cli(['status', '--computer', 'pc01', '--computer', 'pc02', '--json'], {
      'read@pc01': { stdoutFile: 'ps7-kms-host.json' },
      'read@pc02': { stdoutFile: 'error-winrm-off.json', exitCode: 1 }
    })
    expect(code).toBe(2)
    const json = JSON.parse(out) as { ok: boolean; level: number; results: { computer: string; ok: boolean }[] }
    expect(json.ok).toBe(false)
    expect(json.results.map((r) => [r.computer, r.ok])).toEqual([
      ['pc01', true],
      ['pc02', false]
    ])
  })

  it('makes text from Windows inert before the terminal', async () => {
    const { out } = await cli(['status'], {
      read: {
        stdout: JSON.stringify({ schema: 1, products: { ID: null, Name: 'Evil\u001b[2J\r\nname', LicenseStatus: 1 }, service: null })
      }
    })
    expect(out).toContain('Evil\\x1b[2J\\x0d\\x0aname')
    expect(out).not.toContain('\u001b')
  })

  it('exits 3 with cause and fix when KMS_SCOUT_POWERSHELL is not an absolute path (needs Windows: adapter.test.ts)', async () => {
    const io = captureIo({ KMS_SCOUT_POWERSHELL: 'pwsh' })
    expect(await runCli(['status'], io)).toBe(3)
    expect(io.err()).toBe(
      "kms-scout: KMS_SCOUT_POWERSHELL 'pwsh' is not an absolute path\n  give the full path of the PowerShell executable, e.g. C:\\Program Files\\PowerShell\\7\\pwsh.exe, or unset KMS_SCOUT_POWERSHELL\n"
    )
  })

  it('refuses a hostile computer name with exit 3 before PowerShell runs', async () => {
    const { code, err } = await cli(['status', '--computer', 'pc01;Stop-Computer'], { '*': { stdoutFile: 'ps7-kms-host.json' } })
    expect(code).toBe(3)
    expect(err).toContain('is not a DNS name, NetBIOS name or IP address')
    expect(await fake!.runs()).toEqual([])
  })
})

describe('the actions', () => {
  const done = (action: string): ScenarioEntry => ({ stdout: JSON.stringify({ schema: 1, action, returnValues: [0, 0] }) })

  it('set-host says what it will do, does it, and reads the state again', async () => {
    const { code, out } = await cli(['set-host', 'kms02.corp.example:11688'], {
      read: { stdoutFile: 'ps7-many-products.json' },
      'set-host': done('set-host')
    })
    expect(code).toBe(0)
    expect(out).toContain('This computer: Set the KMS host of this computer to kms02.corp.example:11688 (slmgr /skms)')
    expect(out).toContain('This computer — done: set-host on this computer')
    expect(out).toContain('now: 2 of 3 product(s) not licensed')
    const action = (await fake!.runs()).find((r) => r.request.action === 'set-host')!
    expect(action.request).toMatchObject({ host: 'kms02.corp.example', port: 11688, computer: null })
  })

  it('host-caching, set-domain, clear-host, clear-domain and install-gvlk pass their data; failures exit 2 with the fix', async () => {
    const scenario = {
      read: { stdoutFile: 'ps51-one-product-licensed.json' },
      'host-caching': done('host-caching'),
      'set-domain': done('set-domain'),
      'clear-host': done('clear-host'),
      'clear-domain': done('clear-domain'),
      'install-gvlk': { stdoutFile: 'error-access-denied.json', exitCode: 1 }
    }
    expect((await cli(['host-caching', 'off', '--computer', 'pc01'], scenario)).code).toBe(0)
    expect((await fake!.runs()).find((r) => r.request.action === 'host-caching')!.request).toMatchObject({
      enabled: false,
      computer: 'pc01'
    })
    expect((await cli(['set-domain', 'corp.example'], scenario)).code).toBe(0)
    expect((await fake!.runs()).find((r) => r.request.action === 'set-domain')!.request.domain).toBe('corp.example')
    expect((await cli(['clear-host'], scenario)).code).toBe(0)
    expect((await cli(['clear-domain', '--json'], scenario)).code).toBe(0)
    const denied = await cli(['install-gvlk', '--product', 'Windows 10 Enterprise'], scenario)
    expect(denied.code).toBe(2)
    expect(denied.out).toContain('Install the GVLK of Windows 10 Enterprise (…2YT43)')
    expect(denied.out).toContain('fix: Run KMS Scout as administrator')
    expect(denied.err).toContain('not running as administrator')
  })

  it('activate names products by activation ID; usage errors exit 3', async () => {
    const scenario = { read: { stdoutFile: 'ps51-one-product-licensed.json' }, activate: done('activate') }
    expect((await cli(['activate', '--product-id', '2de67392-b7a7-462a-b1ca-108dd189f588'], scenario)).code).toBe(0)
    expect((await cli(['activate', '--product-id', 'not-a-guid'], scenario)).code).toBe(3)
    expect((await cli(['host-caching', 'maybe'], scenario)).code).toBe(3)
    expect((await cli(['set-host'], scenario)).code).toBe(3)
    expect((await cli(['set-host', "kms01'; Stop-Computer"], scenario)).code).toBe(3)
    expect((await cli(['set-domain', 'corp.example;calc'], scenario)).code).toBe(3)
    expect(await fake!.runs()).toEqual([])
  })
})
