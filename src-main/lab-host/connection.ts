/**
 * One lab-host connection: bytes in → PduFramer → KmsHostSession → replies out, with the per-connection limits.
 * Socket-agnostic (the transport is anything with write/end/destroy/pause/resume, e.g. a net.Socket), so the
 * hostile-input tests drive exactly this code without sockets.
 *
 * Rules (docs/lab-host.md):
 * - PDUs are handled strictly one after another; a KMS call is answered only after the client log has stored it,
 *   and PDUs that arrive meanwhile wait (the socket is paused once a few are queued, so a pipelining client
 *   cannot make us buffer without bound).
 * - Backpressure: when a reply cannot be handed to the OS at once (the client does not read), reading stops and
 *   no further PDU is answered until the transport drains — a client that never reads cannot make the host buffer
 *   replies; the deadline closes it.
 * - Anything the session refuses to parse, a broken frame header, a PDU above maxPduBytes or more than
 *   maxPdusPerConnection PDUs closes this connection (destroy, no reply). Every exception is caught here and
 *   closes only this connection.
 * - Deadline: the timer is (re)started whenever the connection becomes idle (after connecting and after each
 *   reply with nothing pending). Bytes arriving do not extend it, so a client trickling a PDU byte by byte is
 *   closed ('deadline') just like one that sends nothing ('idle').
 * - Graceful stop (`drain`): an idle connection closes now; one in the middle of an exchange finishes it first.
 */
import { PduFramer, ProtocolDecodeError, KmsHostSession, type HostStep, type KmsHostSessionOptions } from '../protocol/index'
import type { LabHostCloseReason } from './events'
import { LogWriteError, type LabHostResponder } from './responder'

export interface ConnectionTransport {
  write(bytes: Uint8Array): unknown
  /** close after what was written has been sent */
  end(): unknown
  destroy(): unknown
  pause(): unknown
  resume(): unknown
  /** bytes written but not yet handed to the OS (net.Socket has it); lets a finished connection close at once */
  readonly writableLength?: number
  /** net.Socket's: called once what was written has been handed to the OS (after write() returned false) */
  once?(event: 'drain', listener: () => void): unknown
}

/** The deadline timer: `restart` arms it for the full period, `stop` disarms it; it calls `expire()` when due. */
export interface ConnectionDeadline {
  restart(): void
  stop(): void
}

export interface ConnectionOptions {
  maxPduBytes: number
  maxPdusPerConnection: number
  session: KmsHostSessionOptions
  /** asked before each KMS call is answered (the per-address request rate); false closes the connection unanswered */
  admitCall?: () => boolean
}

/** Whole PDUs waiting while a call is answered; above this the socket is paused. */
const QUEUE_HIGH_WATER = 8

export type ConnectionState = 'open' | 'closing' | 'closed'

export class LabHostConnection {
  private readonly framer: PduFramer
  private readonly session: KmsHostSession
  private queue: Uint8Array[] = []
  private queueHead = 0
  private busy = false
  private paused = false
  /** the transport's buffer is full (the client does not read): nothing more is read or answered until it drains */
  private awaitingDrain = false
  private draining = false
  private peerEnded = false
  private connectionState: ConnectionState = 'open'
  /** a bad frame header after whole PDUs in the same chunk: those PDUs are answered first, then the connection closes */
  private framingError: Error | undefined
  /** set once, by whatever closed the connection first */
  closeReason: LabHostCloseReason | undefined
  closeDetail = ''
  /** request PDUs seen (answered, refused or faulted) */
  requests = 0
  pdus = 0

  constructor(
    private readonly transport: ConnectionTransport,
    private readonly responder: LabHostResponder,
    readonly clientAddress: string,
    private readonly options: ConnectionOptions,
    private readonly deadline: ConnectionDeadline
  ) {
    this.framer = new PduFramer(options.maxPduBytes)
    this.session = new KmsHostSession(options.session)
    deadline.restart()
  }

  get state(): ConnectionState {
    return this.connectionState
  }

  /** In the middle of an exchange: part of a PDU received, PDUs queued, or a call being answered. */
  get inFlight(): boolean {
    return this.busy || this.queueHead < this.queue.length || this.framer.pendingBytes > 0
  }

  receive(chunk: Uint8Array): void {
    if (this.connectionState !== 'open' || this.framingError) return
    let pdus: Uint8Array[]
    try {
      pdus = this.framer.push(chunk)
    } catch (err) {
      this.abort(framingReason(err, this.options.maxPduBytes), err instanceof Error ? err.message : String(err))
      return
    }
    this.framingError = this.framer.error
    if (pdus.length === 0) return
    for (const pdu of pdus) this.queue.push(pdu)
    if (!this.paused && this.queue.length - this.queueHead > QUEUE_HIGH_WATER) {
      this.paused = true
      this.transport.pause()
    }
    if (!this.busy && !this.awaitingDrain) this.pump()
  }

  /** The client half-closed: finish what was received, then close. */
  endOfInput(): void {
    this.peerEnded = true
    if (this.connectionState === 'open' && !this.busy && this.queueHead >= this.queue.length) this.settle()
  }

  /** The deadline passed. */
  expire(): void {
    if (this.connectionState === 'closed') return
    if (this.connectionState === 'closing') {
      // We ended our side but the client never closed its own: stop waiting.
      this.abort(this.closeReason ?? 'idle', this.closeDetail)
      return
    }
    if (this.inFlight) this.abort('deadline', 'the exchange did not complete within the deadline')
    else this.abort('idle', 'no request within the deadline')
  }

  /** Graceful stop: close when the current exchange (if any) is done. */
  drain(): void {
    this.draining = true
    if (this.connectionState === 'open' && !this.inFlight) this.finish('stopping', 'host stopping')
  }

  /** Closes at once (socket destroyed, nothing more sent). */
  abort(reason: LabHostCloseReason, detail: string): void {
    if (this.connectionState === 'closed') return
    this.closeReason ??= reason
    if (this.closeDetail === '') this.closeDetail = detail
    this.connectionState = 'closed'
    this.queue = []
    this.queueHead = 0
    this.deadline.stop()
    try {
      this.transport.destroy()
    } catch {
      // nothing left to do for this connection
    }
  }

  /** Notes a transport-level reason (socket error) if nothing else closed the connection first. */
  noteReason(reason: LabHostCloseReason, detail: string): void {
    this.closeReason ??= reason
    if (this.closeDetail === '') this.closeDetail = detail
  }

  /** Ends our side after the written replies; the deadline still bounds how long we wait for the client. */
  private finish(reason: LabHostCloseReason, detail: string): void {
    if (this.connectionState !== 'open') return
    this.closeReason ??= reason
    if (this.closeDetail === '') this.closeDetail = detail
    this.connectionState = 'closing'
    this.deadline.restart()
    try {
      this.transport.end()
    } catch (err) {
      this.abort('reset', err instanceof Error ? err.message : String(err))
    }
  }

  /** Writes a reply; if the transport cannot take it at once, stops reading until it has drained. */
  private send(reply: Uint8Array): void {
    if (this.transport.write(reply) !== false || this.transport.once === undefined || this.awaitingDrain) return
    this.awaitingDrain = true
    this.transport.pause()
    this.transport.once('drain', () => {
      this.awaitingDrain = false
      if (this.connectionState !== 'open') return
      if (!this.paused) this.transport.resume()
      if (!this.busy) this.pump()
    })
  }

  private pump(): void {
    while (this.connectionState === 'open' && !this.awaitingDrain && this.queueHead < this.queue.length) {
      const pdu = this.queue[this.queueHead++]!
      if (++this.pdus > this.options.maxPdusPerConnection) {
        this.abort('pdu-limit', `more than ${this.options.maxPdusPerConnection} PDUs on one connection`)
        return
      }
      const startedAt = performance.now()
      let step: HostStep
      try {
        step = this.session.receive(pdu)
      } catch (err) {
        this.abort('internal-error', `protocol session threw: ${err instanceof Error ? err.message : String(err)}`)
        return
      }
      if (step.kind === 'close') {
        this.abort('malformed', step.reason)
        return
      }
      if (step.kind === 'call') {
        this.requests++
        if (this.options.admitCall !== undefined && !this.options.admitCall()) {
          this.abort('rate-limit', 'more requests per second from this address than allowed')
          return
        }
        let pending: Promise<Uint8Array>
        try {
          pending = this.responder.answer(step.call, this.session, this.clientAddress, startedAt)
        } catch (err) {
          this.abort('internal-error', `answering failed: ${err instanceof Error ? err.message : String(err)}`)
          return
        }
        this.waitFor(pending)
        return
      }
      if (step.refused) {
        this.requests++
        let result: Uint8Array | Promise<Uint8Array>
        try {
          const refused = step.refused
          result = this.responder.refusal(
            pdu,
            step.reply,
            refused,
            this.session.acceptedContexts.get(refused.contextId),
            this.clientAddress,
            startedAt
          )
        } catch (err) {
          this.abort('internal-error', `logging a refusal failed: ${err instanceof Error ? err.message : String(err)}`)
          return
        }
        if (result instanceof Uint8Array) {
          this.send(result)
          continue
        }
        this.waitFor(result)
        return
      }
      if (step.fault) {
        this.requests++
        this.responder.fault(step.fault.status, step.fault.reason, this.clientAddress)
      }
      this.send(step.reply)
    }
    if (this.connectionState !== 'open' || this.awaitingDrain) return
    this.queue = []
    this.queueHead = 0
    if (this.paused) {
      this.paused = false
      this.transport.resume()
    }
    this.settle()
  }

  private waitFor(pending: Promise<Uint8Array>): void {
    this.busy = true
    pending.then(
      (reply) => {
        this.busy = false
        if (this.connectionState !== 'open') return
        this.send(reply)
        this.pump()
      },
      (err: unknown) => {
        this.busy = false
        if (err instanceof LogWriteError) this.abort('log-failed', err.message)
        else this.abort('internal-error', err instanceof Error ? err.message : String(err))
      }
    )
  }

  /** Nothing queued and nothing being answered: decide what the connection does next. */
  private settle(): void {
    if (this.framingError) {
      this.abort(framingReason(this.framingError, this.options.maxPduBytes), this.framingError.message)
      return
    }
    if (this.peerEnded) {
      const detail = this.framer.pendingBytes > 0 ? 'client closed in the middle of a PDU' : 'client closed'
      // The client has closed its side and every reply is with the OS: close now (the OS still delivers the
      // replies) instead of a half-close round trip.
      if (this.transport.writableLength === 0) this.abort('client-closed', detail)
      else this.finish('client-closed', detail)
      return
    }
    if (this.framer.pendingBytes > 0) return
    if (this.draining) {
      this.finish('stopping', 'host stopping')
      return
    }
    this.deadline.restart()
  }
}

function framingReason(err: unknown, maxPduBytes: number): LabHostCloseReason {
  // The framer reports both "shorter than the header" and "exceeds the limit" on frag_length; only the message
  // tells them apart (a machine-readable code in ProtocolDecodeError would be better).
  if (err instanceof ProtocolDecodeError && err.field === 'frag_length' && err.message.includes(`limit of ${maxPduBytes}`))
    return 'oversize'
  return 'malformed'
}
