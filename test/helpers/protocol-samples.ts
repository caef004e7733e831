/**
 * Shared by the protocol tests: the sample base request (the Windows 10 Professional v6 request of
 * docs/protocol.md §3, with fields overridable), the ePID the sample answers carry, and the error a call throws,
 * checked for its class.
 */
import { expect } from 'vitest'
import { ProtocolDecodeError, ProtocolEncodeError } from '../../src-main/protocol/errors'
import type { BaseRequest } from '../../src-main/protocol/kms/base'

/** A Windows Server 2016 host's ePID (group 206, a Windows Server 2016 key, build 14393). */
export const SAMPLE_EPID = '03612-00206-567-887631-03-2074-14393.0000-0092024'

export function sampleBaseRequest(fields: Partial<BaseRequest> = {}): BaseRequest {
  return {
    minorVer: 0,
    majorVer: 6,
    vmInfo: 0,
    licenseStatus: 2,
    bindingExpiration: 43200,
    appId: '55c92734-d682-4d71-983e-d6ec3f16059f',
    actId: '2de67392-b7a7-462a-b1ca-108dd189f588',
    kmsId: '58e2134f-8e11-4d17-9cb2-91069c151148',
    cmid: '5691e769-a787-4611-95ac-e803f190b895',
    nPolicy: 25,
    clientTime: 134400685670000000n,
    cmidPrev: '00000000-0000-0000-0000-000000000000',
    workstationName: 'lab-client',
    ...fields
  }
}

/** What `run` throws; fails the test when it throws nothing. */
function thrown(run: () => unknown): unknown {
  try {
    run()
  } catch (err) {
    return err
  }
  throw new Error('expected an error, nothing was thrown')
}

export function decodeErrorOf(run: () => unknown): ProtocolDecodeError {
  const err = thrown(run)
  expect(err).toBeInstanceOf(ProtocolDecodeError)
  return err as ProtocolDecodeError
}

export function encodeErrorOf(run: () => unknown): ProtocolEncodeError {
  const err = thrown(run)
  expect(err).toBeInstanceOf(ProtocolEncodeError)
  return err as ProtocolEncodeError
}
