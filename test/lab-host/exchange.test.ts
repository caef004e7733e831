/**
 * The lab host against a KMS client over real loopback sockets: v4, v5 and v6, NDR32-only binds, several requests
 * per connection, IPv6, refusals (unsupported version → HRESULT 0x8007000D) and faults (wrong context / opnum), and
 * what the client log and the events record for each.
 */
import { describe, expect, it } from 'vitest'
import {
  CONTEXT_RESULT,
  decodePdu,
  encodePdu,
  encodeRequestStub,
  formatHwid,
  HRESULT,
  NCA_STATUS,
  parseEpid,
  productCatalog,
  PTYPE,
  type BindAckPdu
} from '../../src-main/protocol/index'
import { buildKmsRequest } from '../../src-main/protocol/kms/request'
import type { LabHostExchange } from '../../src-main/lab-host/events'
import {
  baseFor,
  cryptoRandom,
  expectResponse,
  kmsExchange,
  newCmid,
  PRODUCT_BY_PROTOCOL,
  TestKmsConnection
} from '../helpers/lab-host-client'
import { useLabHosts } from '../helpers/lab-host-fixture'

const labs = useLabHosts()

describe('lab host: KMS exchanges over sockets', () => {
  it.each([4, 5, 6] as const)('answers a v%i request with a response that passes every client check', async (protocol) => {
    const { host, port } = await labs.start()
    const logged: LabHostExchange[] = []
    host.on('request-logged', (e) => logged.push(e))
    const base = baseFor(PRODUCT_BY_PROTOCOL[protocol], { protocol })
    const r = expectResponse(await kmsExchange(port, base))

    const status = host.status()
    const sku = productCatalog.findProduct(PRODUCT_BY_PROTOCOL[protocol])
    if (sku.kind !== 'found') throw new Error('product')
    // the ePID of the host key that serves the product's application
    const app = productCatalog.applicationById(productCatalog.requestIdentity(sku.sku).appId)!.name
    const key = status.identity.keys.find((k) => k.applications.includes(app))
    expect(key && productCatalog.covers(key.csvlkId, sku.sku.kmsCountedId)).toBe(true)
    expect(r.response.majorVer).toBe(protocol)
    expect(r.response.base.epid).toBe(key!.epid)
    expect(parseEpid(r.response.base.epid).ok).toBe(true)
    expect(r.response.base.count).toBe(1)
    expect(r.response.base.activationInterval).toBe(120)
    expect(r.response.base.renewalInterval).toBe(10080)
    if (protocol === 6) expect(formatHwid(r.response.hwid!)).toBe(status.identity.hwid)
    else expect(r.response.hwid).toBeUndefined()

    expect(status.counters.requests[`v${protocol}`]).toEqual({ ok: 1, refused: 0 })
    expect(logged).toHaveLength(1)
    expect(logged[0]).toMatchObject({
      outcome: 'ok',
      protocolMajor: protocol,
      cmid: base.cmid,
      count: 1,
      productName: PRODUCT_BY_PROTOCOL[protocol]
    })

    // The log row exists once the client has its answer.
    const rows = await host.clientLog!.recent(10)
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({
      cmid: base.cmid,
      workstationName: base.workstationName,
      applicationId: base.appId,
      skuId: base.actId,
      productName: PRODUCT_BY_PROTOCOL[protocol],
      kmsCountedId: base.kmsId,
      protocolMajor: protocol,
      protocolMinor: 0,
      requiredClientCount: base.nPolicy,
      licenseStatus: base.licenseStatus,
      countReturned: 1,
      outcome: 'ok',
      hresult: null
    })
    expect(rows[0]!.clientAddress).toMatch(/^127\.0\.0\.1:\d+$/)
  })

  it('serves an NDR32-only bind (no alter_context) and a bind with NDR64 (alter_context for the first request)', async () => {
    const { port } = await labs.start()
    const ndr32 = await TestKmsConnection.open(port, '127.0.0.1', { offerNdr64: false, offerBtfn: false })
    const info32 = await ndr32.bind()
    expect(info32).toMatchObject({ syntax: 'ndr32', altered: false, ndr64ContextId: undefined })
    expectResponse(await ndr32.request(baseFor(PRODUCT_BY_PROTOCOL[6])))
    await ndr32.close()

    const full = await TestKmsConnection.open(port)
    const info = await full.bind()
    // like the captured host: NDR64 accepted, NDR32 only after the alter_context, BTFN acknowledged
    expect(info).toMatchObject({ syntax: 'ndr32', altered: true, ndr64ContextId: 1, btfnFeatures: 3, secondaryAddress: String(port) })
    await full.close()
  })

  it('answers two (and more) requests on one connection, the later ones over NDR64', async () => {
    const { host, port } = await labs.start()
    const c = await TestKmsConnection.open(port)
    await c.bind()
    const first = expectResponse(await c.request(baseFor(PRODUCT_BY_PROTOCOL[6])))
    const second = expectResponse(await c.request(baseFor(PRODUCT_BY_PROTOCOL[5], { protocol: 5 })))
    const third = expectResponse(await c.request(baseFor(PRODUCT_BY_PROTOCOL[4], { protocol: 4 })))
    expect(first.call.syntax).toBe('ndr32')
    expect(second.call.syntax).toBe('ndr64')
    expect([first.call.callId, second.call.callId, third.call.callId]).toEqual([2, 3, 4])
    await c.close()
    const counters = host.status().counters
    expect(counters.requests.v6.ok + counters.requests.v5.ok + counters.requests.v4.ok).toBe(3)
    expect(counters.closes['client-closed']).toBe(1)
  })

  it('listens on IPv6 loopback and on several addresses at once', async () => {
    const { host } = await labs.start({ listen: ['127.0.0.1:0', '[::1]:0'] })
    const [v4, v6] = host.addresses
    expect(v4).toMatchObject({ address: '127.0.0.1', family: 4, loopback: true })
    expect(v6).toMatchObject({ address: '::1', family: 6, loopback: true })
    expect(v6!.text).toBe(`[::1]:${v6!.port}`)
    expectResponse(await kmsExchange(v4!.port, baseFor(PRODUCT_BY_PROTOCOL[6])))
    expectResponse(await kmsExchange(v6!.port, baseFor(PRODUCT_BY_PROTOCOL[6]), '::1'))
    const rows = await host.clientLog!.recent(10)
    expect(rows.map((r) => r.clientAddress).sort()).toEqual([
      expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      expect.stringMatching(/^\[::1\]:\d+$/)
    ])
  })

  it('answers an unsupported protocol version with HRESULT 0x8007000D and logs it as an error with the CMID', async () => {
    const { host, port } = await labs.start()
    const cmid = newCmid()
    // vlmcs encrypts a "7.0" request with the V6 cipher; so does the protocol layer's request builder
    const outcome = await kmsExchange(port, baseFor(PRODUCT_BY_PROTOCOL[6], { protocol: 7, cmid }))
    expect(outcome).toMatchObject({ kind: 'kms-error', hresult: HRESULT.invalidData })
    const rows = await host.clientLog!.recent(10)
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ cmid, protocolMajor: 7, protocolMinor: 0, outcome: 'error', hresult: 0x8007000d, countReturned: null })
    expect(host.status().counters.requests.other).toEqual({ ok: 0, refused: 1 })
    // a refused request does not count as a client
    expect(host.clientLog!.distinctClients({ kmsCountedId: rows[0]!.kmsCountedId! }, 0)).toBe(0)
  })

  it('answers an unknown SKU of a product its key serves, and logs the SKU as unknown', async () => {
    const { host, port } = await labs.start()
    const lines: string[] = []
    host.on('request-logged', (e) => lines.push(`${e.productName ?? 'unknown'} / ${e.kmsCountedName ?? 'unknown'}`))
    const base = { ...baseFor(PRODUCT_BY_PROTOCOL[6]), actId: '0badc0de-0000-4000-8000-000000000001' }
    const r = expectResponse(await kmsExchange(port, base))
    expect(r.response.base.epid).toBe(host.status().identity.keys.find((k) => k.applications.includes('Windows'))!.epid)
    expect(r.response.base.count).toBe(1)
    expect(lines).toEqual([`unknown / ${productCatalog.kmsCountedIdById(base.kmsId)!.name}`])
    const [row] = await host.clientLog!.recent(1)
    expect(row).toMatchObject({ skuId: base.actId, kmsCountedId: base.kmsId, productName: null, outcome: 'ok' })
  })

  it('refuses a KMS counted ID no held key serves with 0xC004F042, logs it, and does not count it', async () => {
    const { host, port } = await labs.start()
    const base = { ...baseFor(PRODUCT_BY_PROTOCOL[6]), kmsId: '0badc0de-0000-4000-8000-000000000002' }
    expect(await kmsExchange(port, base)).toMatchObject({ kind: 'kms-error', hresult: HRESULT.kmsIdMismatch })
    const [row] = await host.clientLog!.recent(1)
    expect(row).toMatchObject({ kmsCountedId: base.kmsId, outcome: 'error', hresult: 0xc004f042 })
    expect(host.clientLog!.distinctClients({ kmsCountedId: base.kmsId }, 0)).toBe(0)
    expect(host.status().counters.requests.v6).toEqual({ ok: 0, refused: 1 })
  })

  it('refuses N_Policy above 1000 (like vlmcsd) and keeps serving the connection', async () => {
    const { host, port } = await labs.start()
    const c = await TestKmsConnection.open(port)
    await c.bind()
    expect(await c.request(baseFor(PRODUCT_BY_PROTOCOL[6], { nPolicy: 1001 }))).toMatchObject({
      kind: 'kms-error',
      hresult: HRESULT.invalidData
    })
    expectResponse(await c.request(baseFor(PRODUCT_BY_PROTOCOL[6])))
    await c.close()
    const rows = await host.clientLog!.recent(10)
    expect(rows.map((r) => r.outcome).sort()).toEqual(['error', 'ok'])
  })

  it('answers a request on a context that was not accepted, or with opnum ≠ 0, with an RPC fault and keeps the connection', async () => {
    const { host, port } = await labs.start()
    const c = await TestKmsConnection.open(port)
    await c.bind()
    const base = baseFor(PRODUCT_BY_PROTOCOL[6])
    const stub = encodeRequestStub(buildKmsRequest(base, cryptoRandom).bytes, 'ndr32')
    const request = (contextId: number, opnum: number, callId: number): Uint8Array =>
      encodePdu({
        rpcVers: 5,
        rpcVersMinor: 0,
        pfcFlags: 3,
        drep: 0x10,
        authLength: 0,
        callId,
        ptype: PTYPE.request,
        allocHint: stub.byteLength,
        contextId,
        opnum,
        objectUuid: undefined,
        stub
      })

    c.send(request(7, 0, 9))
    const unknownContext = decodePdu(await c.nextPdu())
    expect(unknownContext).toMatchObject({ ptype: PTYPE.fault, status: NCA_STATUS.unknownInterface, callId: 9, contextId: 7 })
    c.send(request(0, 3, 10))
    const badOpnum = decodePdu(await c.nextPdu())
    expect(badOpnum).toMatchObject({ ptype: PTYPE.fault, status: NCA_STATUS.opRangeError, callId: 10 })
    // still the same, working connection
    expectResponse(await c.request(base))
    await c.close()
    expect(host.status().counters.faults).toBe(2)
    expect(await host.clientLog!.recent(10)).toHaveLength(1)
  })

  it('rejects a bind for another interface item by item (provider rejection, abstract syntax)', async () => {
    const { port } = await labs.start()
    const c = await TestKmsConnection.open(port)
    const bind = decodePdu(c.session.bind())
    if (bind.ptype !== PTYPE.bind) throw new Error('bind')
    const other = {
      ...bind,
      contexts: bind.contexts.map((ctx) => ({ ...ctx, abstractSyntax: { uuid: '12345678-1234-abcd-ef00-0123456789ab', version: 1 } }))
    }
    c.send(encodePdu(other))
    const ack = decodePdu(await c.nextPdu()) as BindAckPdu
    expect(ack.ptype).toBe(PTYPE.bindAck)
    // the BTFN item is answered regardless of the interface (like vlmcsd); the NDR items are rejected
    expect(ack.results.map((r) => r.result)).toEqual([
      CONTEXT_RESULT.providerRejection,
      CONTEXT_RESULT.providerRejection,
      CONTEXT_RESULT.negotiateAck
    ])
    c.destroy()
  })
})
