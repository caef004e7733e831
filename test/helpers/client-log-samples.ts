/**
 * A client-log entry for the tests of the log and of the lab host's ledger: an answered Windows 10 Professional
 * request (protocol 6.0, N_Policy 25), with any field overridable.
 */
import type { ClientLogEntryInput } from '../../src-main/storage/client-log-entry'

export const WINDOWS_APP_ID = '55c92734-d682-4d71-983e-d6ec3f16059f'
export const WIN10_KMS_ID = '58e2134f-8e11-4d17-9cb2-91069c151148'

/** The n-th of a series of distinct CMIDs. */
export function sequentialCmid(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`
}

export function sampleLogEntry(fields: Partial<ClientLogEntryInput> = {}): ClientLogEntryInput {
  return {
    timeMs: 0,
    clientAddress: '127.0.0.1:50000',
    cmid: sequentialCmid(1),
    workstationName: 'ws1.lab.example',
    applicationId: WINDOWS_APP_ID,
    skuId: '2de67392-b7a7-462a-b1ca-108dd189f588',
    productName: 'Windows 10 Professional',
    kmsCountedId: WIN10_KMS_ID,
    protocolMajor: 6,
    protocolMinor: 0,
    requiredClientCount: 25,
    licenseStatus: 2,
    countReturned: 50,
    outcome: 'ok',
    ...fields
  }
}
