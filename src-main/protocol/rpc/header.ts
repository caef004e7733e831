/**
 * The 16-byte common header of every connection-oriented DCE/RPC PDU (docs/protocol.md §2.1), and framing: how many
 * bytes a PDU needs, validated before anything is read or allocated from `frag_length`.
 */
import { ByteReader } from '../bytes'
import { ProtocolDecodeError } from '../errors'
import { DREP_LE_ASCII_IEEE, RPC_HEADER_LENGTH } from './constants'

export interface RpcHeader {
  /** rpc_vers (5) */
  rpcVers: number
  /** rpc_vers_minor (0) */
  rpcVersMinor: number
  /** PTYPE */
  ptype: number
  /** pfc_flags */
  pfcFlags: number
  /** packed_drep as a little-endian u32 (`10 00 00 00` → 0x10) */
  drep: number
  /** frag_length: total PDU length including this header */
  fragLength: number
  /** auth_length (0 for KMS) */
  authLength: number
  /** call_id */
  callId: number
}

/** Reads the header fields; only checks that 16 bytes are there. */
export function decodeRpcHeader(bytes: Uint8Array): RpcHeader {
  const r = new ByteReader(bytes)
  r.need(RPC_HEADER_LENGTH, 'rpc_header')
  return {
    rpcVers: r.u8('rpc_vers'),
    rpcVersMinor: r.u8('rpc_vers_minor'),
    ptype: r.u8('PTYPE'),
    pfcFlags: r.u8('pfc_flags'),
    drep: r.u32('packed_drep'),
    fragLength: r.u16('frag_length'),
    authLength: r.u16('auth_length'),
    callId: r.u32('call_id')
  }
}

/**
 * Validates what a receiver must check before trusting the rest of a PDU: RPC version 5.0, little-endian/ASCII/
 * IEEE data representation, and `16 ≤ frag_length ≤ maxFragLength`. Throws ProtocolDecodeError.
 */
export function checkRpcHeader(h: RpcHeader, maxFragLength: number): void {
  if (h.rpcVers !== 5) throw new ProtocolDecodeError('rpc_vers', 0, `RPC version ${h.rpcVers} is not 5`)
  if (h.rpcVersMinor !== 0) throw new ProtocolDecodeError('rpc_vers_minor', 1, `RPC minor version ${h.rpcVersMinor} is not 0`)
  if (h.drep !== DREP_LE_ASCII_IEEE) {
    throw new ProtocolDecodeError(
      'packed_drep',
      4,
      `data representation 0x${h.drep.toString(16).padStart(8, '0')} is not little-endian/ASCII/IEEE (0x00000010)`
    )
  }
  if (h.fragLength < RPC_HEADER_LENGTH)
    throw new ProtocolDecodeError('frag_length', 8, `frag_length ${h.fragLength} is shorter than the 16-byte header`)
  if (h.fragLength > maxFragLength)
    throw new ProtocolDecodeError('frag_length', 8, `frag_length ${h.fragLength} exceeds the limit of ${maxFragLength}`)
}

/**
 * Framing: given the first bytes received (at least the header, more is fine), returns the total length of the
 * PDU they start, after validating the header with `checkRpcHeader`. Returns undefined while fewer than 16 bytes
 * are available. Throws ProtocolDecodeError for a header that must not be trusted; the caller should close.
 */
export function pduLength(prefix: Uint8Array, maxFragLength: number): number | undefined {
  if (prefix.byteLength < RPC_HEADER_LENGTH) return undefined
  const h = decodeRpcHeader(prefix)
  checkRpcHeader(h, maxFragLength)
  return h.fragLength
}

/**
 * Splits a byte stream into whole PDUs (docs/protocol.md §1.1: never assume one PDU per read). Pure and incremental:
 * `push` the bytes as they arrive and get back the complete PDUs. Buffers at most one PDU of at most `maxFragLength`
 * bytes; the header is validated before its length is used, so a hostile frag_length cannot make it allocate more.
 *
 * A header that must not be trusted ends the stream (it has lost sync; the caller should close the connection):
 * - if `push` already split whole PDUs off that chunk, it returns them (they arrived before the bad header and
 *   are valid on their own) and records the failure in `error`; the caller must check `error` after handling
 *   them;
 * - otherwise `push` throws the ProtocolDecodeError at once (and `error` is set too).
 * Once `error` is set, every later `push` throws that same error and frames nothing more.
 */
export class PduFramer {
  private chunks: Uint8Array[] = []
  private buffered = 0
  private failed: ProtocolDecodeError | undefined

  constructor(private readonly maxFragLength: number) {}

  /**
   * Number of bytes received that were not returned as a PDU: the start of a PDU still incomplete or, once
   * `error` is set, the bytes from the bad header on (which will never be framed).
   */
  get pendingBytes(): number {
    return this.buffered
  }

  /** Why the stream was given up (the bad header), or undefined while the stream is healthy. */
  get error(): ProtocolDecodeError | undefined {
    return this.failed
  }

  push(chunk: Uint8Array): Uint8Array[] {
    if (this.failed) throw this.failed
    if (chunk.byteLength > 0) {
      this.chunks.push(chunk)
      this.buffered += chunk.byteLength
    }
    const out: Uint8Array[] = []
    for (;;) {
      if (this.buffered < RPC_HEADER_LENGTH) break
      const head = this.take(RPC_HEADER_LENGTH, false)
      let need: number | undefined
      try {
        need = pduLength(head, this.maxFragLength)
      } catch (err) {
        if (!(err instanceof ProtocolDecodeError)) throw err
        this.failed = err
        // Nothing after a bad header is ever framed: drop the bytes but keep counting them in pendingBytes.
        this.chunks = []
        if (out.length === 0) throw err
        return out
      }
      if (need === undefined || this.buffered < need) break
      out.push(this.take(need, true))
    }
    return out
  }

  /** Copies the first `n` buffered bytes (n ≤ buffered), removing them if `consume`. */
  private take(n: number, consume: boolean): Uint8Array {
    const out = new Uint8Array(n)
    let filled = 0
    let i = 0
    while (filled < n) {
      const c = this.chunks[i]!
      const part = Math.min(c.byteLength, n - filled)
      out.set(c.subarray(0, part), filled)
      filled += part
      if (consume) {
        if (part === c.byteLength) {
          this.chunks.shift()
        } else {
          this.chunks[0] = c.subarray(part)
          i++
        }
      } else {
        i++
      }
    }
    if (consume) this.buffered -= n
    return out
  }
}
