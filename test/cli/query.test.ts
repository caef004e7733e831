/**
 * `kms-scout query` in-process against a real loopback KMS host: human and --json output, exit codes 0/1/2/3,
 * argument errors, settings defaults, and the stable client identity (same CMID on the wire every time).
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { runCli } from '../../src-main/cli/run'
import type { QueryReport } from '../../src-main/service/query-report'
import { captureIo } from '../helpers/cli-io'
import { closedPort, startKmsTestHost, type KmsTestHost, type KmsTestHostOptions } from '../helpers/kms-test-host'

const dirs: string[] = []
const hosts: KmsTestHost[] = []
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.close()))
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
})

function configDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'kms-scout-query-'))
  dirs.push(d)
  return d
}

async function host(options: KmsTestHostOptions = {}): Promise<KmsTestHost> {
  const h = await startKmsTestHost(options)
  hosts.push(h)
  return h
}

async function run(args: string[], dir = configDir()) {
  const io = captureIo({ KMS_SCOUT_CONFIG_DIR: dir })
  const code = await runCli(args, io)
  return { code, out: io.out(), err: io.err(), dir }
}

async function runJson(args: string[], dir = configDir()) {
  const r = await run([...args, '--json'], dir)
  return { ...r, report: JSON.parse(r.out) as QueryReport }
}

function storedIdentity(dir: string): { cmid: string; previousCmid: string | null } {
  return JSON.parse(fs.readFileSync(path.join(dir, 'identity.json'), 'utf8')) as { cmid: string; previousCmid: string | null }
}

describe('kms-scout query: output and exit codes', () => {
  it('human output: a short aligned block, exit 0 when the count reaches the threshold', async () => {
    const h = await host()
    const { code, out, err } = await run(['query', h.endpoint, '--workstation', 'monitor01'])
    expect(code).toBe(0)
    expect(err).toBe('')
    const lines = out.trimEnd().split('\n')
    const labels = lines.map((l) => l.split(/\s{2,}/)[0]).filter((l) => l !== '')
    expect(labels).toEqual([
      'KMS host',
      'Count',
      'ePID',
      'Host key',
      'HwId',
      'Intervals',
      'Product',
      'Protocol',
      'RTT',
      'Verification',
      'Client'
    ])
    // values start in one column
    const column = lines[0]!.indexOf(`${h.endpoint}`)
    for (const l of lines) expect(l.slice(0, column).trim() === '' || /^\S/.test(l)).toBe(true)
    expect(lines.every((l) => l.length <= column || l[column - 1] === ' ')).toBe(true)
    expect(out).toContain(`${h.endpoint} answered — response verified`)
    expect(out).toMatch(/Count\s+50 of threshold 25 → a client would activate: yes/)
    expect(out).toMatch(
      /ePID\s+03612-00206-\d{3}-\d{6}-03-1033-17763\.0000-\d{7}\n\s+host OS Windows 10 1809 \/ Server 2019 \(build 17763\), CSVLK Windows Server 2019, volume channel.*\nHost key\s+host key Windows Server 2019 serves Windows 10 2015 \(Volume\)/
    )
    expect(out).toMatch(/HwId\s+3A1C049600B60076/)
    expect(out).toMatch(/Intervals\s+activation 120 min \(2 hours\), renewal 10080 min \(7 days\)/)
    expect(out).toMatch(/Protocol\s+v6, NDR32 ctx 0 \(after alter_context\)/)
    expect(out).toMatch(/RTT\s+connect [\d.]+ ms, bind [\d.]+ ms, request [\d.]+ ms, total [\d.]+ ms/)
    expect(out).toMatch(/Verification\s+\d+ checks passed/)
    expect(out).toMatch(/Client\s+CMID [0-9a-f-]{36} \(this installation's identity\), workstation monitor01/)
  })

  it('--json: only the report on stdout; it parses and carries everything', async () => {
    const h = await host()
    const { code, out, err, report, dir } = await runJson([
      'query',
      h.endpoint,
      '--product',
      'Windows Server 2019 Standard',
      '--workstation',
      'mon'
    ])
    expect(code).toBe(0)
    expect(err).toBe('')
    expect(out.trim().startsWith('{')).toBe(true)
    expect(report).toMatchObject({
      ok: true,
      status: 'activate',
      wouldActivate: true,
      target: { host: '127.0.0.1', port: h.port, endpoint: h.endpoint, address: '127.0.0.1', family: 4 },
      product: {
        sku: { name: 'Windows Server 2019 Standard' },
        kmsCountedId: { name: 'Windows Server 2019' },
        threshold: 5,
        defaultProtocol: 6
      },
      request: { protocol: 6, cmidSource: 'installation', workstationName: 'mon', transferSyntax: 'ndr32', contextId: 0, callId: 2 },
      rpc: { alterContext: true, ndr64Accepted: true, btfnFeatures: 3 },
      answer: {
        protocol: 6,
        count: 10,
        threshold: 5,
        wouldActivate: true,
        windowsCode: null,
        hwid: '3A1C049600B60076',
        activationInterval: { minutes: 120, text: '2 hours' }
      },
      verification: { verified: true, failed: null },
      warnings: [],
      error: null
    })
    expect(report.request.cmid).toBe(storedIdentity(dir).cmid)
    expect(report.request.cmid).toBe(h.calls[0]!.request.base.cmid)
    expect(report.verification.checks.every((c) => c.status === 'pass')).toBe(true)
    expect(report.rtt.totalMs).toBeGreaterThan(0)
  })

  it('exit 1 when the host answers with a count below the threshold (0xC004F038)', async () => {
    const h = await host({ count: 10 })
    const { code, report } = await runJson(['query', h.endpoint])
    expect(code).toBe(1)
    expect(report).toMatchObject({
      ok: true,
      status: 'count-below-threshold',
      wouldActivate: false,
      answer: { count: 10, threshold: 25, windowsCode: { code: '0xC004F038', name: 'SL_E_VL_NOT_ENOUGH_COUNT' } }
    })
    const human = await run(['query', h.endpoint])
    expect(human.code).toBe(1)
    expect(human.out).toMatch(/Count\s+10 of threshold 25 → a client would activate: no \(0xC004F038: /)
  })

  it('exit 2 when nothing listens: 0xC004F074 with explanation and fix; cause + fix on stderr in human mode', async () => {
    const port = await closedPort()
    const { code, report, err } = await runJson(['query', `127.0.0.1:${port}`])
    expect(code).toBe(2)
    expect(err).toBe('')
    expect(report).toMatchObject({
      ok: false,
      status: 'failed',
      wouldActivate: null,
      answer: null,
      error: { code: 'connection-refused', phase: 'connect', windowsCode: { code: '0xC004F074' } }
    })
    expect(report.error!.fix).toContain('1688')
    const human = await run(['query', `127.0.0.1:${port}`])
    expect(human.code).toBe(2)
    expect(human.out).toMatch(
      /Error\s+connection-refused \(connect phase\), Windows: 0xC004F074; this host: 0x800706BA RPC_S_SERVER_UNAVAILABLE/
    )
    const errLines = human.err.trimEnd().split('\n')
    expect(errLines).toHaveLength(2)
    expect(errLines[0]).toMatch(/^kms-scout query: 127\.0\.0\.1: connection refused/)
    expect(errLines[1]).toMatch(/^ {2}fix: /)
  })

  it('query and check explain the same refused connection with the same codes and the same fix', async () => {
    const port = await closedPort()
    const dir = configDir()
    const query = await runJson(['query', `127.0.0.1:${port}`], dir)
    const check = await run(['check', '--host', `127.0.0.1:${port}`, '--json'], dir)
    const checkReport = JSON.parse(check.out) as { error: { windows: { code: string; fix: string }; inner: { code: string; fix: string } } }
    expect(query.report.error!.windowsCode!.code).toBe(checkReport.error.windows.code)
    expect(query.report.error!.hostCode!.code).toBe('0x800706BA')
    expect(checkReport.error.inner.code).toBe('0x800706BA')
    expect(query.report.error!.fix).toBe(checkReport.error.inner.fix)
  })

  it('exit 2 when the host refuses the protocol: the HRESULT passes through (0x8007000D)', async () => {
    const h = await host({ maxProtocol: 5 })
    const { code, report } = await runJson(['query', h.endpoint])
    expect(code).toBe(2)
    expect(report.error).toMatchObject({
      code: 'kms-error',
      phase: 'request',
      windowsCode: { code: '0x8007000D', name: 'ERROR_INVALID_DATA' }
    })
    expect(report.error!.fix).toContain('--protocol')
    // the same host answers protocol 5
    expect((await runJson(['query', h.endpoint, '--protocol', '5'])).code).toBe(0)
  })

  it('exit 2 for an invalid response, with the failed check in the report', async () => {
    // the last 4 bytes are the RPC return value; the byte before them ends the V4 MAC
    const h = await host({
      mutateReply: (r, kind) => (kind === 'response' ? Uint8Array.from(r, (b, i) => (i === r.byteLength - 5 ? b ^ 1 : b)) : r)
    })
    const { code, report } = await runJson(['query', h.endpoint, '--product', 'Windows 7 Professional'])
    expect(code).toBe(2)
    expect(report.error).toMatchObject({ code: 'verification-failed', windowsCode: null })
    expect(report.verification).toMatchObject({ verified: false, failed: { check: 'v4-mac' } })
  })

  it('--timeout bounds every phase: a silent host fails in the bind phase', async () => {
    const h = await host({ onConnect: 'silent' })
    const { code, report } = await runJson(['query', h.endpoint, '--timeout', '500'])
    expect(code).toBe(2)
    expect(report.error).toMatchObject({ code: 'timeout', phase: 'bind', details: { timeoutMs: 500 } })
  })

  it('IPv6 as [::1]:PORT', async () => {
    const h = await host({ address: '::1' })
    const { code, report } = await runJson(['query', h.endpoint])
    expect(code).toBe(0)
    expect(report.target).toMatchObject({ host: '::1', endpoint: `[::1]:${h.port}`, address: '::1', family: 6 })
  })

  it('protocol 4 and 5 by product default and by --protocol', async () => {
    const h = await host()
    expect((await runJson(['query', h.endpoint, '--product', 'Windows 8 Professional'])).report.answer?.protocol).toBe(5)
    expect((await runJson(['query', h.endpoint, '--product', 'Windows 10 Professional', '--protocol', '4'])).report.answer).toMatchObject({
      protocol: 4,
      hwid: null
    })
    expect(h.calls.map((c) => c.request.protocol)).toEqual([5, 4])
  })

  it("the default workstation name is this computer's name (non-empty, at most 63 characters)", async () => {
    const h = await host()
    const { code } = await run(['query', h.endpoint])
    expect(code).toBe(0)
    const sent = h.calls[0]!.request.base.workstationName
    expect(sent.length).toBeGreaterThan(0)
    expect(sent.length).toBeLessThanOrEqual(63)
    expect(sent.toLowerCase().startsWith(os.hostname().toLowerCase().split('.')[0]!)).toBe(true)
  })

  it('settings supply the product, protocol and workstation defaults', async () => {
    const h = await host()
    const dir = configDir()
    fs.writeFileSync(
      path.join(dir, 'settings.json'),
      JSON.stringify({
        client: { defaultProductSkuId: 'de32eafd-aaee-4662-9444-c1befb41bde2', protocolOverride: 5, workstationName: 'from-settings' }
      })
    )
    const { code, report } = await runJson(['query', h.endpoint], dir)
    expect(code).toBe(0)
    expect(report.product.sku.name).toBe('Windows Server 2019 Standard')
    expect(h.calls[0]!.request.base).toMatchObject({ majorVer: 5, workstationName: 'from-settings', nPolicy: 5 })
  })
})

describe('kms-scout query: stable client identity', () => {
  it('two queries send the same CMID, the one stored in identity.json', async () => {
    const h = await host()
    const dir = configDir()
    expect((await run(['query', h.endpoint], dir)).code).toBe(0)
    expect((await run(['query', h.endpoint, '--product', 'Office Professional Plus 2019'], dir)).code).toBe(0)
    const stored = storedIdentity(dir)
    expect(h.calls.map((c) => c.request.base.cmid)).toEqual([stored.cmid, stored.cmid])
    expect(h.calls[0]!.request.base.cmidPrev).toBe('00000000-0000-0000-0000-000000000000')
  })

  it('--cmid is sent as given and leaves the stored identity alone', async () => {
    const h = await host()
    const dir = configDir()
    await run(['query', h.endpoint], dir)
    const before = fs.readFileSync(path.join(dir, 'identity.json'), 'utf8')
    const { code, report } = await runJson(['query', h.endpoint, '--cmid', '{AABBCCDD-1122-4334-8556-778899AABBCC}'], dir)
    expect(code).toBe(0)
    expect(h.calls[1]!.request.base.cmid).toBe('aabbccdd-1122-4334-8556-778899aabbcc')
    expect(report.request).toMatchObject({ cmid: 'aabbccdd-1122-4334-8556-778899aabbcc', cmidSource: 'option' })
    expect(fs.readFileSync(path.join(dir, 'identity.json'), 'utf8')).toBe(before)
  })

  it('--cmid with an empty config folder creates no identity file', async () => {
    const h = await host()
    const dir = configDir()
    await run(['query', h.endpoint, '--cmid', '12345678-1234-4234-8234-123456789abc'], dir)
    expect(fs.existsSync(path.join(dir, 'identity.json'))).toBe(false)
  })

  it('--new-identity makes and persists a new CMID, sends the old one as CMID_prev, and later queries keep it', async () => {
    const h = await host()
    const dir = configDir()
    await run(['query', h.endpoint], dir)
    const old = storedIdentity(dir).cmid
    const renewed = await run(['query', h.endpoint, '--new-identity'], dir)
    expect(renewed.code).toBe(0)
    expect(renewed.err).toContain('created a new client identity')
    const now = storedIdentity(dir)
    expect(now.cmid).not.toBe(old)
    expect(now.previousCmid).toBe(old)
    expect(h.calls[1]!.request.base).toMatchObject({ cmid: now.cmid, cmidPrev: old })
    await run(['query', h.endpoint], dir)
    expect(h.calls[2]!.request.base).toMatchObject({ cmid: now.cmid, cmidPrev: old })
    expect(renewed.out).toContain("this installation's NEW identity")
  })

  it('--help documents both identity options', async () => {
    const { code, out } = await run(['query', '--help'])
    expect(code).toBe(0)
    expect(out).toContain('Usage: kms-scout query HOST[:PORT]')
    expect(out).toMatch(/--cmid GUID\s+send this client machine ID/)
    expect(out).toMatch(/--new-identity\s+create a NEW persistent client identity/)
    expect(out).toContain('never sends random CMIDs')
  })
})

describe('kms-scout query: bad arguments → one line + hint, exit 3, nothing sent or written', () => {
  it('a negative number gets the one-line error of the house, not the argument parser wording', async () => {
    const { code, err } = await run(['query', 'kms', '--timeout', '-5'])
    expect(code).toBe(3)
    expect(err.trimEnd().split('\n')).toEqual([
      "kms-scout: --timeout '-5' is negative; timeout takes a value of 0 or more",
      "  run 'kms-scout query --help' for what --timeout accepts"
    ])
  })

  it("'::1:1688' is read as an address, with a warning that [::1]:1688 was probably meant", async () => {
    // the bad --protocol stops the command before anything is sent
    const { code, err } = await run(['query', '::1:1688', '--protocol', '7'])
    expect(code).toBe(3)
    expect(err).toContain(
      "kms-scout query: warning: '::1:1688' is read as the IPv6 address ::1:1688 (port 1688); if 1688 is the port, write [::1]:1688"
    )
  })

  it.each([
    [[], 'missing the KMS host'],
    [['kms:99999'], "KMS host 'kms:99999': port 99999 is out of range"],
    [['[::1'], 'the "[" has no matching "]"'],
    [['bad_host!'], 'is not a valid host name'],
    [['300.1.2.3'], 'is not a valid IPv4 address'],
    [['h1', 'h2'], "unexpected argument 'h2'"],
    [['kms', '--sku', 'not-a-guid'], "--sku 'not-a-guid' is not a GUID"],
    [['kms', '--sku', '00000000-1111-2222-3333-444444444444'], 'is not a known SKU'],
    [['kms', '--product', 'Windows 95'], "--product 'Windows 95' matches no known product"],
    [['kms', '--product', 'Windows 10 Prof'], "--product 'Windows 10 Prof' matches 9 products: Windows 10 Professional Workstation;"],
    [['kms', '--product', 'Windows 10 Home', '--sku', '2de67392-b7a7-462a-b1ca-108dd189f588'], '--product and --sku both'],
    [['kms', '--protocol', '7'], "--protocol '7' is not a KMS protocol version"],
    [['kms', '--timeout', '5'], "--timeout '5' is not a whole number of milliseconds from 100 to 120000"],
    [['kms', '--timeout', 'soon'], "--timeout 'soon'"],
    [['kms', '--cmid', 'x'], "--cmid 'x' is not a GUID"],
    [['kms', '--cmid', '00000000-0000-0000-0000-000000000000'], 'zero GUID'],
    [['kms', '--cmid', '12345678-1234-4234-8234-123456789abc', '--new-identity'], 'cannot be combined'],
    [['kms', '--workstation', 'w'.repeat(64)], 'carries at most 63'],
    [['kms', '--bogus'], "Unknown option '--bogus'"]
  ])('query %j', async (args, message) => {
    const dir = configDir()
    const { code, out, err } = await run(['query', ...args], dir)
    expect(code).toBe(3)
    expect(out).toBe('')
    const lines = err.trimEnd().split('\n')
    expect(lines).toHaveLength(2)
    expect(lines[0]).toContain(message)
    expect(lines[1]).toMatch(/^ {2}\S/)
    expect(fs.readdirSync(dir)).toEqual([])
  })

  it('the ambiguous-product message lists at most five candidates', async () => {
    const { err } = await run(['query', 'kms', '--product', 'Windows 10'])
    const listed = err.split('\n')[0]!.split(': ').slice(1).join(': ').split('; ')
    expect(listed.length).toBe(6)
    expect(listed.at(-1)).toMatch(/^and \d+ more$/)
  })

  it('with --json a usage error is a JSON object on stdout', async () => {
    const { code, out } = await run(['query', 'kms', '--protocol', '3', '--json'])
    expect(code).toBe(3)
    expect(JSON.parse(out)).toMatchObject({ ok: false, error: { code: 'usage', message: "--protocol '3' is not a KMS protocol version" } })
  })
})
