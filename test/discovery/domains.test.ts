import { describe, expect, it } from 'vitest'
import type { OsResolverConfig } from '../../src-main/dns/os-config/resolver-config'
import { DiscoveryConfigError, planDnsServers, planDomains } from '../../src-main/discovery/domains'

const os: OsResolverConfig = {
  servers: ['10.0.0.53', '[fd00::53]:5353', 'not-an-ip'],
  domains: ['corp.example', 'branch.corp.example', 'example'],
  source: 'PowerShell: Get-DnsClient…',
  warnings: ['one warning'],
  domainServers: [{ domain: 'vpn.example', servers: ['10.8.0.1'] }]
}

describe('domains to search', () => {
  it('without a configured domain: the OS list, in its order (primary, connection-specific, search list)', () => {
    expect(planDomains(null, os)).toEqual({
      source: 'os',
      domains: ['corp.example', 'branch.corp.example', 'example'],
      from: os.source,
      warnings: ['one warning']
    })
  })

  it('a configured lookup domain replaces the OS list (like /skms-domain), de-duplicated', () => {
    const plan = planDomains(['KMS.corp.example.', 'kms.corp.example', 'other.example'], os)
    expect(plan.source).toBe('configured')
    expect(plan.domains).toEqual(['KMS.corp.example', 'other.example'])
  })

  it('an invalid configured domain is a configuration error naming the option', () => {
    expect(() => planDomains(['bad..domain'], os)).toThrow(DiscoveryConfigError)
    expect(() => planDomains(['has space.example'], os)).toThrow(/not a usable DNS domain/)
  })
})

describe('DNS servers to ask', () => {
  it('the OS servers in order, canonical, unusable entries dropped with a warning; split DNS per domain', () => {
    const plan = planDnsServers(null, os)
    expect(plan.servers).toEqual(['10.0.0.53:53', '[fd00::53]:5353'])
    expect(plan.warnings.some((w) => w.includes('not-an-ip'))).toBe(true)
    expect(plan.forDomain('corp.example')).toEqual(['10.0.0.53:53', '[fd00::53]:5353'])
    expect(plan.forDomain('kms.vpn.example')).toEqual(['10.8.0.1:53'])
  })

  it('a configured server replaces them for every domain', () => {
    const plan = planDnsServers('127.0.0.1:5353', os)
    expect(plan).toMatchObject({ source: 'configured', servers: ['127.0.0.1:5353'] })
    expect(plan.forDomain('kms.vpn.example')).toEqual(['127.0.0.1:5353'])
  })

  it('a host name is not accepted as a DNS server (resolving it would need DNS)', () => {
    expect(() => planDnsServers('dns.example', os)).toThrow(DiscoveryConfigError)
  })

  it('no OS configuration at all: no servers (never a public resolver)', () => {
    expect(planDnsServers(null, undefined).servers).toEqual([])
  })
})
