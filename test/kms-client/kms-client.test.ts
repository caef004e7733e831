/**
 * queryKmsHost against a real TCP KMS host on loopback (test/helpers/kms-test-host.ts): protocols 4, 5, 6,
 * NDR32-only, two requests on one connection, IPv6, names resolving to several addresses, and the HRESULT path.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { formatHwid, HRESULT, productCatalog, PTYPE, type RequestIdentity } from '../../src-main/protocol'
import { queryKmsHost, type KmsQueryRequestParams } from '../../src-main/kms-client/kms-client'
import { closedPort, startKmsTestHost, type KmsTestHost, type KmsTestHostOptions } from '../helpers/kms-test-host'
import { queryError } from '../helpers/kms-query-error'

const CMID = '6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b'

function identityOf(name: string): RequestIdentity {
  const found = productCatalog.findProduct(name)
  if (found.kind !== 'found') throw new Error(`no product ${name}`)
  return productCatalog.requestIdentity(found.sku)
}

function params(name = 'Windows 10 Professional', extra: Partial<KmsQueryRequestParams> = {}): KmsQueryRequestParams {
  return { identity: identityOf(name), cmid: CMID, workstationName: 'scout-test.example.test', ...extra }
}

const hosts: KmsTestHost[] = []
async function host(options: KmsTestHostOptions = {}): Promise<KmsTestHost> {
  const h = await startKmsTestHost(options)
  hosts.push(h)
  return h
}
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.close()))
})

describe('queryKmsHost over real sockets', () => {
  it.each([
    ['Windows 7 Professional', 4],
    ['Windows 8 Professional', 5],
    ['Windows 10 Professional', 6],
    ['Office Professional Plus 2010', 4],
    ['Office Professional Plus 2019', 6]
  ] as const)('%s: protocol %i, three-context bind, alter_context, verified response', async (name, protocol) => {
    const h = await host()
    const result = await queryKmsHost({ host: h.address, port: h.port, requests: params(name) })
    expect(result.address).toBe('127.0.0.1')
    expect(result.family).toBe(4)
    expect(result.bound).toMatchObject({
      contextId: 0,
      syntax: 'ndr32',
      ndr64ContextId: 1,
      btfnFeatures: 3,
      altered: true,
      secondaryAddress: String(h.port)
    })
    expect(result.exchanges).toHaveLength(1)
    const ex = result.exchanges[0]!
    const n = identityOf(name).nPolicy
    expect(ex.request).toMatchObject({ callId: 2, contextId: 0, syntax: 'ndr32' })
    expect(ex.request.base).toMatchObject({ majorVer: protocol, cmid: CMID, nPolicy: n, workstationName: 'scout-test.example.test' })
    expect(ex.response.majorVer).toBe(protocol)
    expect(ex.response.base).toMatchObject({
      cmid: CMID,
      count: 2 * n,
      activationInterval: 120,
      renewalInterval: 10080,
      clientTime: ex.request.base.clientTime
    })
    expect(ex.response.hwid === undefined ? undefined : formatHwid(ex.response.hwid)).toBe(protocol === 6 ? '3A1C049600B60076' : undefined)
    expect(ex.countSufficient).toBe(true)
    expect(ex.checks.length).toBeGreaterThan(5)
    expect(ex.checks.filter((c) => c.status === 'fail')).toEqual([])
    // the host saw exactly what was sent
    expect(h.calls).toHaveLength(1)
    expect(h.calls[0]!.request.base).toEqual(ex.request.base)
    expect(result.timing.connectMs).toBeGreaterThanOrEqual(0)
    expect(result.timing.bindMs).toBeGreaterThanOrEqual(0)
    expect(result.timing.requestMs).toHaveLength(1)
    expect(result.timing.totalMs).toBeGreaterThanOrEqual(result.timing.requestMs[0]!)
    expect(result.timing.resolveMs).toBeUndefined()
  })

  it('NDR32-only: a single-context bind, no alter_context, the request on ctx 0', async () => {
    const h = await host()
    const result = await queryKmsHost({ host: h.address, port: h.port, requests: params(), ndr32Only: true })
    expect(result.bound).toMatchObject({
      contextId: 0,
      syntax: 'ndr32',
      ndr64ContextId: undefined,
      btfnFeatures: undefined,
      altered: false
    })
    expect(h.calls.map((c) => [c.contextId, c.syntax])).toEqual([[0, 'ndr32']])
  })

  it('a host that accepts NDR32 directly (py-kms-like): no alter_context, later requests still NDR32', async () => {
    const h = await host({ session: { ndr64: false } })
    const result = await queryKmsHost({ host: h.address, port: h.port, requests: params(), count: 2 })
    expect(result.bound).toMatchObject({ altered: false, ndr64ContextId: undefined })
    expect(h.calls.map((c) => c.syntax)).toEqual(['ndr32', 'ndr32'])
  })

  it('two requests on one connection: the second on the NDR64 context with call_id 3, one TCP connection', async () => {
    const h = await host({ count: (call) => (call.callId === 2 ? 7 : 9) })
    const result = await queryKmsHost({ host: h.address, port: h.port, requests: [params(), params('Windows Server 2019 Standard')] })
    expect(h.connections).toBe(1)
    expect(h.calls.map((c) => [c.callId, c.contextId, c.syntax])).toEqual([
      [2, 0, 'ndr32'],
      [3, 1, 'ndr64']
    ])
    expect(result.exchanges.map((e) => [e.index, e.request.callId, e.request.syntax, e.response.base.count, e.countSufficient])).toEqual([
      [0, 2, 'ndr32', 7, false],
      [1, 3, 'ndr64', 9, true]
    ])
    expect(result.timing.requestMs).toHaveLength(2)
    expect(result.reconnects).toBe(0)
    expect(result.exchanges.map((e) => e.reconnected)).toEqual([false, false])
  })

  it('count repeats one request with the same CMID (never a new identity per request)', async () => {
    const h = await host()
    await queryKmsHost({ host: h.address, port: h.port, requests: params(), count: 3 })
    expect(h.calls.map((c) => c.request.base.cmid)).toEqual([CMID, CMID, CMID])
  })

  it('IPv6: a host on [::1]', async () => {
    const h = await host({ address: '::1' })
    const result = await queryKmsHost({ host: '::1', port: h.port, requests: params() })
    expect([result.address, result.family]).toEqual(['::1', 6])
    expect(result.exchanges[0]!.countSufficient).toBe(true)
  })

  it('a name is resolved and its addresses tried in order: a refusing address, then the live one', async () => {
    const h = await host()
    const lookedUp: string[] = []
    const result = await queryKmsHost({
      host: 'kms.scout.test',
      port: h.port,
      requests: params(),
      // 127.0.0.2 has nothing listening on the host's port, so it refuses
      lookup: async (name) => {
        lookedUp.push(name)
        return [
          { address: '127.0.0.2', family: 4 },
          { address: '127.0.0.1', family: 4 }
        ]
      }
    })
    expect(lookedUp).toEqual(['kms.scout.test'])
    expect(result.attempts.map((a) => [a.address, a.outcome])).toEqual([
      ['127.0.0.2', 'connection-refused'],
      ['127.0.0.1', 'connected']
    ])
    expect(result.address).toBe('127.0.0.1')
    expect(result.timing.resolveMs).toBeGreaterThanOrEqual(0)
  })

  it('the system resolver: "localhost" reaches the host', async () => {
    const h = await host()
    const result = await queryKmsHost({ host: 'localhost', port: h.port, requests: params() })
    expect(['127.0.0.1', '::1']).toContain(result.address)
    expect(result.attempts.at(-1)!.outcome).toBe('connected')
  })

  it('given addresses skip resolution', async () => {
    const h = await host()
    const result = await queryKmsHost({
      host: 'srv-target.scout.test',
      addresses: ['127.0.0.1'],
      port: h.port,
      requests: params(),
      lookup: () => Promise.reject(new Error('must not resolve'))
    })
    expect(result.address).toBe('127.0.0.1')
    expect(result.timing.resolveMs).toBeUndefined()
  })

  it('ClientTime comes from the injected wall clock; N_Policy is the product threshold', async () => {
    const h = await host()
    const result = await queryKmsHost({
      host: h.address,
      port: h.port,
      requests: params('Windows Server 2019 Standard'),
      now: () => new Date('2026-03-01T12:00:00Z')
    })
    expect(h.calls[0]!.request.base.clientTime).toBe(BigInt(Date.parse('2026-03-01T12:00:00Z')) * 10000n + 116444736000000000n)
    expect(h.calls[0]!.request.base.nPolicy).toBe(5)
    expect(result.exchanges[0]!.response.base.count).toBe(10)
  })
})

describe('KMS-level refusals (HRESULT error path)', () => {
  it('a legacy host refuses protocol 6 with 0x8007000D → typed kms-error', async () => {
    const h = await host({ maxProtocol: 4 })
    const error = await queryError(queryKmsHost({ host: h.address, port: h.port, requests: params() }))
    expect(error.code).toBe('kms-error')
    expect(error.phase).toBe('request')
    expect(error.details).toMatchObject({
      hresult: HRESULT.invalidData,
      hresultText: '0x8007000D',
      hresultName: 'ERROR_INVALID_DATA',
      requestIndex: 0
    })
    expect(error.message).toContain('does not support this KMS protocol version')
    expect(error.progress?.bound).toBeDefined()
    expect(error.progress?.exchanges).toEqual([])
  })

  it('an unsupported protocol number (7) is refused by the host session itself with 0x8007000D', async () => {
    const h = await host()
    const error = await queryError(
      queryKmsHost({ host: h.address, port: h.port, requests: params('Windows 10 Professional', { protocol: 7 }) })
    )
    expect([error.code, error.details.hresult]).toEqual(['kms-error', 0x8007000d])
    expect(h.calls).toEqual([])
  })

  it('other HRESULTs pass through with their name (0xC004F042)', async () => {
    const h = await host({ refuseWith: HRESULT.kmsIdMismatch })
    const error = await queryError(queryKmsHost({ host: h.address, port: h.port, requests: params() }))
    expect(error.details).toMatchObject({ hresult: 0xc004f042, hresultName: 'SL_E_VL_KEY_MANAGEMENT_SERVICE_ID_MISMATCH' })
  })

  it('a failure on the second request keeps the first exchange in the progress', async () => {
    // The host answers the first request, then closes on every later one without a byte of answer. The first
    // such close may have crossed our request on the wire (a close between requests), so the client resends
    // it once on a new connection; that one is closed too, and the query fails.
    let requestsSeen = 0
    const h = await host({ intercept: (pdu) => (pdu[2] === PTYPE.request && ++requestsSeen > 1 ? { close: true } : undefined) })
    const error = await queryError(queryKmsHost({ host: h.address, port: h.port, requests: params(), count: 2 }))
    expect([error.code, error.phase]).toEqual(['connection-closed', 'request'])
    expect(error.progress?.exchanges).toHaveLength(1)
    expect(error.progress?.reconnects).toBe(1)
    expect(h.connections).toBe(2)
  })
})

describe('setup errors cost no connection', () => {
  it('a workstation name longer than 63 characters', async () => {
    const port = await closedPort()
    const error = await queryError(
      queryKmsHost({ host: '127.0.0.1', port, requests: params('Windows 10 Professional', { workstationName: 'w'.repeat(64) }) })
    )
    expect([error.code, error.phase, error.details.field]).toEqual(['invalid-request', 'setup', 'WorkstationName'])
    expect(error.progress?.attempts).toEqual([])
  })

  it('an empty request list and a bad port', async () => {
    expect((await queryError(queryKmsHost({ host: '127.0.0.1', requests: [] }))).code).toBe('invalid-request')
    expect((await queryError(queryKmsHost({ host: '127.0.0.1', port: 70000, requests: params() }))).code).toBe('invalid-request')
  })
})
