/**
 * The shape of one client-log record. record() validates every entry against this schema before it touches
 * the database or the counts, so a malformed request from the host code fails loudly instead of writing a row
 * the counting (or a later reader) would misread.
 */
import { z } from 'zod'

const guidText = z
  .string()
  .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'must be a GUID')
  .transform((guid) => guid.toLowerCase())
const u32 = z.number().int().min(0).max(0xffff_ffff)
const u16 = z.number().int().min(0).max(0xffff)

/**
 * One handled request. Field names follow docs/protocol.md §3 (vlmcsd/Wireshark names in the comments). Request
 * fields are null when the request could not be decoded far enough to know them.
 */
export const clientLogEntrySchema = z
  .object({
    /** when the host handled the request, Unix epoch milliseconds (UTC) */
    timeMs: z.number().int().min(0).max(8.64e15),
    /** peer address as `ip:port` (`[ipv6]:port`) */
    clientAddress: z.string().max(64),
    /** ClientMachineId (CMID) */
    cmid: guidText.nullable(),
    /** PreviousClientMachineId (CMID_prev); null if zero or unknown */
    previousCmid: guidText.nullable().default(null),
    /** WorkstationName */
    workstationName: z.string().max(64).nullable(),
    /** ApplicationId (AppID) */
    applicationId: guidText.nullable(),
    /** ActivationId (ActID, the SKU) */
    skuId: guidText.nullable(),
    /** the SKU's product name from products.json, null if the SKU is unknown */
    productName: z.string().max(200).nullable(),
    /** KmsCountedId (KMSID) */
    kmsCountedId: guidText.nullable(),
    /** MajorVer / MinorVer of the request */
    protocolMajor: u16.nullable(),
    protocolMinor: u16.nullable(),
    /** N_Policy (RequiredClientCount) the client asked for */
    requiredClientCount: u32.nullable().default(null),
    /** LicenseStatus (0 unlicensed, 1 licensed, 2 OOB grace, ...) */
    licenseStatus: u32.nullable(),
    /** the Count (CurrentCount) the host answered with; null for errors */
    countReturned: u32.nullable(),
    /** 'ok': a normal response was sent; 'error': an HRESULT error response, an RPC fault, or nothing */
    outcome: z.enum(['ok', 'error']),
    /** the error as an unsigned 32-bit HRESULT, e.g. 0xC004F042; null when ok or not applicable */
    hresult: u32.nullable().default(null)
  })
  .superRefine((entry, ctx) => {
    // Counting needs these; a host that answered normally has decoded them.
    if (entry.outcome === 'ok') {
      for (const key of ['cmid', 'applicationId', 'kmsCountedId'] as const) {
        if (entry[key] === null) ctx.addIssue({ code: 'custom', path: [key], message: `required when outcome is 'ok'` })
      }
    }
  })

export type ClientLogEntry = z.output<typeof clientLogEntrySchema>
/** What record() accepts (previousCmid, requiredClientCount and hresult may be left out). */
export type ClientLogEntryInput = z.input<typeof clientLogEntrySchema>
export type ClientLogRow = ClientLogEntry & { id: number }

const lowerOrNull = (guid: string | null | undefined): string | null => guid?.toLowerCase() ?? null

/**
 * What `clientLogEntrySchema.parse` makes of a valid entry (lower-case GUIDs, defaults filled in), without
 * validating it: for the threaded log, which counts an entry at once on the host's thread and leaves the
 * validation to the writer thread (a schema parse per request costs the hot path). A test holds the two equal
 * for every valid entry (test/storage/client-log-entry.test.ts).
 */
export function normalizeEntry(input: ClientLogEntryInput): ClientLogEntry {
  return {
    ...input,
    cmid: lowerOrNull(input.cmid),
    previousCmid: lowerOrNull(input.previousCmid),
    applicationId: lowerOrNull(input.applicationId),
    skuId: lowerOrNull(input.skuId),
    kmsCountedId: lowerOrNull(input.kmsCountedId),
    requiredClientCount: input.requiredClientCount ?? null,
    hresult: input.hresult ?? null
  }
}
