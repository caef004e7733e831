/**
 * Errors of the protocol layer.
 *
 * Every failure to decode bytes that came from the network is a `ProtocolDecodeError`: it names the field
 * (spec names, see docs/protocol.md) and the byte offset where decoding stopped, so a technician can
 * find the bad byte in a capture. Decoders never let a RangeError/TypeError from a typed-array access escape.
 *
 * `ProtocolEncodeError` is for the opposite direction: the caller asked us to encode a value the wire format
 * cannot carry (an ePID longer than 63 characters, a u16 field above 65535, …). That is a programming or
 * configuration error of the caller, never caused by remote input.
 */

export class ProtocolDecodeError extends Error {
  override readonly name = 'ProtocolDecodeError'
  /** The field being decoded, e.g. `frag_length`, `bind.p_cont_id`, `KmsPID`. */
  readonly field: string
  /** Byte offset (from the start of the buffer handed to the decoder) where the problem was found. */
  readonly offset: number
  /** The reason without the field/offset prefix. */
  readonly detail: string

  constructor(field: string, offset: number, detail: string) {
    super(`${field} at offset ${offset}: ${detail}`)
    this.field = field
    this.offset = offset
    this.detail = detail
  }
}

export class ProtocolEncodeError extends Error {
  override readonly name = 'ProtocolEncodeError'
  readonly field: string

  constructor(field: string, detail: string) {
    super(`cannot encode ${field}: ${detail}`)
    this.field = field
  }
}
