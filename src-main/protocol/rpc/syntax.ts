/**
 * Recognising and building presentation-context syntaxes (docs/protocol.md §2.2): the KMS interface, NDR32, NDR64 and
 * BTFN.
 */
import { guidToBytes, type Guid } from '../guid'
import {
  BTFN_PREFIX,
  BTFN_VERSION,
  KMS_INTERFACE,
  KMS_INTERFACE_VERSION,
  NDR32_SYNTAX,
  NDR32_VERSION,
  NDR64_SYNTAX,
  NDR64_VERSION
} from './constants'
import type { NdrSyntax } from './ndr'
import type { ContextElement, SyntaxId } from './pdu'

export type TransferSyntaxKind = NdrSyntax | 'btfn' | 'other'

export const NDR32: SyntaxId = { uuid: NDR32_SYNTAX, version: NDR32_VERSION }
export const NDR64: SyntaxId = { uuid: NDR64_SYNTAX, version: NDR64_VERSION }
const KMS_ABSTRACT_SYNTAX: SyntaxId = { uuid: KMS_INTERFACE, version: KMS_INTERFACE_VERSION }
export const NIL_SYNTAX: SyntaxId = { uuid: '00000000-0000-0000-0000-000000000000', version: 0 }

/** BTFN "transfer syntax" carrying the feature bitmask in the last 8 UUID bytes (little-endian). */
export function btfnSyntax(features: bigint): SyntaxId {
  const tail = new Uint8Array(8)
  new DataView(tail.buffer).setBigUint64(0, BigInt.asUintN(64, features), true)
  const hex = Array.from(tail, (b) => b.toString(16).padStart(2, '0')).join('')
  return { uuid: `${BTFN_PREFIX}-${hex.slice(0, 4)}-${hex.slice(4)}`, version: BTFN_VERSION }
}

/** The feature bitmask of a BTFN syntax UUID. */
export function btfnFeatures(uuid: Guid): bigint {
  const b = guidToBytes(uuid)
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(8, true)
}

/**
 * Classifies a transfer syntax. NDR32/NDR64 need their UUID and version; BTFN is recognised by its first 8 wire
 * bytes only (like vlmcsd), whatever the version and feature bits.
 */
export function transferSyntaxKind(s: SyntaxId): TransferSyntaxKind {
  const uuid = s.uuid.toLowerCase()
  if (uuid === NDR32_SYNTAX && s.version === NDR32_VERSION) return 'ndr32'
  if (uuid === NDR64_SYNTAX && s.version === NDR64_VERSION) return 'ndr64'
  if (uuid.startsWith(BTFN_PREFIX)) return 'btfn'
  return 'other'
}

/** True when an abstract syntax names the KMS interface, major version 1. */
export function isKmsInterface(s: SyntaxId): boolean {
  return s.uuid.toLowerCase() === KMS_INTERFACE && (s.version & 0xffff) === (KMS_INTERFACE_VERSION & 0xffff)
}

export function sameSyntax(a: SyntaxId, b: SyntaxId): boolean {
  return a.uuid.toLowerCase() === b.uuid.toLowerCase() && a.version === b.version
}

/** A context element for the KMS interface with one transfer syntax. */
export function kmsContext(contextId: number, transfer: SyntaxId): ContextElement {
  return { contextId, reserved: 0, abstractSyntax: KMS_ABSTRACT_SYNTAX, transferSyntaxes: [transfer] }
}
