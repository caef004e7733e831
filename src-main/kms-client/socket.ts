/**
 * Socket plumbing for the KMS client: connect one address with a time limit, and read whole PDUs from the TCP
 * stream (PduFramer: never one PDU per read) with a time limit and an AbortSignal on every wait, so no await in
 * the client can hang.
 */
import { connect as netConnect, type Socket } from 'node:net'
import { PduFramer, ProtocolDecodeError } from '../protocol'
import { KmsQueryError, socketErrorOf, type KmsQueryPhase } from './errors'

/**
 * Largest PDU the client accepts. Equal to the protocol layer's client limit (MAX_CLIENT_PDU_LENGTH in
 * session/call-outcome, not exported from the protocol index): a KMS reply is at most ~312 bytes, a bind_ack
 * with a long sec_addr a little more.
 */
const CLIENT_MAX_PDU_LENGTH = 4096

export interface ConnectTarget {
  host: string
  port: number
  family: 4 | 6
}

/** Opens a TCP connection (net.connect by default; tests inject one that never connects). */
export type ConnectFunction = (target: ConnectTarget) => Socket

export const defaultConnect: ConnectFunction = (target) => netConnect({ host: target.host, port: target.port, family: target.family })

function abortError(phase: KmsQueryPhase, address: string | undefined): KmsQueryError {
  return new KmsQueryError('aborted', phase, `query aborted during the ${phase} phase`, { address })
}

export function timeoutError(phase: KmsQueryPhase, ms: number, address: string | undefined): KmsQueryError {
  const what: Record<KmsQueryPhase, string> = {
    setup: 'setting up',
    resolve: 'resolving the host name',
    connect: 'connecting (no answer to the TCP connection request)',
    bind: 'waiting for the RPC bind_ack (the host accepted the connection but did not answer the bind)',
    request: 'waiting for the KMS response'
  }
  return new KmsQueryError('timeout', phase, `timed out after ${ms} ms ${what[phase]}${address ? ` (${address})` : ''}`, {
    address,
    timeoutMs: ms
  })
}

/**
 * Races `start` against a timer and the signal. `start` gets settle callbacks and returns a cleanup function
 * that is always called once the race is decided.
 */
export function bounded<T>(
  phase: KmsQueryPhase,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  address: string | undefined,
  start: (resolve: (value: T) => void, reject: (error: KmsQueryError) => void) => () => void,
  /** the limit to name in the timeout error (the phase's limit when this wait is its remainder) */
  reportedLimitMs: number = timeoutMs
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(phase, address))
      return
    }
    let done = false
    let cleanup: () => void = () => {}
    const finish = (settle: () => void): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      cleanup()
      settle()
    }
    const onAbort = (): void => finish(() => reject(abortError(phase, address)))
    const timer = setTimeout(
      () => finish(() => reject(timeoutError(phase, Math.max(0, Math.round(reportedLimitMs)), address))),
      Math.max(0, timeoutMs)
    )
    signal?.addEventListener('abort', onAbort, { once: true })
    cleanup = start(
      (value) => finish(() => resolve(value)),
      (error) => finish(() => reject(error))
    )
    // `start` may have settled synchronously before `cleanup` was assigned.
    if (done) cleanup()
  })
}

/** Connects to one address; rejects with a typed connect-phase error. The socket is destroyed on failure. */
export function connectAddress(
  connect: ConnectFunction,
  target: ConnectTarget,
  timeoutMs: number,
  signal: AbortSignal | undefined
): Promise<Socket> {
  const socket = connect(target)
  // A permanent listener: an 'error' after we stopped listening must never crash the process.
  socket.on('error', () => {})
  return bounded<Socket>('connect', timeoutMs, signal, target.host, (resolve, reject) => {
    const onConnect = (): void => resolve(socket)
    const onError = (error: Error): void => reject(socketErrorOf(error, 'connect', target.host))
    const onClose = (): void =>
      reject(
        new KmsQueryError('connection-closed', 'connect', `${target.host}: the connection closed while connecting`, {
          address: target.host
        })
      )
    socket.once('connect', onConnect)
    socket.once('error', onError)
    socket.once('close', onClose)
    return () => {
      socket.off('connect', onConnect)
      socket.off('error', onError)
      socket.off('close', onClose)
    }
  }).catch((error: unknown) => {
    socket.destroy()
    throw error
  })
}

type Failure = (phase: KmsQueryPhase) => KmsQueryError

/** How the connection ended: the host closed or reset it, or anything else (bad bytes, socket error). */
type FailureKind = 'closed' | 'other'

/**
 * A connected socket as a queue of whole PDUs. Data, end, close and error events are recorded as they come;
 * `next()` hands out PDUs in order and, once the queue is empty, the connection's failure (closed, reset, or a
 * framing error that lost sync with the stream) — named with the phase of the caller.
 */
export class PduChannel {
  private readonly framer = new PduFramer(CLIENT_MAX_PDU_LENGTH)
  private readonly queue: Uint8Array[] = []
  private failure: Failure | undefined
  private failureKind: FailureKind | undefined
  private received = 0
  private wake: (() => void) | undefined

  constructor(
    private readonly socket: Socket,
    private readonly address: string
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('end', () =>
      this.fail(
        'closed',
        (phase) =>
          new KmsQueryError('connection-closed', phase, `${address}: the host closed the connection without answering (${phase} phase)`, {
            address
          })
      )
    )
    socket.on('close', () =>
      this.fail(
        'closed',
        (phase) =>
          new KmsQueryError('connection-closed', phase, `${address}: the connection closed without an answer (${phase} phase)`, { address })
      )
    )
    socket.on('error', (error: Error) => {
      const osCode = (error as NodeJS.ErrnoException).code
      // A reset is how a host that already closed its socket answers bytes sent to it.
      this.fail(osCode === 'ECONNRESET' || osCode === 'EPIPE' ? 'closed' : 'other', (phase) => socketErrorOf(error, phase, address))
    })
  }

  /** True once the host closed or reset the connection or the stream lost sync. */
  get failed(): boolean {
    return this.failure !== undefined
  }

  /** Bytes received from the host so far (to tell whether it had started an answer when it closed). */
  get bytesReceived(): number {
    return this.received
  }

  /**
   * True when the host closed or reset the connection and nothing it sent is left unread: no queued PDU, no
   * partial PDU. (False for a framing error, a timeout or any other socket error.)
   */
  get closedByHost(): boolean {
    return this.failureKind === 'closed' && this.queue.length === 0 && this.framer.pendingBytes === 0
  }

  write(pdu: Uint8Array): void {
    if (this.failure !== undefined) return // next() reports the failure
    this.socket.write(pdu)
  }

  /** The next whole PDU from the host, within `timeoutMs` (`phaseLimitMs` is named in a timeout error). */
  next(phase: KmsQueryPhase, timeoutMs: number, signal: AbortSignal | undefined, phaseLimitMs: number = timeoutMs): Promise<Uint8Array> {
    return bounded<Uint8Array>(
      phase,
      timeoutMs,
      signal,
      this.address,
      (resolve, reject) => {
        const check = (): boolean => {
          const pdu = this.queue.shift()
          if (pdu !== undefined) resolve(pdu)
          else if (this.failure !== undefined) reject(this.failure(phase))
          else return false
          return true
        }
        if (!check()) this.wake = check
        return () => {
          this.wake = undefined
        }
      },
      phaseLimitMs
    )
  }

  close(): void {
    this.socket.destroy()
  }

  private onData(chunk: Buffer): void {
    if (this.failure !== undefined) return
    this.received += chunk.byteLength
    try {
      for (const pdu of this.framer.push(chunk)) this.queue.push(pdu)
    } catch (error) {
      if (!(error instanceof ProtocolDecodeError)) throw error
      // framer.error is set too: handled below
    }
    // A bad header after whole PDUs: the framer returned those PDUs and kept the error. The queued PDUs are
    // still handed out first; the failure follows them, so the caller fails as soon as it needs more.
    const bad = this.framer.error
    if (bad !== undefined) {
      // The stream cannot be resynchronised after a bad header: stop reading and report it.
      this.fail(
        'other',
        (phase) =>
          new KmsQueryError(
            'protocol-violation',
            phase,
            `${this.address}: the host sent bytes that are not a DCE/RPC PDU: ${bad.message}`,
            { address: this.address, field: bad.field, offset: bad.offset }
          )
      )
      this.socket.destroy()
    }
    this.wake?.()
  }

  private fail(kind: FailureKind, failure: Failure): void {
    if (this.failure === undefined) {
      this.failure = failure
      this.failureKind = kind
    }
    this.wake?.()
  }
}
