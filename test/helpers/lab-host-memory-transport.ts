/**
 * An in-process stand-in for an accepted socket, for `LabHost.acceptTransport()`: the test pushes bytes in and sees
 * what the host wrote, with net.Socket's event order ('data'…, 'end', 'close' once). Lets the hostile-input test
 * run the server's own per-connection code path hundreds of thousands of times without the kernel.
 */
import { EventEmitter } from 'node:events'
import type { LabHostTransport } from '../../src-main/lab-host/lab-host'

let nextPort = 40_000

export class MemoryTransport extends EventEmitter implements LabHostTransport {
  readonly remoteAddress = '127.0.0.2'
  readonly remotePort: number
  readonly localPort = 1688
  /** everything the host wrote, in order */
  readonly written: Uint8Array[] = []
  paused = false
  /** what write() returns: false plays a client that does not read (the socket's buffer is full) */
  accepting = true
  /** 'end' = the host ended its side after flushing; 'destroy' = the host destroyed the connection */
  closedBy: 'end' | 'destroy' | undefined
  /** resolves after 'close' was emitted */
  readonly closed: Promise<void>
  private isClosed = false

  constructor() {
    super()
    this.remotePort = nextPort = nextPort >= 65_000 ? 40_000 : nextPort + 1
    this.closed = new Promise((resolve) => this.once('close', () => resolve()))
  }

  write(bytes: Uint8Array): boolean {
    if (this.isClosed) throw new Error('write after close')
    this.written.push(bytes)
    this.emit('written', this.written.length)
    return this.accepting
  }

  /** The client reads again: the buffer empties and 'drain' is emitted, like net.Socket. */
  drain(): void {
    this.accepting = true
    this.emit('drain')
  }

  end(): void {
    this.close('end')
  }

  destroy(): void {
    this.close('destroy')
  }

  pause(): void {
    this.paused = true
  }

  resume(): void {
    this.paused = false
  }

  /** Resolves once the host has written `count` PDUs in all. */
  writtenCount(count: number): Promise<void> {
    if (this.written.length >= count) return Promise.resolve()
    return new Promise((resolve) => {
      const check = (n: number): void => {
        if (n < count) return
        this.off('written', check)
        resolve()
      }
      this.on('written', check)
    })
  }

  /** The client sends bytes (ignored once closed, like a socket whose reader is gone). */
  push(chunk: Uint8Array): void {
    if (!this.isClosed) this.emit('data', chunk)
  }

  /** The client half-closes. */
  finish(): void {
    if (!this.isClosed) this.emit('end')
  }

  private close(how: 'end' | 'destroy'): void {
    if (this.isClosed) return
    this.isClosed = true
    this.closedBy = how
    // like net.Socket: 'close' comes asynchronously
    setImmediate(() => this.emit('close', false))
  }
}
