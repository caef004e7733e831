import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { readOsResolverConfig, type ResolverConfigDeps } from '../../src-main/dns/os-config/read'
import { parseResolvConf } from '../../src-main/dns/os-config/resolv-conf'
import { parseScutilDns, resolverConfigFromScutil } from '../../src-main/dns/os-config/scutil'
import { serversForDomain } from '../../src-main/dns/os-config/resolver-config'
import {
  DNS_CLIENT_SCRIPT,
  GLOBAL_SETTING_SCRIPT,
  parseDnsClientGlobalSettingJson,
  parseDnsClientJson,
  parseDnsClientServerAddressJson,
  parsePrimarySuffixJson,
  PRIMARY_SUFFIX_SCRIPT,
  SERVER_ADDRESSES_SCRIPT,
  windowsResolverConfig,
  WindowsConfigParseError
} from '../../src-main/dns/os-config/windows'

const fixture = (path: string): string => readFileSync(new URL(`./fixtures/${path}`, import.meta.url), 'utf8')

describe('parseResolvConf (glibc semantics)', () => {
  it('NetworkManager file: servers and search list in order', () => {
    expect(parseResolvConf(fixture('resolv-conf/networkmanager.conf'))).toEqual({
      nameservers: ['10.20.0.2', '10.20.0.3', 'fd00:20::53'],
      search: ['corp.example.com', 'example.com'],
      searchFrom: 'search',
      options: [],
      warnings: []
    })
  })

  it('systemd-resolved stub file', () => {
    const parsed = parseResolvConf(fixture('resolv-conf/systemd-resolved-stub.conf'))
    expect(parsed).toMatchObject({
      nameservers: ['127.0.0.53'],
      search: ['corp.example.com'],
      options: ['edns0', 'trust-ad'],
      warnings: []
    })
  })

  it('macOS copy with a scoped IPv6 server', () => {
    expect(parseResolvConf(fixture('resolv-conf/macos.conf'))).toMatchObject({
      nameservers: ['10.20.0.2', 'fe80::1%en0'],
      search: ['corp.example.com']
    })
  })

  it('hand-edited file: comments, CRLF, bad lines warned, last of search/domain wins', () => {
    const parsed = parseResolvConf(fixture('resolv-conf/hand-edited.conf'))
    expect(parsed.nameservers).toEqual(['192.0.2.10', '192.0.2.11', '192.0.2.12', '192.0.2.13'])
    expect(parsed.search).toEqual(['last.example'])
    expect(parsed.searchFrom).toBe('domain')
    expect(parsed.options).toEqual(['ndots:2', 'timeout:1'])
    expect(parsed.warnings).toEqual([
      'line 4: "dns.example.com" is not an IP address, nameserver ignored',
      'line 5: "nameserver" without an address, ignored',
      'line 12: unknown keyword "lookup", ignored',
      '4 nameservers listed; glibc uses only the first 3 (KMS Scout tries all, in order)'
    ])
  })

  it('search after domain: search wins', () => {
    const parsed = parseResolvConf(fixture('resolv-conf/search-after-domain.conf'))
    expect(parsed.searchFrom).toBe('search')
    expect(parsed.search).toEqual(['new.example', 'other.example', 'NEW.example.', '.'])
  })
})

describe('parseScutilDns / resolverConfigFromScutil', () => {
  it('Wi-Fi + VPN: default resolver, split-DNS domains, mDNS and reverse zones left out', () => {
    const parsed = parseScutilDns(fixture('scutil/vpn-split-dns.txt'))
    expect(parsed.resolvers).toHaveLength(7)
    expect(parsed.scopedResolvers).toHaveLength(2)
    expect(parsed.resolvers[1]).toMatchObject({
      number: 2,
      domain: 'corp.example.com',
      nameservers: ['10.20.0.2', '10.20.0.3'],
      interfaceName: 'utun3',
      order: 102400
    })
    expect(parsed.resolvers[1]?.flags).toEqual(['Supplemental', 'Request A records'])
    expect(parsed.resolvers[3]?.options).toEqual(['mdns'])

    const config = resolverConfigFromScutil(parsed)
    expect(config.servers).toEqual(['192.168.1.1', 'fd00:1::1'])
    expect(config.domains).toEqual(['home.example', 'corp.example.com', 'lab.example'])
    expect(config.domainServers).toEqual([
      { domain: 'corp.example.com', servers: ['10.20.0.2', '10.20.0.3'] },
      { domain: 'lab.example', servers: ['10.30.0.53:5353'] }
    ])
    expect(config.warnings).toEqual([
      'split DNS: names under corp.example.com go to 10.20.0.2, 10.20.0.3 (resolver #2, utun3)',
      'split DNS: names under lab.example go to 10.30.0.53:5353 (resolver #3)'
    ])
    expect(serversForDomain(config, 'corp.example.com')).toEqual(['10.20.0.2', '10.20.0.3'])
    expect(serversForDomain(config, 'Branch.Corp.Example.com.')).toEqual(['10.20.0.2', '10.20.0.3'])
    expect(serversForDomain(config, 'notcorp.example.com')).toEqual(['192.168.1.1', 'fd00:1::1'])
    expect(serversForDomain(config, 'home.example')).toEqual(['192.168.1.1', 'fd00:1::1'])
  })

  it('single resolver with IPv6 and scoped link-local servers', () => {
    const config = resolverConfigFromScutil(parseScutilDns(fixture('scutil/simple.txt')))
    expect(config).toMatchObject({
      servers: ['10.20.0.2', '2001:db8::53', 'fe80::1%en0'],
      domains: ['corp.example.com', 'example.com'],
      domainServers: [],
      warnings: [],
      source: 'scutil --dns'
    })
  })

  it('offline Mac: no servers, says so', () => {
    const config = resolverConfigFromScutil(parseScutilDns(fixture('scutil/offline.txt')))
    expect(config.servers).toEqual([])
    expect(config.domains).toEqual([])
    expect(config.warnings[0]).toMatch(/no resolver with nameservers/)
  })

  it('IPv6 port form for a non-standard port', () => {
    const text = 'DNS configuration\n\nresolver #1\n  nameserver[0] : 2001:db8::53\n  port : 5300\n'
    expect(resolverConfigFromScutil(parseScutilDns(text)).servers).toEqual(['[2001:db8::53]:5300'])
  })
})

describe('Windows PowerShell JSON', () => {
  it('Get-DnsClientServerAddress, full CIM output (BOM, CRLF, PS 5.1 spacing)', () => {
    const entries = parseDnsClientServerAddressJson(fixture('windows/Get-DnsClientServerAddress.raw.json'))
    expect(entries).toHaveLength(9)
    expect(entries[0]).toEqual({ interfaceAlias: 'Ethernet0', interfaceIndex: 12, family: 4, servers: ['10.20.0.2', '10.20.0.3'] })
    expect(entries[1]).toMatchObject({ family: 6, servers: ['fec0:0:0:ffff::1', 'fec0:0:0:ffff::2', 'fec0:0:0:ffff::3'] })
  })

  it('Get-DnsClientServerAddress: compact array, single object and the {value, Count} wrapper give the same entries', () => {
    const array = parseDnsClientServerAddressJson(fixture('windows/Get-DnsClientServerAddress.selected.json'))
    expect(array).toEqual([
      { interfaceAlias: 'Ethernet', interfaceIndex: 4, family: 4, servers: ['192.0.2.53'] },
      { interfaceAlias: 'Ethernet', interfaceIndex: 4, family: 6, servers: ['2001:db8::53', 'fe80::1%4'] }
    ])
    expect(parseDnsClientServerAddressJson(fixture('windows/Get-DnsClientServerAddress.single.json'))).toEqual([array[0]])
    expect(parseDnsClientServerAddressJson(fixture('windows/Get-DnsClientServerAddress.value-wrapper.json'))).toEqual(array)
  })

  it('uses Address when the ServerAddresses alias is missing; accepts family names', () => {
    expect(parseDnsClientServerAddressJson('{"InterfaceAlias":"E","AddressFamily":"IPv6","Address":["2001:db8::1"]}')).toEqual([
      { interfaceAlias: 'E', interfaceIndex: undefined, family: 6, servers: ['2001:db8::1'] }
    ])
  })

  it('Get-DnsClient: connection-specific suffixes, including null and single-string search lists', () => {
    const raw = parseDnsClientJson(fixture('windows/Get-DnsClient.raw.json'))
    expect(raw.map((c) => [c.interfaceAlias, c.connectionSpecificSuffix, c.connectionSpecificSuffixSearchList])).toEqual([
      ['Ethernet0', 'corp.example.com', []],
      ['Wi-Fi', '', []],
      ['Corp VPN', 'vpn.corp.example.com', ['lab.example']],
      ['vEthernet (Default Switch)', '', []],
      ['Loopback Pseudo-Interface 1', '', []]
    ])
    expect(parseDnsClientJson(fixture('windows/Get-DnsClient.single-selected.json'))[0]?.connectionSpecificSuffixSearchList).toEqual([
      'branch-search.example.org'
    ])
  })

  it('Get-DnsClientGlobalSetting', () => {
    expect(parseDnsClientGlobalSettingJson(fixture('windows/Get-DnsClientGlobalSetting.raw.json'))).toEqual({
      suffixSearchList: ['corp.example.com', 'example.com'],
      useSuffixSearchList: true,
      useDevolution: true,
      devolutionLevel: 0
    })
    expect(parseDnsClientGlobalSettingJson(fixture('windows/Get-DnsClientGlobalSetting.selected-empty.json')).suffixSearchList).toEqual([])
  })

  it('primary suffix: current, pending change, Group Policy, none, raw registry read', () => {
    expect(parsePrimarySuffixJson(fixture('windows/primary-suffix.json'))).toEqual({ suffix: 'corp.example.com', warnings: [] })
    const pending = parsePrimarySuffixJson(fixture('windows/primary-suffix-pending.json'))
    expect(pending.suffix).toBe('old.example.com')
    expect(pending.warnings[0]).toMatch(/changed to "new\.example\.com" but takes effect after a restart/)
    const policy = parsePrimarySuffixJson(fixture('windows/primary-suffix-policy.json'))
    expect(policy.suffix).toBe('gpo.example.com')
    expect(policy.warnings[0]).toMatch(/Group Policy/)
    expect(parsePrimarySuffixJson(fixture('windows/primary-suffix-workgroup.json')).suffix).toBe('')
    expect(parsePrimarySuffixJson(fixture('windows/tcpip-parameters.raw.json'))).toEqual({ suffix: 'corp.example.com', warnings: [] })
  })

  it('rejects non-JSON and wrong shapes with a message naming the command', () => {
    expect(() => parseDnsClientServerAddressJson('InterfaceAlias : Ethernet0')).toThrow(WindowsConfigParseError)
    expect(() => parseDnsClientServerAddressJson('InterfaceAlias : Ethernet0')).toThrow(
      /Get-DnsClientServerAddress: output is not JSON.*ConvertTo-Json/
    )
    expect(() => parseDnsClientServerAddressJson('[{"ServerAddresses": 5}]')).toThrow(/entry 1 has an unexpected shape: ServerAddresses/)
    expect(parseDnsClientServerAddressJson('')).toEqual([])
  })

  it('combines everything: order, de-duplication, placeholders and loopback dropped', () => {
    const config = windowsResolverConfig({
      serverAddresses: fixture('windows/Get-DnsClientServerAddress.raw.json'),
      dnsClients: fixture('windows/Get-DnsClient.raw.json'),
      globalSetting: fixture('windows/Get-DnsClientGlobalSetting.raw.json'),
      primarySuffix: fixture('windows/primary-suffix.json')
    })
    expect(config.servers).toEqual(['10.20.0.2', '10.20.0.3', '10.30.0.53', 'fd00:20::53'])
    expect(config.domains).toEqual(['corp.example.com', 'vpn.corp.example.com', 'lab.example', 'example.com'])
    expect(config.warnings).toEqual([
      'ignored 3 fec0:0:0:ffff::1/2/3 placeholder address(es): Windows lists them when no IPv6 DNS server is configured'
    ])
    expect(config.domainServers).toEqual([])
  })

  it('one failed command still leaves the rest usable; no suffix at all is flagged', () => {
    const config = windowsResolverConfig({
      serverAddresses: fixture('windows/Get-DnsClientServerAddress.selected.json'),
      dnsClients: 'not json',
      globalSetting: fixture('windows/Get-DnsClientGlobalSetting.selected-empty.json'),
      primarySuffix: fixture('windows/primary-suffix-workgroup.json'),
      warnings: ['Get-DnsClient failed: boom']
    })
    expect(config.servers).toEqual(['192.0.2.53', '2001:db8::53', 'fe80::1%4'])
    expect(config.domains).toEqual([])
    expect(config.warnings[0]).toBe('Get-DnsClient failed: boom')
    expect(config.warnings[1]).toMatch(/^Get-DnsClient: output is not JSON/)
    expect(config.warnings[2]).toMatch(/no primary DNS suffix, connection-specific suffix or suffix search list/)
  })
})

describe('readOsResolverConfig with injected platform, exec and readFile', () => {
  function deps(overrides: Partial<ResolverConfigDeps> & Pick<ResolverConfigDeps, 'platform'>): ResolverConfigDeps & { calls: string[][] } {
    const calls: string[][] = []
    return {
      exec: async (file, args) => {
        calls.push([file, ...args])
        throw new Error('exec not expected')
      },
      readFile: async () => {
        throw Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' })
      },
      ...overrides,
      calls
    }
  }

  it('win32: runs the four PowerShell scripts and combines their output', async () => {
    const outputs: Record<string, string> = {
      [SERVER_ADDRESSES_SCRIPT]: fixture('windows/Get-DnsClientServerAddress.raw.json'),
      [DNS_CLIENT_SCRIPT]: fixture('windows/Get-DnsClient.raw.json'),
      [GLOBAL_SETTING_SCRIPT]: fixture('windows/Get-DnsClientGlobalSetting.raw.json'),
      [PRIMARY_SUFFIX_SCRIPT]: fixture('windows/primary-suffix.json')
    }
    const seen: string[][] = []
    const config = await readOsResolverConfig({
      platform: 'win32',
      env: { SystemRoot: 'C:\\WINDOWS' },
      readFile: async () => '',
      exec: async (file, args) => {
        seen.push([file, ...args])
        const command = args.at(-1) ?? ''
        const script = Object.keys(outputs).find((s) => command.endsWith(s))
        if (!script) throw new Error(`unexpected command ${command}`)
        return outputs[script]!
      }
    })
    expect(seen).toHaveLength(4)
    for (const call of seen) {
      // by absolute path: a bare "powershell.exe" is looked up in the current folder first on Windows
      expect(call.slice(0, 5)).toEqual([
        'C:\\WINDOWS\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
        '-NoProfile',
        '-NonInteractive',
        '-ExecutionPolicy',
        'Bypass'
      ])
      expect(call[6]).toMatch(/^\[Console\]::OutputEncoding = \[Text\.Encoding\]::UTF8; /)
    }
    expect(config.servers).toEqual(['10.20.0.2', '10.20.0.3', '10.30.0.53', 'fd00:20::53'])
    expect(config.domains[0]).toBe('corp.example.com')
    expect(config.source).toMatch(/^PowerShell/)
  })

  it('win32: PowerShell missing → empty config with warnings, no throw', async () => {
    const config = await readOsResolverConfig(deps({ platform: 'win32' }))
    expect(config.servers).toEqual([])
    expect(config.warnings.filter((w) => /failed: exec not expected/.test(w))).toHaveLength(4)
  })

  it('darwin: scutil --dns', async () => {
    const d = deps({
      platform: 'darwin',
      exec: async (file, args) => (file === '/usr/sbin/scutil' && args[0] === '--dns' ? fixture('scutil/vpn-split-dns.txt') : '')
    })
    const config = await readOsResolverConfig(d)
    expect(config.source).toBe('scutil --dns')
    expect(config.domainServers).toHaveLength(2)
  })

  it('darwin: scutil failing → /etc/resolv.conf, with the reason', async () => {
    const config = await readOsResolverConfig(
      deps({ platform: 'darwin', readFile: async (p) => (p === '/etc/resolv.conf' ? fixture('resolv-conf/macos.conf') : '') })
    )
    expect(config.source).toBe('/etc/resolv.conf')
    expect(config.servers).toEqual(['10.20.0.2', 'fe80::1%en0'])
    expect(config.warnings[0]).toMatch(/^scutil --dns failed \(exec not expected\); falling back to \/etc\/resolv\.conf/)
  })

  it('linux: resolv.conf, search list de-duplicated case-insensitively, "." dropped', async () => {
    const config = await readOsResolverConfig(
      deps({ platform: 'linux', readFile: async () => fixture('resolv-conf/search-after-domain.conf') })
    )
    expect(config).toEqual({
      servers: ['192.0.2.1'],
      domains: ['new.example', 'other.example'],
      source: '/etc/resolv.conf',
      warnings: [],
      domainServers: []
    })
  })

  it('linux: systemd-resolved stub is explained', async () => {
    const config = await readOsResolverConfig(
      deps({ platform: 'linux', readFile: async () => fixture('resolv-conf/systemd-resolved-stub.conf') })
    )
    expect(config.servers).toEqual(['127.0.0.53'])
    expect(config.warnings[0]).toMatch(/systemd-resolved stub/)
  })

  it('linux: LOCALDOMAIN replaces the search list', async () => {
    const config = await readOsResolverConfig(
      deps({
        platform: 'linux',
        env: { LOCALDOMAIN: 'env.example  other.example' },
        readFile: async () => fixture('resolv-conf/networkmanager.conf')
      })
    )
    expect(config.domains).toEqual(['env.example', 'other.example'])
    expect(config.warnings).toContain('LOCALDOMAIN is set in the environment and replaces the search list of resolv.conf')
  })

  it("linux: no search/domain → the host name's domain; no nameserver → 127.0.0.1 (like glibc)", async () => {
    const withServer = await readOsResolverConfig(
      deps({ platform: 'linux', hostname: () => 'ws01.branch.example', readFile: async () => fixture('resolv-conf/no-search.conf') })
    )
    expect(withServer.domains).toEqual(['branch.example'])
    const empty = await readOsResolverConfig(deps({ platform: 'freebsd', hostname: () => 'ws01', readFile: async () => '# nothing\n' }))
    expect(empty.servers).toEqual(['127.0.0.1'])
    expect(empty.domains).toEqual([])
    expect(empty.warnings[0]).toMatch(/lists no nameserver; like glibc, using 127\.0\.0\.1/)
  })

  it('linux: unreadable resolv.conf → empty config with the reason', async () => {
    const config = await readOsResolverConfig(deps({ platform: 'linux' }))
    expect(config.servers).toEqual([])
    expect(config.warnings[0]).toMatch(/cannot read \/etc\/resolv\.conf: ENOENT/)
  })
})
