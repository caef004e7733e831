/**
 * runCheck / runDiscovery without the network where none is needed: fake probes, an injected OS resolver
 * configuration without servers or domains, and the monitoring verdict. (The product is chosen before, by
 * service/products.ts: test/service/products.test.ts.)
 */
import { describe, expect, it } from 'vitest'
import type { OsResolverConfig } from '../../src-main/dns/os-config/resolver-config'
import type { KmsAnswerSummary } from '../../src-main/discovery/kms-probe'
import type { Probe } from '../../src-main/discovery/probe'
import { runCheck } from '../../src-main/discovery/run-check'
import { runDiscovery } from '../../src-main/discovery/run-discovery'
import { productCatalog } from '../../src-main/protocol'

const identity = { cmid: '11111111-2222-4333-8444-555555555555' }
const product = productCatalog.defaultProduct()

function answer(count: number, threshold = 25): KmsAnswerSummary {
  return {
    count,
    threshold,
    countSufficient: count >= threshold,
    epid: '03612-00206-567-887631-03-1033-17763.0000-0092024',
    epidMeaning: 'host OS Windows 10 1809 / Server 2019 (build 17763)',
    activationIntervalMin: 120,
    renewalIntervalMin: 10080,
    protocol: '6.0',
    address: '127.0.0.2',
    rttMs: 12.4,
    warnings: [],
    hostKey: null
  }
}

const os =
  (fields: Partial<OsResolverConfig>): (() => Promise<OsResolverConfig>) =>
  async () => ({ servers: [], domains: [], source: '/etc/resolv.conf', warnings: [], domainServers: [], ...fields })

describe('runCheck verdict', () => {
  it('OK when the count meets the threshold: status line and perfdata as a monitoring plugin prints them', async () => {
    const probe: Probe<KmsAnswerSummary> = async () => ({ kind: 'verified', answer: answer(50), rttMs: 12.4 })
    const report = await runCheck({ product, manualHost: { host: 'kms01.example.test', port: 1688 } }, { identity, probe })
    expect(report).toMatchObject({
      status: 'ok',
      exitCode: 0,
      wouldActivate: true,
      cmid: identity.cmid,
      host: { host: 'kms01.example.test', port: 1688, source: 'manual' }
    })
    expect(report.statusLine).toBe(
      'KMS OK - kms01.example.test:1688 count=50/25 ePID=03612-00206-567-887631-03-1033-17763.0000-0092024 rtt=12ms'
    )
    expect(report.perfdata).toBe('count=50;;;0 rtt=12ms')
    expect(JSON.parse(JSON.stringify(report))).toEqual(report)
  })

  it('WARNING when the count is below the threshold (0xC004F038)', async () => {
    const probe: Probe<KmsAnswerSummary> = async () => ({ kind: 'verified', answer: answer(4), rttMs: 0.42 })
    const report = await runCheck({ product, manualHost: { host: '127.0.0.2', port: 1688 } }, { identity, probe })
    expect(report).toMatchObject({ status: 'warning', exitCode: 1, wouldActivate: false, windows: { code: '0xC004F038' } })
    expect(report.statusLine).toContain('count=4/25 below the threshold')
    expect(report.perfdata).toBe('count=4;;;0 rtt=0.4ms')
  })

  it("CRITICAL when the host refuses: 0xC004F074 with the host's own code as the inner error", async () => {
    const probe: Probe<KmsAnswerSummary> = async () => ({
      kind: 'failure',
      code: 'kms-error',
      hresult: 0xc004f042,
      message: 'refused the product'
    })
    const report = await runCheck({ product, manualHost: { host: '127.0.0.2', port: 1688 } }, { identity, probe })
    expect(report).toMatchObject({
      status: 'critical',
      exitCode: 2,
      perfdata: '',
      error: { windows: { code: '0xC004F074' }, inner: { code: '0xC004F042' } }
    })
    expect(report.statusLine).toMatch(/^KMS CRITICAL - No Key Management Service \(KMS\) could be contacted \(0xC004F074\) \[0xC004F042 /)
  })

  it('UNKNOWN when this machine has no DNS server (never a public resolver) or no DNS domain', async () => {
    const probe: Probe<KmsAnswerSummary> = async () => {
      throw new Error('must not be called')
    }
    const noServers = await runCheck(
      { product, hostCaching: false },
      { identity, probe, readOsResolverConfig: os({ domains: ['corp.example'] }) }
    )
    expect(noServers).toMatchObject({ status: 'unknown', exitCode: 3, error: { kind: 'no-dns-servers' } })
    const noDomains = await runCheck(
      { product, hostCaching: false },
      { identity, probe, readOsResolverConfig: os({ servers: ['127.0.0.1:9'] }) }
    )
    expect(noDomains).toMatchObject({ status: 'unknown', exitCode: 3, error: { kind: 'no-domains', windows: { code: '0x8007007B' } } })
  })

  it('the product decides the application (cache key), threshold and protocol', async () => {
    let seenApp = ''
    const cache = {
      get: async (app: string) => {
        seenApp = app
        return null
      },
      recordSuccess: async () => {
        throw new Error('not expected')
      },
      clear: async () => {}
    }
    const office = productCatalog.findProduct('Office Professional Plus 2019')
    if (office.kind !== 'found') throw new Error('Office Professional Plus 2019 is not in the catalog')
    const report = await runCheck(
      {
        product: office.sku,
        lookupDomains: ['example.test'],
        dnsServer: '127.0.0.1:9',
        dnsTimeoutMs: 100,
        dnsAttempts: 1
      },
      { identity, probe: async () => ({ kind: 'failure', code: 'refused', message: 'x' }), hostCache: cache }
    )
    const sku = productCatalog.skuById(report.product.skuId)!
    expect(sku.name).toBe('Office Professional Plus 2019')
    expect(seenApp).toBe(productCatalog.requestIdentity(sku).appId)
    expect(report.product).toMatchObject({ application: 'Office2013+', threshold: 5 })
  })
})

describe('runDiscovery without DNS configuration', () => {
  it('exit 3 with the reason when there is no server or no domain', async () => {
    expect(await runDiscovery({}, { readOsResolverConfig: os({ domains: ['corp.example'] }) })).toMatchObject({
      ok: false,
      exitCode: 3,
      error: { kind: 'no-dns-servers' }
    })
    expect(await runDiscovery({}, { readOsResolverConfig: os({ servers: ['127.0.0.1:9'] }) })).toMatchObject({
      ok: false,
      exitCode: 3,
      error: { kind: 'no-domains' }
    })
  })
})
