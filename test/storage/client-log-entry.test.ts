/**
 * normalizeEntry (what the threaded log counts at once) and clientLogEntrySchema (what the writer thread and the
 * inline log validate and store) must make the same entry of every valid input, or the counts of the threaded
 * log would drift from the rows it writes. Seeded, so a failure names an input that can be replayed.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { clientLogEntrySchema, normalizeEntry, type ClientLogEntryInput } from '../../src-main/storage/client-log-entry'

const guid = fc.uuid().chain((u) => fc.constantFrom(u, u.toUpperCase()))
const u32 = fc.nat({ max: 0xffff_ffff })
const u16 = fc.nat({ max: 0xffff })
const optional = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null | undefined> =>
  fc.option(arb, { nil: undefined }).chain((v) => fc.constantFrom(v, null))

const entry: fc.Arbitrary<ClientLogEntryInput> = fc
  .record({
    timeMs: fc.nat({ max: 8.64e15 }),
    clientAddress: fc.string({ maxLength: 64 }),
    cmid: guid,
    previousCmid: optional(guid),
    workstationName: fc.option(fc.string({ maxLength: 64 }), { nil: null }),
    applicationId: guid,
    skuId: fc.option(guid, { nil: null }),
    productName: fc.option(fc.string({ maxLength: 200 }), { nil: null }),
    kmsCountedId: guid,
    protocolMajor: fc.option(u16, { nil: null }),
    protocolMinor: fc.option(u16, { nil: null }),
    requiredClientCount: optional(u32),
    licenseStatus: fc.option(u32, { nil: null }),
    countReturned: fc.option(u32, { nil: null }),
    outcome: fc.constantFrom('ok' as const, 'error' as const),
    hresult: optional(u32)
  })
  .map((e) => Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)) as ClientLogEntryInput)

describe('normalizeEntry', () => {
  it('equals the schema’s parse for every valid entry (lower-case GUIDs, defaults for the optional fields)', () => {
    fc.assert(
      fc.property(entry, (input) => {
        expect(normalizeEntry(input)).toEqual(clientLogEntrySchema.parse(input))
      }),
      { seed: 0x1688, numRuns: 500 }
    )
  })

  it('lower-cases the GUIDs the counts key on', () => {
    const input: ClientLogEntryInput = {
      timeMs: 1,
      clientAddress: '127.0.0.1:50000',
      cmid: 'AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE',
      workstationName: null,
      applicationId: '55C92734-D682-4D71-983E-D6EC3F16059F',
      skuId: null,
      productName: null,
      kmsCountedId: '58E2134F-8E11-4D17-9CB2-91069C151148',
      protocolMajor: 6,
      protocolMinor: 0,
      licenseStatus: 2,
      countReturned: 25,
      outcome: 'ok'
    }
    expect(normalizeEntry(input)).toMatchObject({
      cmid: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
      applicationId: '55c92734-d682-4d71-983e-d6ec3f16059f',
      kmsCountedId: '58e2134f-8e11-4d17-9cb2-91069c151148',
      previousCmid: null,
      requiredClientCount: null,
      hresult: null
    })
  })
})
