/**
 * DCE/RPC connection-oriented constants used by KMS (docs/protocol.md §2).
 */
import type { Guid } from '../guid'

/** PTYPE values (docs/protocol.md §2.1). */
export const PTYPE = {
  request: 0,
  response: 2,
  fault: 3,
  bind: 11,
  bindAck: 12,
  bindNak: 13,
  alterContext: 14,
  alterContextResp: 15
} as const

/** pfc_flags bits (docs/protocol.md §2.1). */
export const PFC = {
  firstFrag: 0x01,
  lastFrag: 0x02,
  pendingCancel: 0x04,
  reserved: 0x08,
  concMpx: 0x10,
  didNotExecute: 0x20,
  maybe: 0x40,
  objectUuid: 0x80
} as const
export const PFC_FIRST_LAST = PFC.firstFrag | PFC.lastFrag

/** packed_drep `10 00 00 00` read as a little-endian u32: little-endian integers, ASCII, IEEE floats. */
export const DREP_LE_ASCII_IEEE = 0x00000010

export const RPC_HEADER_LENGTH = 16

/** The KMS interface, version 1.0 (abstract syntax version u32: major in the low half, minor in the high half). */
export const KMS_INTERFACE: Guid = '51c82175-844e-4750-b0d8-ec255555bc06'
export const KMS_INTERFACE_VERSION = 0x00000001

export const NDR32_SYNTAX: Guid = '8a885d04-1ceb-11c9-9fe8-08002b104860'
export const NDR32_VERSION = 2
export const NDR64_SYNTAX: Guid = '71710533-beba-4937-8319-b5dbef9ccc36'
export const NDR64_VERSION = 1
/**
 * BTFN: the first 8 wire bytes (Data1–Data3) identify it; the last 8 carry the feature bitmask (docs/protocol.md §2.2).
 */
export const BTFN_PREFIX: Guid = '6cb71c2c-9812-4540'
export const BTFN_VERSION = 1
/** Bits vlmcs and py-kms request: security context multiplexing (1) | keep connection on orphan (2). */
export const BTFN_FEATURES_DEFAULT = 0x3n

/** p_cont_def_result_t values in a bind_ack / alter_context_resp (docs/protocol.md §2.3). */
export const CONTEXT_RESULT = {
  acceptance: 0,
  userRejection: 1,
  providerRejection: 2,
  negotiateAck: 3
} as const

/** Reasons for a provider rejection (docs/protocol.md §2.3). */
export const REJECT_REASON = {
  notSpecified: 0,
  abstractSyntaxNotSupported: 1,
  proposedTransferSyntaxesNotSupported: 2
} as const

/** NCA status codes carried by fault PDUs (docs/protocol.md §2.7, §8.2). */
export const NCA_STATUS = {
  opRangeError: 0x1c010002,
  unknownInterface: 0x1c010003,
  protocolError: 0x1c01000b
} as const

export function ncaStatusName(status: number): string | undefined {
  switch (status) {
    case NCA_STATUS.opRangeError:
      return 'nca_s_op_rng_error (operation number out of range)'
    case NCA_STATUS.unknownInterface:
      return 'nca_s_unk_if (unknown interface or presentation context)'
    case NCA_STATUS.protocolError:
      return 'nca_s_proto_error (RPC protocol error)'
    default:
      return undefined
  }
}

/** Largest legitimate KMS PDU: an NDR64 v6 request (docs/protocol.md §2.8). Hosts close on anything larger. */
export const MAX_KMS_PDU_LENGTH = 300

/** Default max_xmit_frag / max_recv_frag sent by vlmcs (docs/protocol.md §2.2). */
export const DEFAULT_MAX_FRAG = 5840
