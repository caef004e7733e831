import { describe, expect, it } from 'vitest'
import { DnsServerSpecError, formatDnsServer, parseDnsServer } from '../../src-main/dns/server-spec'

describe('parseDnsServer accepts IP[:PORT]', () => {
  it.each([
    ['10.0.0.2', { host: '10.0.0.2', port: 53, family: 4 }],
    [' 10.0.0.2:5353 ', { host: '10.0.0.2', port: 5353, family: 4 }],
    ['127.0.0.1:1', { host: '127.0.0.1', port: 1, family: 4 }],
    ['fd00::53', { host: 'fd00::53', port: 53, family: 6 }],
    ['::1', { host: '::1', port: 53, family: 6 }],
    ['[fd00::53]', { host: 'fd00::53', port: 53, family: 6 }],
    ['[fd00::53]:65535', { host: 'fd00::53', port: 65535, family: 6 }],
    ['fe80::1%eth0', { host: 'fe80::1%eth0', port: 53, family: 6 }],
    ['[fe80::1%12]:5353', { host: 'fe80::1%12', port: 5353, family: 6 }],
    ['::ffff:10.0.0.2', { host: '::ffff:10.0.0.2', port: 53, family: 6 }]
  ])('%s', (spec, expected) => {
    expect(parseDnsServer(spec)).toEqual(expected)
  })

  it('formats back to a canonical spec', () => {
    expect(formatDnsServer(parseDnsServer('10.0.0.2'))).toBe('10.0.0.2:53')
    expect(formatDnsServer(parseDnsServer('fd00::53'))).toBe('[fd00::53]:53')
    expect(formatDnsServer(parseDnsServer('[::1]:5353'))).toBe('[::1]:5353')
  })
})

describe('parseDnsServer explains what is wrong and how to fix it', () => {
  const cases: Array<[string, RegExp, RegExp]> = [
    ['', /empty/, /IP address/],
    ['   ', /empty/, /IP address/],
    ['dc01.corp.example', /host name, not an IP address/, /by IP address/],
    ['dns.example:53', /host name/, /by IP address/],
    ['10.0.0.256', /not a valid IPv4 address/, /four numbers 0-255/],
    ['10.0.0.2:', /port after ":" is empty/, /port number/],
    ['10.0.0.2:0', /port 0 is out of range/, /1 to 65535/],
    ['10.0.0.2:70000', /port 70000 is out of range/, /1 to 65535/],
    ['10.0.0.2:53a', /"53a" is not a port number/, /whole number/],
    ['10.0.0.2:-1', /"-1" is not a port number/, /whole number/],
    [':53', /address before ":" is empty/, /address before the port/],
    ['fd00::53:5353x', /not a valid IPv6 address/, /\[address\]:port/],
    ['[fd00::53', /no matching "\]"/, /\[address\]:port/],
    ['[fd00::53]5353', /unexpected "5353" after "\]"/, /":port"/],
    ['[10.0.0.2]:53', /brackets are only for IPv6/, /without brackets/],
    ['[dns.example]:53', /not an IPv6 address/, /\[address\]:port/],
    ['10.0.0.2 10.0.0.3', /contains spaces/, /one server per entry/],
    ['0.0.0.0', /unspecified address/, /real DNS server/],
    ['::', /unspecified address/, /real DNS server/],
    ['224.0.0.251', /multicast/, /unicast/],
    ['255.255.255.255', /broadcast/, /unicast/],
    ['ff02::fb', /multicast/, /unicast/]
  ]
  it.each(cases)('%j', (spec, problem, hint) => {
    let caught: unknown
    try {
      parseDnsServer(spec)
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(DnsServerSpecError)
    const error = caught as DnsServerSpecError
    expect(error.code).toBe('bad-server-spec')
    expect(error.problem).toMatch(problem)
    expect(error.hint).toMatch(hint)
    expect(error.message).toContain(error.problem)
    expect(error.message).toContain(error.hint)
  })

  it('suggests brackets when an IPv6 address was written with a port', () => {
    // Nine groups: the first eight form a valid address, so the last one was most likely meant as a port.
    expect(() => parseDnsServer('fd00:1:2:3:4:5:6:7:5353')).toThrow(/put the address in brackets: \[fd00:1:2:3:4:5:6:7\]:5353/)
  })

  it('reads a bare IPv6 address as an address even when its last group looks like a port', () => {
    // Documented ambiguity: without brackets there is no port (fd00::53:5353 is a valid address).
    expect(parseDnsServer('fd00::53:5353')).toEqual({ host: 'fd00::53:5353', port: 53, family: 6 })
  })
})
