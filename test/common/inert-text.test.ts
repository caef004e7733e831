import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { inert, INERT_MAX_LENGTH, monitoringText } from '../../src-main/common/inert-text'

describe('inert: text from the network made safe for a terminal and a log line', () => {
  it('shows escapes, CR/LF and other controls as visible escapes', () => {
    expect(inert('pc01\x1b[2J\r\n2026-01-01T00:00:00Z fake line')).toBe('pc01\\x1b[2J\\x0d\\x0a2026-01-01T00:00:00Z fake line')
    expect(inert('\x00\x07\x7f\x9b')).toBe('\\x00\\x07\\x7f\\x9b')
  })

  it('shows bidi overrides, separators, zero-width characters and lone surrogates', () => {
    expect(inert('a\u202eb\u2066c\u2028d\u200be\ufeff')).toBe('a\\u202eb\\u2066c\\u2028d\\u200be\\ufeff')
    expect(inert('x\ud800y')).toBe('x\\ud800y')
    // a proper pair stays as it is
    expect(inert('🙂')).toBe('🙂')
  })

  it('doubles a backslash the peer sent, so its text cannot pass for one of our escapes', () => {
    expect(inert('\\x1b')).toBe('\\\\x1b')
  })

  it('keeps ordinary text, accents and other scripts unchanged', () => {
    expect(inert('kms01.corp.example ÄÖÜ 東京 -_.:[]')).toBe('kms01.corp.example ÄÖÜ 東京 -_.:[]')
  })

  it('bounds the length and says how much was cut', () => {
    const shown = inert('a'.repeat(1000))
    expect(shown).toBe(`${'a'.repeat(INERT_MAX_LENGTH)}…(+${1000 - INERT_MAX_LENGTH} more)`)
    expect(inert('abcdef', 3)).toBe('abc…(+3 more)')
  })

  it('never lets a control character, a line break or a bidi control through (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) => {
        const shown = inert(text)
        // eslint-disable-next-line no-control-regex -- the property is about control characters
        expect(shown).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/)
        expect(shown.length).toBeLessThanOrEqual(INERT_MAX_LENGTH * 6 + 20)
      }),
      { seed: 11, numRuns: 500 }
    )
  })

  it('monitoringText: one line without "|", which would start the perfdata', () => {
    expect(monitoringText('KMS OK - a|b\nc')).toBe('KMS OK - a¦b\\x0ac')
  })
})
