import { describe, expect, it } from 'vitest'
import { fitWorkstationName, localWorkstationName } from '../../src-main/kms-client/workstation'

const resolvesTo = (name: string) => ({
  lookup: async () => ({ address: '192.0.2.7' }),
  lookupService: async () => ({ hostname: name })
})

describe('localWorkstationName', () => {
  it('uses the FQDN when the reverse lookup extends the short name', async () => {
    expect(await localWorkstationName({ hostname: () => 'pc01', ...resolvesTo('PC01.corp.example') })).toBe('PC01.corp.example')
  })

  it('ignores a reverse name that is not this host (e.g. localhost for 127.0.0.1)', async () => {
    expect(await localWorkstationName({ hostname: () => 'pc01', ...resolvesTo('localhost') })).toBe('pc01')
    expect(await localWorkstationName({ hostname: () => 'pc01', ...resolvesTo('pc011.corp.example') })).toBe('pc01')
  })

  it('keeps a hostname that is already qualified, without any lookup', async () => {
    const name = await localWorkstationName({
      hostname: () => 'pc01.corp.example',
      lookup: () => Promise.reject(new Error('must not look up'))
    })
    expect(name).toBe('pc01.corp.example')
  })

  it('falls back to the short name when the lookup fails or hangs', async () => {
    expect(await localWorkstationName({ hostname: () => 'pc01', lookup: () => Promise.reject(new Error('ENOTFOUND')) })).toBe('pc01')
    expect(await localWorkstationName({ hostname: () => 'pc01', lookup: () => new Promise(() => {}), timeoutMs: 20 })).toBe('pc01')
  })

  it('never exceeds 63 characters', async () => {
    const long = `${'h'.repeat(40)}.${'d'.repeat(40)}.example`
    expect(await localWorkstationName({ hostname: () => long })).toBe('h'.repeat(40))
    expect(await localWorkstationName({ hostname: () => 'x'.repeat(80), lookup: () => Promise.reject(new Error('no')) })).toBe(
      'x'.repeat(63)
    )
    expect(await localWorkstationName({ hostname: () => 'pc01', ...resolvesTo(`pc01.${'d'.repeat(70)}`) })).toBe('pc01')
    expect(await localWorkstationName({ hostname: () => '' })).toBe('kms-scout')
  })

  it('fitWorkstationName does not split a surrogate pair', () => {
    const name = `${'a'.repeat(62)}😀`
    expect(fitWorkstationName(name)).toBe('a'.repeat(62))
    expect(fitWorkstationName('short')).toBe('short')
  })
})
