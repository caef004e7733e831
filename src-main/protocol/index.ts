/**
 * Public API of the KMS protocol layer (pure: no sockets, clock or randomness inside).
 *
 * Transport code uses: PduFramer (split the TCP stream), KmsClientSession (client connection), KmsHostSession
 * (lab-host connection), makeBaseRequest / generateCmid (request values), productCatalog (product data),
 * generateEpid / generateHwid (host identity), and the typed outcomes and errors below.
 */

// errors and primitives
export { ProtocolDecodeError, ProtocolEncodeError } from './errors'
export { bytesEqual, concatBytes, fromHex, toHex } from './bytes'
export { guidFromBytes, guidToBytes, isGuid, normalizeGuid, NIL_GUID, type Guid } from './guid'
export { dateToFileTime, fileTimeToDate, formatFileTimeUtc, type FileTime } from './filetime'
export type { RandomSource } from './random'

// crypto (for diagnostics and tests)
export { v4Mac, V5_CIPHER, V6_CIPHER, v6HmacKey, v6TimeSlot, type KmsCipher } from './crypto/kms-crypto'

// DCE/RPC
export {
  CONTEXT_RESULT,
  DEFAULT_MAX_FRAG,
  KMS_INTERFACE,
  MAX_KMS_PDU_LENGTH,
  NCA_STATUS,
  ncaStatusName,
  NDR32_SYNTAX,
  NDR64_SYNTAX,
  PFC,
  PTYPE,
  REJECT_REASON
} from './rpc/constants'
export { checkRpcHeader, decodeRpcHeader, pduLength, PduFramer, type RpcHeader } from './rpc/header'
export {
  decodePdu,
  encodePdu,
  portSpecText,
  type BindAckPdu,
  type BindNakPdu,
  type BindPdu,
  type ContextElement,
  type ContextResult,
  type FaultPdu,
  type RequestPdu,
  type ResponsePdu,
  type RpcPdu,
  type SyntaxId
} from './rpc/pdu'
export { decodeRequestStub, decodeResponseStub, encodeRequestStub, encodeResponseStub, type NdrSyntax, type ResponseStub } from './rpc/ndr'

// KMS messages
export { decodeBaseRequest, decodeBaseResponse, encodeBaseRequest, encodeBaseResponse, WORKSTATION_NAME_MAX, type BaseRequest, type BaseResponse } from './kms/base'
export { buildKmsRequest, parseKmsRequest, type BuiltKmsRequest, type KmsRequestParseResult, type KmsRequestProblem, type ParsedKmsRequest } from './kms/request'
export {
  buildKmsResponse,
  DEFAULT_ACTIVATION_INTERVAL,
  DEFAULT_RENEWAL_INTERVAL,
  verifyKmsResponse,
  type DecodedKmsResponse,
  type HostAnswer,
  type KmsResponseVerification
} from './kms/response'
export type { CheckName, CheckResult, CheckStatus } from './kms/checks'
export { describeHresult, formatHresult, HRESULT } from './kms/hresult'
export { generateCmid, makeBaseRequest, type KmsRequestParams } from './kms/params'

// ePID, HwId, products
export { EPID_LCIDS, explainEpid, generateEpid, parseEpid, type EpidExplanation, type EpidFormatError, type EpidParts } from './epid'
export { formatHwid, generateHwid, parseHwid, VLMCSD_DEFAULT_HWID } from './hwid'
export {
  DEFAULT_PRODUCT_NAMES,
  ProductCatalog,
  productCatalog,
  type Application,
  type CsvlkGroup,
  type HostBuild,
  type KmsCountedId,
  type KmsProtocolVersion,
  type ProductLookup,
  type RequestIdentity,
  type Sku
} from './products'

// sessions
export { MAX_CLIENT_PDU_LENGTH, verifyResponsePdu, type KmsCallOutcome, type PendingCall } from './session/call-outcome'
export {
  KmsClientSession,
  type BoundInfo,
  type ClientSessionError,
  type ClientSessionState,
  type ClientStep,
  type KmsClientSessionOptions
} from './session/client'
export { BindReplyCache, KmsHostSession, type HostStep, type KmsCall, type KmsHostSessionOptions, type KmsRefusalProblem } from './session/host'
