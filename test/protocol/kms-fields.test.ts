/**
 * What the KMS codecs report when they refuse bytes or values: the field, offset and wording of every
 * ProtocolDecodeError / ProtocolEncodeError of the base request and base response (src-main/protocol/kms/base.ts),
 * and the named problem and reason of every refusal of parseKmsRequest / buildKmsRequest (kms/request.ts).
 *
 * Why: these names are what a technician reads in a report to find the bad byte in a capture (errors.ts), and
 * the boundaries (63 characters, PIDSize 2..128, a 4-byte version) are the spec's (docs/protocol.md §3, §4, §7.4).
 * The layouts below are oracle tables copied from docs/protocol.md, never generated from the code; responses are
 * laid out by hand from §4 so the decoder is not checked against its own encoder.
 */
import { describe, expect, it } from 'vitest'
import { ProtocolDecodeError, ProtocolEncodeError } from '../../src-main/protocol/errors'
import { guidToBytes } from '../../src-main/protocol/guid'
import {
  decodeBaseRequest,
  decodeBaseResponse,
  encodeBaseRequest,
  encodeBaseResponse,
  type BaseRequest,
  type BaseResponse
} from '../../src-main/protocol/kms/base'
import { buildKmsRequest, parseKmsRequest } from '../../src-main/protocol/kms/request'
import { SAMPLE_EPID, sampleBaseRequest } from '../helpers/protocol-samples'
import { seededRandom } from '../helpers/vectors'

const CMID = '11111111-2222-3333-4444-555555555555'
const EPID = SAMPLE_EPID

/** The `v6-req` request of docs/protocol.md §3 (Windows 10 Professional). */
const REQUEST: BaseRequest = sampleBaseRequest({ cmid: CMID, workstationName: 'lab-client-v6.example.test' })

const RESPONSE: BaseResponse = {
  minorVer: 0,
  majorVer: 6,
  epid: EPID,
  cmid: CMID,
  clientTime: 134400685670000000n,
  count: 50,
  activationInterval: 120,
  renewalInterval: 10080
}

/** docs/protocol.md §3: [field, offset, size] of the 236-byte base request. */
const REQUEST_LAYOUT: [string, number, number][] = [
  ['MinorVer', 0, 2],
  ['MajorVer', 2, 2],
  ['VMInfo', 4, 4],
  ['LicenseStatus', 8, 4],
  ['BindingExpiration', 12, 4],
  ['AppID', 16, 16],
  ['ActID', 32, 16],
  ['KMSID', 48, 16],
  ['CMID', 64, 16],
  ['N_Policy', 80, 4],
  ['ClientTime', 84, 8],
  ['CMID_prev', 92, 16],
  ['WorkstationName', 108, 128]
]

/** docs/protocol.md §4 for P = 100 (a 49-character ePID): [field, offset, size] of the 144-byte base response. */
const P = 100
const RESPONSE_LAYOUT: [string, number, number][] = [
  ['MinorVer', 0, 2],
  ['MajorVer', 2, 2],
  ['PIDSize', 4, 4],
  ['KmsPID', 8, P],
  ['CMID', 8 + P, 16],
  ['ClientTime', 24 + P, 8],
  ['Count', 32 + P, 4],
  ['VLActivationInterval', 36 + P, 4],
  ['VLRenewalInterval', 40 + P, 4]
]

/** UTF-16LE code units of `s`, written independently of the code under test. */
function utf16(s: string): number[] {
  const out: number[] = []
  for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i) & 0xff, s.charCodeAt(i) >> 8)
  return out
}

/** A base response laid out by hand from docs/protocol.md §4 with the given KmsPID bytes and PIDSize. */
function responseBytes(pid: number[], pidSize = pid.length): Uint8Array {
  const b = new Uint8Array(44 + pid.length)
  const v = new DataView(b.buffer)
  v.setUint16(0, 0, true)
  v.setUint16(2, 6, true)
  v.setUint32(4, pidSize, true)
  b.set(pid, 8)
  b.set(guidToBytes(CMID), 8 + pid.length)
  v.setBigUint64(24 + pid.length, 134400685670000000n, true)
  v.setUint32(32 + pid.length, 50, true)
  v.setUint32(36 + pid.length, 120, true)
  v.setUint32(40 + pid.length, 10080, true)
  return b
}

function decodeError(fn: () => unknown): ProtocolDecodeError {
  try {
    fn()
  } catch (err) {
    if (err instanceof ProtocolDecodeError) return err
    throw err
  }
  throw new Error('expected a ProtocolDecodeError, nothing was thrown')
}

function encodeError(fn: () => unknown): ProtocolEncodeError {
  try {
    fn()
  } catch (err) {
    if (err instanceof ProtocolEncodeError) return err
    throw err
  }
  throw new Error('expected a ProtocolEncodeError, nothing was thrown')
}

describe('base request decoding (docs/protocol.md §3)', () => {
  it('reads every field at the offset of the §3 table', () => {
    const b = new Uint8Array(236)
    const v = new DataView(b.buffer)
    v.setUint16(0, 0, true)
    v.setUint16(2, 6, true)
    v.setUint32(4, 1, true)
    v.setUint32(8, 2, true)
    v.setUint32(12, 43200, true)
    b.set(guidToBytes(REQUEST.appId), 16)
    b.set(guidToBytes(REQUEST.actId), 32)
    b.set(guidToBytes(REQUEST.kmsId), 48)
    b.set(guidToBytes(CMID), 64)
    v.setUint32(80, 25, true)
    v.setBigUint64(84, 134400685670000000n, true)
    b.set(guidToBytes('01e5e3b4-81d8-4939-9628-4674fd5b2b41'), 92)
    b.set(utf16('monitor'), 108)
    expect(decodeBaseRequest(b)).toEqual({
      ...REQUEST,
      vmInfo: 1,
      cmidPrev: '01e5e3b4-81d8-4939-9628-4674fd5b2b41',
      workstationName: 'monitor'
    })
  })

  // The request has no length field: the decoder checks the 236 bytes as a whole before reading any field, so a
  // cut anywhere is reported as `BaseRequest` at the start of the request (shifted by `base`).
  it.each(REQUEST_LAYOUT)('a request cut inside %s (offset %i) is a short BaseRequest', (_field, off, size) => {
    const bytes = encodeBaseRequest(REQUEST).subarray(0, off + Math.floor(size / 2))
    expect(bytes.byteLength).toBeLessThan(236)
    for (const base of [0, 36]) {
      const err = decodeError(() => decodeBaseRequest(bytes, base))
      expect([err.field, err.offset]).toEqual(['BaseRequest', base])
      expect(err.detail).toBe(`needs 236 byte(s) but only ${bytes.byteLength} remain (buffer is ${bytes.byteLength} bytes)`)
    }
  })

  it('exactly 236 bytes decode, and bytes after them are ignored', () => {
    const plain = encodeBaseRequest(REQUEST)
    expect(decodeBaseRequest(plain)).toEqual(REQUEST)
    const longer = new Uint8Array(240)
    longer.set(plain)
    longer.fill(0x41, 236)
    expect(decodeBaseRequest(longer)).toEqual(REQUEST)
  })
})

describe('base response decoding (docs/protocol.md §4)', () => {
  const full = responseBytes([...utf16(EPID), 0, 0])

  it('the hand-made §4 layout decodes to the response it was made from', () => {
    expect(full.byteLength).toBe(144)
    expect(decodeBaseResponse(full)).toEqual({ value: RESPONSE, length: 144 })
  })

  // Cuts before PIDSize is complete are reported at the start; once PIDSize is known, the decoder checks the
  // remaining 36 + PIDSize bytes at once, right after PIDSize, so any later cut is reported at offset 8.
  it.each(RESPONSE_LAYOUT)('a response cut inside %s (offset %i) is a short BaseResponse', (_field, off, size) => {
    const cut = off + Math.floor(size / 2)
    const at = cut < 8 ? 0 : 8
    for (const base of [0, 40]) {
      const err = decodeError(() => decodeBaseResponse(full.subarray(0, cut), base))
      expect([err.field, err.offset]).toEqual(['BaseResponse', base + at])
      const need = at === 0 ? 8 : P + 36
      expect(err.detail).toBe(`needs ${need} byte(s) but only ${cut - at} remain (buffer is ${cut} bytes)`)
    }
  })

  it.each([
    [130, 'PIDSize 130 exceeds 128'],
    [0xffffffff, 'PIDSize 4294967295 exceeds 128'],
    [0, 'PIDSize 0 is not a positive even number of bytes'],
    [1, 'PIDSize 1 is not a positive even number of bytes'],
    [99, 'PIDSize 99 is not a positive even number of bytes']
  ])('PIDSize %i is refused at offset 4: %s', (pidSize, detail) => {
    const err = decodeError(() => decodeBaseResponse(responseBytes([...utf16(EPID), 0, 0], pidSize), 10))
    expect([err.field, err.offset, err.detail]).toEqual(['PIDSize', 14, detail])
  })

  it('the bounds of PIDSize are accepted: 2 (empty ePID) and 128 (63 characters)', () => {
    expect(decodeBaseResponse(responseBytes([0, 0]))).toEqual({ value: { ...RESPONSE, epid: '' }, length: 46 })
    const longest = 'A'.repeat(63)
    expect(decodeBaseResponse(responseBytes([...utf16(longest), 0, 0]))).toEqual({
      value: { ...RESPONSE, epid: longest },
      length: 172
    })
  })

  it.each([
    ['a last WCHAR with only its high byte set (U+0100)', [0x00, 0x01]],
    ['a last WCHAR with only its low byte set', [0x41, 0x00]]
  ])('KmsPID ending in %s is refused at that WCHAR', (_name, last) => {
    const pid = [...utf16('ABC'), ...last]
    const err = decodeError(() => decodeBaseResponse(responseBytes(pid), 100))
    expect([err.field, err.offset, err.detail]).toEqual(['KmsPID', 100 + 8 + 6, 'the last WCHAR of the ePID is not NUL'])
  })

  it.each([
    [0, 8],
    [3, 14],
    [5, 18]
  ])('a NUL at character %i inside the ePID is refused at offset %i', (index, offset) => {
    const chars = utf16('ABCDEF')
    chars[2 * index] = 0
    const err = decodeError(() => decodeBaseResponse(responseBytes([...chars, 0, 0])))
    expect([err.field, err.offset, err.detail]).toEqual(['KmsPID', offset, `NUL character inside the ePID at character ${index}`])
  })

  it('a character whose low byte is 0 (U+0100) after an ASCII character is not a NUL', () => {
    // bytes 41 00 | 00 01 | 00 00: the zero low byte of U+0100 follows the zero high byte of 'A'
    const pid = [0x41, 0x00, 0x00, 0x01, 0x00, 0x00]
    expect(decodeBaseResponse(responseBytes(pid)).value.epid).toBe('A\u0100')
  })
})

describe('base request encoding: the field a refused value names', () => {
  it.each([
    ['MinorVer', { minorVer: 0x10000 }],
    ['MajorVer', { majorVer: -1 }],
    ['VMInfo', { vmInfo: 2 ** 32 }],
    ['LicenseStatus', { licenseStatus: 1.5 }],
    ['BindingExpiration', { bindingExpiration: -1 }],
    ['N_Policy', { nPolicy: 2 ** 32 }],
    ['ClientTime', { clientTime: -1n }],
    ['ClientTime', { clientTime: 2n ** 64n }]
  ] as [string, Partial<BaseRequest>][])('%s out of range', (field, patch) => {
    const err = encodeError(() => encodeBaseRequest({ ...REQUEST, ...patch }))
    expect(err.field).toBe(field)
    expect(err.message.startsWith(`cannot encode ${field}: `)).toBe(true)
  })

  it('WorkstationName: 63 characters fit, 64 do not', () => {
    const name63 = 'w'.repeat(63)
    expect(decodeBaseRequest(encodeBaseRequest({ ...REQUEST, workstationName: name63 })).workstationName).toBe(name63)
    const err = encodeError(() => encodeBaseRequest({ ...REQUEST, workstationName: 'w'.repeat(64) }))
    expect([err.field, err.message]).toEqual(['WorkstationName', 'cannot encode WorkstationName: 64 characters exceed 63'])
  })

  it('WorkstationName with a NUL character is refused (it would end the name early)', () => {
    const err = encodeError(() => encodeBaseRequest({ ...REQUEST, workstationName: 'lab\0pc' }))
    expect([err.field, err.message]).toEqual(['WorkstationName', 'cannot encode WorkstationName: contains a NUL character'])
  })
})

describe('base response encoding: the field a refused value names', () => {
  it.each([
    ['MinorVer', { minorVer: 0x10000 }],
    ['MajorVer', { majorVer: -6 }],
    ['ClientTime', { clientTime: -1n }],
    ['Count', { count: 2 ** 32 }],
    ['VLActivationInterval', { activationInterval: -1 }],
    ['VLRenewalInterval', { renewalInterval: 0.5 }]
  ] as [string, Partial<BaseResponse>][])('%s out of range', (field, patch) => {
    const err = encodeError(() => encodeBaseResponse({ ...RESPONSE, ...patch }))
    expect(err.field).toBe(field)
    expect(err.message.startsWith(`cannot encode ${field}: `)).toBe(true)
  })

  it('KmsPID: 63 characters fit (PIDSize 128), 64 do not', () => {
    const bytes = encodeBaseResponse({ ...RESPONSE, epid: 'E'.repeat(63) })
    expect(bytes.byteLength).toBe(44 + 128)
    expect(new DataView(bytes.buffer, bytes.byteOffset).getUint32(4, true)).toBe(128)
    const err = encodeError(() => encodeBaseResponse({ ...RESPONSE, epid: 'E'.repeat(64) }))
    expect([err.field, err.message]).toEqual(['KmsPID', 'cannot encode KmsPID: ePID of 64 characters exceeds 63'])
  })

  it('KmsPID with a NUL character is refused', () => {
    const err = encodeError(() => encodeBaseResponse({ ...RESPONSE, epid: '03612\0-00206' }))
    expect([err.field, err.message]).toEqual(['KmsPID', 'cannot encode KmsPID: contains a NUL character'])
  })
})

describe('KMS request building and parsing (docs/protocol.md §6.2, §7.1, §7.4)', () => {
  it('buildKmsRequest refuses protocols below 4 and names MajorVer', () => {
    const err = encodeError(() => buildKmsRequest({ ...REQUEST, majorVer: 3 }, seededRandom(1)))
    expect([err.field, err.message]).toEqual(['MajorVer', 'cannot encode MajorVer: protocol 3 is not supported (4, 5, 6)'])
  })

  const v4 = buildKmsRequest({ ...REQUEST, majorVer: 4 }, seededRandom(1)).bytes
  const v6 = buildKmsRequest(REQUEST, seededRandom(2)).bytes
  const badMac = Uint8Array.from(v4)
  badMac[251]! ^= 1
  const badPad = Uint8Array.from(v6)
  badPad[259]! ^= 0x55
  // Inner 6.1 encrypted under an outer 6.1, then the outer minor set to 0: only the inner minor differs.
  const innerMinor = buildKmsRequest({ ...REQUEST, minorVer: 1 }, seededRandom(3)).bytes
  innerMinor[0] = 0

  it.each([
    ['3 bytes', Uint8Array.of(0, 0, 6), 'too-short', 'KMS request of 3 bytes has no version'],
    ['a bare 6.0 version', Uint8Array.of(0, 0, 6, 0), 'too-short', 'KMS v6 request of 4 bytes is shorter than 260'],
    ['a bare 4.0 version', Uint8Array.of(0, 0, 4, 0), 'too-short', 'KMS v4 request of 4 bytes is shorter than 252'],
    ['251 bytes of v4', v4.subarray(0, 251), 'too-short', 'KMS v4 request of 251 bytes is shorter than 252'],
    ['version 7.0', Uint8Array.of(0, 0, 7, 0), 'unsupported-version', 'KMS protocol 7.0 is not supported'],
    ['version 3.2', Uint8Array.of(2, 0, 3, 0), 'unsupported-version', 'KMS protocol 3.2 is not supported'],
    ['version 6.2', Uint8Array.of(2, 0, 6, 0), 'minor-version', 'KMS minor version 2 is not 0'],
    ['a wrong V4 MAC', badMac, 'v4-mac', 'the V4 request MAC is wrong'],
    ['a broken pad', badPad, 'padding', 'the decrypted request does not end in the PKCS#7 pad 04 04 04 04'],
    ['inner 6.1 under outer 6.0', innerMinor, 'inner-version', 'inner version 6.1 differs from the outer 6.0']
  ] as const)('%s → %s: %s', (_name, bytes, problem, reason) => {
    expect(parseKmsRequest(bytes)).toEqual({ ok: false, problem, reason, hresult: 0x8007000d })
  })

  it('rejectInvalidV4Mac: false accepts a wrong V4 MAC and says so; true (the default) refuses it', () => {
    const accepted = parseKmsRequest(badMac, { rejectInvalidV4Mac: false })
    expect(accepted.ok && [accepted.request.protocol, accepted.request.v4MacValid, accepted.request.base]).toEqual([
      4,
      false,
      { ...REQUEST, majorVer: 4 }
    ])
    expect(parseKmsRequest(badMac, { rejectInvalidV4Mac: true })).toMatchObject({ ok: false, problem: 'v4-mac' })
    const good = parseKmsRequest(v4, { rejectInvalidV4Mac: true })
    expect(good.ok && good.request.v4MacValid).toBe(true)
  })
})
