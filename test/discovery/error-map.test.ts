import { describe, expect, it } from 'vitest'
import {
  explainWindowsCode,
  lookupWindowsCode,
  WINDOWS_ERROR_TABLE,
  windowsCodeForDiscoveryFailure,
  windowsCodeForProbeFailure
} from '../../src-main/discovery/error-map'

describe('Windows error table', () => {
  it('holds the codes technicians search for, each with words, a one-line meaning and a fix', () => {
    for (const code of [
      '0x8007232B',
      '0x8007251D',
      '0x8007232A',
      '0x8007007B',
      '0xC004F074',
      '0xC004F038',
      '0x8007000D',
      '0x800706BA',
      '0xC004F042',
      '0xC004F06C',
      '0xC004F039',
      '0xC004F041'
    ]) {
      const entry = lookupWindowsCode(code)
      expect(entry, code).toBeDefined()
      expect(entry!.summary.length).toBeGreaterThan(5)
      expect(entry!.meaning).not.toContain('\n')
      expect(entry!.fix.length).toBeGreaterThan(10)
    }
    expect(new Set(WINDOWS_ERROR_TABLE.map((e) => e.value)).size).toBe(WINDOWS_ERROR_TABLE.length)
    expect(WINDOWS_ERROR_TABLE.every((e) => e.code === `0x${e.value.toString(16).toUpperCase().padStart(8, '0')}`)).toBe(true)
  })

  it('looks codes up by number or text, with or without 0x, in any case', () => {
    expect(lookupWindowsCode(0xc004f074)?.summary).toBe('No Key Management Service (KMS) could be contacted')
    expect(lookupWindowsCode('c004f038')?.symbol).toBe('SL_E_VL_NOT_ENOUGH_COUNT')
    expect(lookupWindowsCode('0x8007000d')?.code).toBe('0x8007000D')
    expect(lookupWindowsCode('not a code')).toBeUndefined()
    expect(explainWindowsCode(0xc004f999)).toMatchObject({ code: '0xC004F999', summary: 'Error 0xC004F999' })
  })

  it('maps attempt failures to the closest Windows code', () => {
    expect(windowsCodeForProbeFailure({ code: 'refused' })).toBe(0x800706ba)
    expect(windowsCodeForProbeFailure({ code: 'connect-timeout' })).toBe(0x800706ba)
    expect(windowsCodeForProbeFailure({ code: 'timeout' })).toBe(0x800706be)
    expect(windowsCodeForProbeFailure({ code: 'name-not-found' })).toBe(0x8007232b)
    expect(windowsCodeForProbeFailure({ code: 'kms-error', hresult: 0x8007000d })).toBe(0x8007000d)
    expect(windowsCodeForProbeFailure({ code: 'kms-error', hresult: -1073418174 })).toBe(0xc004f042)
    expect(windowsCodeForProbeFailure({ code: 'bad-response' })).toBeUndefined()
  })

  it('DNS discovery failures: server failure beats no records beats name does not exist; no domain → 0x8007007B', () => {
    expect(windowsCodeForDiscoveryFailure(['nxdomain', 'nxdomain'])).toBe(0x8007232b)
    expect(windowsCodeForDiscoveryFailure(['nxdomain', 'nodata'])).toBe(0x8007251d)
    expect(windowsCodeForDiscoveryFailure(['declined'])).toBe(0x8007251d)
    expect(windowsCodeForDiscoveryFailure(['nodata', 'dns-failure'])).toBe(0x8007232a)
    expect(windowsCodeForDiscoveryFailure([])).toBe(0x8007007b)
  })
})
