/**
 * Public API of the KMS protocol layer (pure: no sockets, clock or randomness inside).
 *
 * Transport code uses: PduFramer (split the TCP stream), KmsClientSession (client connection), KmsHostSession
 * (lab-host connection), makeBaseRequest / generateCmid (request values), productCatalog (product data),
 * generateEpid / generateHwid (host identity), and the typed outcomes and errors below.
 */

// errors and primitives
export { ProtocolDecodeError, ProtocolEncodeError } from './errors'
export { concatBytes, toHex } from './bytes'
export { normalizeGuid, NIL_GUID, type Guid } from './guid'
export { dateToFileTime, fileTimeToDate, formatFileTimeUtc, type FileTime } from './filetime'
export type { RandomSource } from './random'

// crypto (for diagnostics and tests)
export { V5_CIPHER, V6_CIPHER } from './crypto/kms-crypto'

// DCE/RPC
export { CONTEXT_RESULT, MAX_KMS_PDU_LENGTH, NCA_STATUS, ncaStatusName, PTYPE } from './rpc/constants'
export { checkRpcHeader, decodeRpcHeader, PduFramer } from './rpc/header'
export { decodePdu, encodePdu, type BindAckPdu } from './rpc/pdu'
export { decodeRequestStub, encodeRequestStub, type NdrSyntax } from './rpc/ndr'

// KMS messages
export { decodeBaseRequest, encodeBaseRequest, WORKSTATION_NAME_MAX, type BaseRequest } from './kms/base'
export { buildKmsRequest } from './kms/request'
export type { DecodedKmsResponse, HostAnswer } from './kms/response'
export type { CheckName, CheckResult } from './kms/checks'
export { formatHresult, HRESULT } from './kms/hresult'
export { generateCmid, makeBaseRequest, type KmsRequestParams } from './kms/params'

// ePID, HwId, products
export { EPID_LCIDS, explainEpid, formEpid, generateEpid, parseEpid, type EpidParts } from './epid'
export { formatHwid, generateHwid, parseHwid, VLMCSD_DEFAULT_HWID } from './hwid'
export { ProductCatalog, productCatalog, type Csvlk, type KmsProtocolVersion, type RequestIdentity, type Sku } from './products'

// sessions
export { MAX_CLIENT_PDU_LENGTH, verifyResponsePdu, type KmsCallOutcome, type PendingCall } from './session/call-outcome'
export { KmsClientSession, type BoundInfo, type ClientSessionError, type ClientStep, type KmsClientSessionOptions } from './session/client'
export { BindReplyCache, KmsHostSession, type HostStep, type KmsCall, type KmsHostSessionOptions } from './session/host'
