import { describe, expect, it } from 'vitest'
import { formatHostPort, isHostName, KMS_HOST_RULES, parseEndpoint, parseHostPort } from '../../src-main/common/host-port'

describe('parseEndpoint', () => {
  it.each([
    ['kms01.corp.example', { host: 'kms01.corp.example', port: 1688, family: 0 }],
    ['kms01.corp.example.:1689', { host: 'kms01.corp.example.', port: 1689, family: 0 }],
    ['KMS_HOST', { host: 'KMS_HOST', port: 1688, family: 0 }],
    ['192.0.2.10', { host: '192.0.2.10', port: 1688, family: 4 }],
    ['192.0.2.10:1', { host: '192.0.2.10', port: 1, family: 4 }],
    ['  127.0.0.1:65535 ', { host: '127.0.0.1', port: 65535, family: 4 }],
    ['::1', { host: '::1', port: 1688, family: 6 }],
    ['2001:db8::10', { host: '2001:db8::10', port: 1688, family: 6 }],
    ['[::1]', { host: '::1', port: 1688, family: 6 }],
    ['[2001:db8::10]:1689', { host: '2001:db8::10', port: 1689, family: 6 }],
    ['[fe80::1%eth0]:1688', { host: 'fe80::1%eth0', port: 1688, family: 6 }]
  ])('%s', (text, endpoint) => {
    expect(parseEndpoint(text)).toEqual({ ok: true, endpoint })
  })

  it.each([
    ['', 'empty'],
    ['   ', 'empty'],
    ['kms:0', 'port'],
    ['kms:65536', 'port'],
    ['kms:', 'port'],
    ['kms:16x8', 'port'],
    ['kms:-1', 'port'],
    ['[::1]:99999', 'port'],
    ['[::1', 'ipv6-brackets'],
    ['[::1]x', 'ipv6-brackets'],
    ['[192.0.2.1]:1688', 'ipv6-brackets'],
    ['2001:db8::10:1688:x', 'ipv6-brackets'],
    ['a:b:c', 'ipv6-brackets'],
    ['300.1.2.3', 'host'],
    ['1.2.3', 'host'],
    ['bad host', 'host'],
    ['-leading.example', 'host'],
    ['trailing-.example', 'host'],
    ['a..b', 'host'],
    ['http://kms', 'host'],
    ['kms\\share', 'host'],
    [`${'a'.repeat(64)}.example`, 'host']
  ])('%j is rejected (%s) with a message and a hint', (text, code) => {
    const r = parseEndpoint(text)
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.error.code).toBe(code)
    expect(r.error.message).not.toContain('\n')
    expect(r.error.hint.length).toBeGreaterThan(10)
  })

  it('uses the given default port', () => {
    expect(parseEndpoint('kms', 99)).toEqual({ ok: true, endpoint: { host: 'kms', port: 99, family: 0 } })
  })

  it('host names: length limits', () => {
    expect(isHostName(`${'a'.repeat(63)}.b`)).toBe(true)
    expect(isHostName(Array.from({ length: 127 }, () => 'a').join('.'))).toBe(true) // 253 characters
    expect(isHostName(Array.from({ length: 128 }, () => 'a').join('.'))).toBe(false)
  })

  it('formatHostPort brackets IPv6 only', () => {
    expect(formatHostPort('::1', 1688)).toBe('[::1]:1688')
    expect(formatHostPort('192.0.2.1', 1688)).toBe('192.0.2.1:1688')
    expect(formatHostPort('kms.example', 1)).toBe('kms.example:1')
  })

  it('accepts ::1:1688 as the IPv6 address it is, with a note that [::1]:1688 was probably meant', () => {
    const parsed = parseHostPort('::1:1688', KMS_HOST_RULES)
    expect(parsed).toMatchObject({ ok: true, value: { host: '::1:1688', port: 1688, family: 6 } })
    expect(parsed.ok && parsed.note).toBe(
      "'::1:1688' is read as the IPv6 address ::1:1688 (port 1688); if 1688 is the port, write [::1]:1688"
    )
    // no note where nothing looks like a port
    expect(parseHostPort('2001:db8::10', KMS_HOST_RULES)).not.toHaveProperty('note')
    expect(parseHostPort('[::1]:1688', KMS_HOST_RULES)).not.toHaveProperty('note')
  })
})
