/**
 * The lab host behaves like a host with a given key (issue 9): by default the newest released key of every
 * application, `--csvlk` another; a product its key does not serve is refused with 0xC004F042, and `query` and
 * `check` say which key the host holds and which it needs. Everything over real sockets on 127.0.0.1: the lab host
 * assembled by the service (as `kms-scout serve` does it), KMS Scout's client through the CLI.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { runCli } from '../../src-main/cli/run'
import type { CheckReport } from '../../src-main/discovery/run-check'
import { parseEpid, productCatalog } from '../../src-main/protocol'
import { createConfiguredLabHost, startLabHost, type LabHost } from '../../src-main/service/lab-host-service'
import type { QueryReport } from '../../src-main/service/query-report'
import { defaultSettings } from '../../src-main/storage/settings'
import { captureIo } from '../helpers/cli-io'

const dirs: string[] = []
const hosts: LabHost[] = []
afterEach(async () => {
  for (const host of hosts.splice(0)) await host.stop()
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
})

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kms-scout-host-keys-'))
  dirs.push(dir)
  return dir
}

/** A lab host as `serve` builds it, on 127.0.0.1 with an ephemeral port; `csvlks` as `--csvlk` gives them. */
async function labHost(csvlks?: string[]): Promise<string> {
  const dir = tempDir()
  const { host } = await createConfiguredLabHost(defaultSettings().labHost, dir, {
    listen: [{ address: '127.0.0.1', port: 0 }],
    ...(csvlks ? { csvlks } : {})
  })
  hosts.push(host)
  const [address] = await startLabHost(host)
  return address!.text
}

async function query(endpoint: string, product: string): Promise<{ code: number; report: QueryReport; out: string }> {
  const env = { KMS_SCOUT_CONFIG_DIR: tempDir() }
  const json = captureIo(env)
  const code = await runCli(['query', endpoint, '--product', product, '--json'], json)
  const human = captureIo(env)
  await runCli(['query', endpoint, '--product', product], human)
  return { code, report: JSON.parse(json.out()) as QueryReport, out: human.out() }
}

describe('the lab host holds host keys (CSVLKs)', () => {
  it.each([
    ['Windows 11 Pro', 'Windows Server 2025', 4918],
    ['Windows Server 2022 Datacenter', 'Windows Server 2025', 4918],
    ['Windows Server 2025 Standard', 'Windows Server 2025', 4918],
    ['Office LTSC Professional Plus 2021', 'Office LTSC 2024', 206],
    ['Office LTSC Professional Plus 2024', 'Office LTSC 2024', 206]
  ])('by default it serves %s with the ePID of its %s key, and query names the key', async (product, keyName, groupId) => {
    const endpoint = await labHost()
    const { report, out } = await query(endpoint, product)
    expect(report.ok).toBe(true)
    const parsed = parseEpid(report.answer!.epid.value)
    if (!parsed.ok) throw new Error(parsed.error.message)
    expect(parsed.parts.groupId).toBe(groupId)
    const key = productCatalog.csvlks().find((k) => k.name === keyName)!
    expect(productCatalog.defaultBuildForCsvlk(key)!.buildNumber).toBe(parsed.parts.build)
    expect(report.answer!.hostKey).toMatchObject({ serves: true })
    expect(report.answer!.hostKey!.key).toContain(keyName)
    expect(out).toMatch(new RegExp(`Host key\\s+host key .*${keyName}.* serves`))
  })

  it('a Server 2025 request gets an ePID from the 2025 key: group 04918, build 26100', async () => {
    const { report } = await query(await labHost(), 'Windows Server 2025 Standard')
    expect(report.answer!.epid.value).toMatch(/^\d{5}-04918-\d{3}-\d{6}-03-\d+-26100\.0000-\d{7}$/)
  })

  it('with --csvlk "Windows Server 2019" a Server 2025 request is refused with 0xC004F042, and query says which key is needed', async () => {
    const endpoint = await labHost(['Windows Server 2019'])
    const refused = await query(endpoint, 'Windows Server 2025 Standard')
    expect(refused.code).toBe(2)
    expect(refused.report.error).toMatchObject({ code: 'kms-error', windowsCode: { code: '0xC004F042' } })
    expect(refused.report.error!.explanation).toMatch(/install the Windows Server 2025 CSVLK on the host/)
    expect(refused.out).toMatch(/install the Windows Server 2025 CSVLK on the host/)
    // Windows 11 is still served, with the 2019 key's ePID (group 206)
    const served = await query(endpoint, 'Windows 11 Pro')
    expect(served.report.ok).toBe(true)
    expect(served.report.answer!.epid.value).toMatch(/^\d{5}-00206-/)
    expect(served.report.answer!.hostKey).toMatchObject({ key: 'Windows Server 2019', serves: true })
  })

  it('check against a host whose key does not serve the product says which key the host needs', async () => {
    const endpoint = await labHost(['Windows Server 2019'])
    const io = captureIo({ KMS_SCOUT_CONFIG_DIR: tempDir() })
    const code = await runCli(['check', '--host', endpoint, '--product', 'Windows Server 2025 Standard', '--json'], io)
    expect(code).toBe(2)
    const report = JSON.parse(io.out()) as CheckReport
    expect(report.error!.inner!.code).toBe('0xC004F042')
    expect(report.hostKeyAdvice).toMatch(/^install the Windows Server 2025 CSVLK on the host/)
  })

  it('an unknown --csvlk is a usage error naming known keys', async () => {
    await expect(createConfiguredLabHost(defaultSettings().labHost, tempDir(), { csvlks: ['Windows Server 2099'] })).rejects.toMatchObject({
      code: 'invalid-input',
      message: "no host key (CSVLK) is called 'Windows Server 2099'",
      hint: expect.stringMatching(/^known keys include "Windows Server 2025"/)
    })
  })
})
