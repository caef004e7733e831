/**
 * buildQueryReport: JSON-serialisable, answers mapped to would-activate / 0xC004F038, ePID explained, signs of
 * emulators turned into warnings, and every error code mapped to a Windows code (where one applies), an
 * explanation and a fix.
 */
import { explainWindowsCode } from '../../src-main/common/windows-codes'
import { afterEach, describe, expect, it } from 'vitest'
import { productCatalog, type Sku } from '../../src-main/protocol'
import { formatMinutes } from '../../src-main/common/format'
import { buildQueryReport, type QueryReportInput } from '../../src-main/service/query-report'
import { formatQueryReport } from '../../src-main/cli/commands/query'
import {
  KmsQueryError,
  queryKmsHost,
  type KmsQueryErrorCode,
  type KmsQueryPhase,
  type KmsQueryResult
} from '../../src-main/kms-client/kms-client'
import { startKmsTestHost, type KmsTestHost, type KmsTestHostOptions } from '../helpers/kms-test-host'

const CMID = '3c1e0d2b-5a4f-4e6d-9c8b-7a6f5e4d3c2b'
const hosts: KmsTestHost[] = []
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.close()))
})

function sku(name: string): Sku {
  const found = productCatalog.findProduct(name)
  if (found.kind !== 'found') throw new Error(name)
  return found.sku
}

async function answered(name: string, options: KmsTestHostOptions = {}): Promise<{ result: KmsQueryResult; input: QueryReportInput }> {
  const h = await startKmsTestHost(options)
  hosts.push(h)
  const s = sku(name)
  const result = await queryKmsHost({
    host: h.address,
    port: h.port,
    requests: { identity: productCatalog.requestIdentity(s), cmid: CMID, workstationName: 'mon' }
  })
  return { result, input: input(s, { ok: true, result }, h.port) }
}

function input(s: Sku, outcome: QueryReportInput['outcome'], port = 1688): QueryReportInput {
  return {
    target: { host: '127.0.0.1', port },
    sku: s,
    protocol: s.protocolVersion,
    cmid: CMID,
    cmidSource: 'installation',
    cmidPrev: '00000000-0000-0000-0000-000000000000',
    workstationName: 'mon',
    outcome
  }
}

describe('buildQueryReport for answers', () => {
  it('is plain JSON (survives a round trip unchanged) and explains the ePID', async () => {
    const { input: i } = await answered('Windows 10 Professional', { epid: '03612-00206-567-887631-03-2074-14393.0000-0092024' })
    const report = buildQueryReport(i)
    expect(JSON.parse(JSON.stringify(report))).toEqual(report)
    expect(report.answer?.epid).toEqual({
      value: '03612-00206-567-887631-03-2074-14393.0000-0092024',
      meaning:
        'host OS Windows 10 1607 / Server 2016 (build 14393), CSVLK Windows Server 2019, volume channel, LCID 2074, host activated 2024-01-09',
      platformId: 3612,
      hostOs: 'Windows 10 1607 / Server 2016',
      build: 14393,
      csvlkGroup: 'Windows Server 2019',
      groupId: 206,
      keyId: 567887631,
      keyIdInRange: true,
      channel: 3,
      lcid: 2074,
      activationDate: '2024-01-09'
    })
    expect(report.answer?.responseIv).toMatch(/^[0-9a-f]{32}$/)
    expect(report.request.clientTime).toMatch(/^\d{4}-\d\d-\d\dT/)
    expect(report.warnings).toEqual([])
    expect(report.summary).toContain('count 50 of threshold 25 → a client would activate')
  })

  it('reports how often the client had to reconnect because the host closed between requests', async () => {
    const { result } = await answered('Windows 10 Professional')
    expect(buildQueryReport(input(sku('Windows 10 Professional'), { ok: true, result })).reconnects).toBe(0)
    const reconnected = buildQueryReport(input(sku('Windows 10 Professional'), { ok: true, result: { ...result, reconnects: 2 } }))
    expect(reconnected.reconnects).toBe(2)
  })

  it('count below N_Policy → wouldActivate false with 0xC004F038', async () => {
    const { input: i } = await answered('Windows Server 2019 Standard', { count: 4 })
    const r = buildQueryReport(i)
    expect(r).toMatchObject({
      ok: true,
      status: 'count-below-threshold',
      wouldActivate: false,
      answer: { count: 4, threshold: 5, windowsCode: { code: '0xC004F038' } }
    })
    expect(r.summary).toContain('0xC004F038')
  })

  it('emulator signs become warnings: V6 response IV = request IV, ePID platform/build mismatch, wrong CSVLK group', async () => {
    // Office 2010 answered with a Windows-group ePID whose platform id (5426) does not belong to build 14393
    const { result, input: i } = await answered('Office Professional Plus 2010', {
      epid: '05426-00206-567-887631-03-1033-14393.0000-0092024'
    })
    result.exchanges[0]!.checks.push({
      name: 'iv-differs',
      status: 'warn',
      detail: 'response IV equals the request IV: an emulator using V5 rules for V6'
    })
    const r = buildQueryReport(i)
    expect(r.ok).toBe(true)
    expect(r.warnings).toEqual([
      expect.stringMatching(/^emulator-like: the V6 response IV equals the request IV/),
      'ePID platform id 5426 does not belong to build 14393 (expected 3612): a hand-made or emulated ePID',
      // the host key the ePID names does not serve the product: a genuine host would have refused
      'host key Windows Server 2019 does not serve Office 2010: install the Office 2010 VL CSVLK on the host; a genuine KMS host with this key would have refused (0xC004F042)'
    ])
    expect(formatQueryReport(r)).toMatch(/\nWarnings\s+emulator-like/)
  })

  it('an ePID activation date in the future is flagged', async () => {
    const { input: i } = await answered('Windows 7 Professional', { epid: '03612-00206-567-887631-03-1033-14393.0000-3653999' })
    const r = buildQueryReport(i)
    expect(r.warnings).toContain('ePID activation date 3999-12-31 is in the future')
  })
})

describe('buildQueryReport for failures', () => {
  const win10 = sku('Windows 10 Professional')
  const failed = (code: KmsQueryErrorCode, phase: KmsQueryPhase, details: ConstructorParameters<typeof KmsQueryError>[3] = {}) =>
    buildQueryReport(input(win10, { ok: false, error: new KmsQueryError(code, phase, `${code} happened`, details) }))

  it.each([
    ['connection-refused', 'connect', '0xC004F074', '0x800706BA'],
    ['timeout', 'connect', '0xC004F074', '0x800706BA'],
    ['timeout', 'bind', '0xC004F074', '0x800706BE'],
    ['timeout', 'request', '0xC004F074', '0x800706BE'],
    ['timeout', 'resolve', '0xC004F074', '0x8007232B'],
    ['dns-failed', 'resolve', '0xC004F074', '0x8007232B'],
    ['network', 'connect', '0xC004F074', '0x800706BA'],
    ['connection-closed', 'bind', '0xC004F074', '0x800706BE'],
    ['connection-reset', 'request', '0xC004F074', '0x800706BE'],
    ['bind-rejected', 'bind', '0xC004F074', '0x800706BE'],
    ['rpc-fault', 'request', '0xC004F074', '0x800706BE'],
    ['verification-failed', 'request', null, null],
    ['protocol-violation', 'bind', null, null],
    ['aborted', 'bind', null, null],
    ['invalid-request', 'setup', null, null]
  ] as const)('%s in the %s phase → Windows code %s (this host: %s), explanation and fix', (code, phase, windows, hostCode) => {
    const r = failed(code, phase)
    expect(r).toMatchObject({ ok: false, status: 'failed', wouldActivate: null, answer: null, rpc: null })
    expect(r.error).toMatchObject({ code, phase, message: `${code} happened` })
    expect(r.error!.windowsCode?.code ?? null).toBe(windows)
    expect(r.error!.hostCode?.code ?? null).toBe(hostCode)
    // the fix is the table's for the host's own code, as `check` gives it for the same attempt
    if (hostCode !== null) expect(r.error!.fix).toBe(explainWindowsCode(Number(hostCode)).fix)
    expect(r.error!.explanation.length).toBeGreaterThan(10)
    expect(r.error!.fix.length).toBeGreaterThan(5)
    expect(r.summary).toContain(`${code} in the ${phase} phase`)
    expect(JSON.parse(JSON.stringify(r))).toEqual(r)
  })

  it('a KMS HRESULT passes through with its name and the matching fix', () => {
    const r = failed('kms-error', 'request', { hresult: 0xc004f06c, hresultText: '0xC004F06C', hresultName: 'SL_E_VL_INVALID_TIMESTAMP' })
    // code, name, meaning and fix come from the one table, exactly as `check` shows them
    const entry = explainWindowsCode(0xc004f06c)
    expect(r.error!.windowsCode).toEqual({
      code: '0xC004F06C',
      name: 'SL_E_VL_INVALID_TIMESTAMP',
      summary: entry.summary,
      meaning: entry.meaning,
      fix: entry.fix
    })
    expect(r.error!.hostCode).toEqual(r.error!.windowsCode)
    expect(r.error!.fix).toBe(entry.fix)
    expect(r.error!.fix).toContain('clocks')
    expect(r.error!.details).toMatchObject({ hresult: 0xc004f06c, hresultText: '0xC004F06C' })
    const unknown = failed('kms-error', 'request', { hresult: 0xc004f099 })
    expect(unknown.error!.windowsCode).toMatchObject({ code: '0xC004F099', name: null })
  })

  it('the progress of a failed query (address, attempts, bind) is kept', () => {
    const error = new KmsQueryError('timeout', 'request', 'timed out', { timeoutMs: 5000 })
    error.progress = {
      host: 'kms.example',
      port: 1688,
      address: '192.0.2.5',
      family: 4,
      attempts: [{ address: '192.0.2.5', family: 4, outcome: 'connected', message: undefined, ms: 3 }],
      bound: {
        contextId: 0,
        syntax: 'ndr32',
        ndr64ContextId: 1,
        btfnFeatures: 3,
        assocGroupId: 7,
        secondaryAddress: '1688',
        altered: true
      },
      exchanges: [],
      timing: { resolveMs: 2, connectMs: 3, bindMs: 4, requestMs: [], totalMs: 5009 }
    }
    const r = buildQueryReport({ ...input(win10, { ok: false, error }), target: { host: 'kms.example', port: 1688 } })
    expect(r.target).toMatchObject({
      endpoint: 'kms.example:1688',
      address: '192.0.2.5',
      family: 4,
      attempts: [{ address: '192.0.2.5', outcome: 'connected', message: null, ms: 3 }]
    })
    expect(r.rpc).toMatchObject({ alterContext: true, ndr64Accepted: true })
    expect(r.rtt).toEqual({ resolveMs: 2, connectMs: 3, bindMs: 4, requestMs: null, totalMs: 5009 })
    expect(r.error!.details).toEqual({ timeoutMs: 5000 })
  })
})

describe('formatMinutes', () => {
  it.each([
    [0, '0 minutes'],
    [1, '1 minute'],
    [15, '15 minutes'],
    [60, '1 hour'],
    [90, '1 hour 30 minutes'],
    [120, '2 hours'],
    [1440, '1 day'],
    [10080, '7 days'],
    [43200, '30 days'],
    [1561, '1 day 2 hours 1 minute']
  ])('%i → %s', (minutes, text) => {
    expect(formatMinutes(minutes)).toBe(text)
  })
})
