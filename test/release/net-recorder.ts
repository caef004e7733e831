/**
 * Test instrumentation for the offline promise: records every outbound TCP connection, UDP send (and UDP connect)
 * and every use of the system resolver, at the node:net / node:dgram / node:dns level — below anything KMS Scout's
 * own code could route around. Loaded into a child process with
 *   node --import tsx --import ./test/release/net-recorder.ts out/main/cli.js …
 * and `KMS_SCOUT_NET_RECORD=<file>`: each event is appended to the file as one JSON line, synchronously, so the
 * CLI's explicit process.exit() cannot lose one. Without that variable, importing this module changes nothing.
 */
import { appendFileSync } from 'node:fs'
import dgram from 'node:dgram'
import dns from 'node:dns'
import net from 'node:net'

export interface NetEvent {
  /** tcp: a connect() was asked for; tcp-connected: the peer it reached; udp: a datagram sent; resolve: the OS resolver was asked */
  kind: 'tcp' | 'tcp-connected' | 'udp' | 'resolve' | 'ipc'
  host: string
  port?: number
  /** for 'resolve': which function */
  via?: string
}

type Recorder = (event: NetEvent) => void

/** Patches the prototypes and module functions every outbound path goes through; returns the undo. */
export function installNetRecorder(record: Recorder): () => void {
  const undo: Array<() => void> = []
  const patch = <T extends object, K extends keyof T>(target: T, key: K, wrap: (original: T[K]) => T[K]): void => {
    const original = target[key]
    target[key] = wrap(original)
    undo.push(() => {
      target[key] = original
    })
  }

  patch(
    net.Socket.prototype,
    'connect',
    (original) =>
      function (this: net.Socket, ...args: unknown[]) {
        const target = tcpTarget(args)
        if (target.kind === 'ipc') record(target)
        else {
          record(target)
          this.once('connect', () => record({ kind: 'tcp-connected', host: this.remoteAddress ?? '?', port: this.remotePort ?? 0 }))
        }
        return (original as (...a: unknown[]) => net.Socket).apply(this, args)
      } as typeof original
  )
  patch(
    dgram.Socket.prototype,
    'send',
    (original) =>
      function (this: dgram.Socket, ...args: unknown[]) {
        record({ kind: 'udp', ...udpTarget(this, args) })
        return (original as (...a: unknown[]) => void).apply(this, args)
      } as typeof original
  )
  patch(
    dgram.Socket.prototype,
    'connect',
    (original) =>
      function (this: dgram.Socket, ...args: unknown[]) {
        record({ kind: 'udp', host: typeof args[1] === 'string' ? args[1] : 'localhost', port: Number(args[0]) })
        return (original as (...a: unknown[]) => void).apply(this, args)
      } as typeof original
  )
  for (const [owner, prefix] of [
    [dns, 'dns'],
    [dns.promises, 'dns.promises']
  ] as const) {
    for (const name of ['lookup', 'lookupService'] as const) {
      patch(
        owner as Record<string, unknown>,
        name,
        (original) =>
          function (this: unknown, ...args: unknown[]) {
            record({ kind: 'resolve', host: String(args[0]), via: `${prefix}.${name}` })
            return (original as (...a: unknown[]) => unknown).apply(this, args)
          }
      )
    }
  }
  return () =>
    undo
      .splice(0)
      .reverse()
      .forEach((restore) => restore())
}

function tcpTarget(args: unknown[]): NetEvent {
  // net.connect() hands Socket#connect its normalised arguments as an array [options, callback].
  const first = Array.isArray(args[0]) ? args[0][0] : args[0]
  if (typeof first === 'object' && first !== null) {
    const options = first as { host?: string; port?: number | string; path?: string }
    if (typeof options.path === 'string') return { kind: 'ipc', host: options.path }
    return { kind: 'tcp', host: options.host ?? 'localhost', port: Number(options.port) }
  }
  if (typeof first === 'string' && !/^\d+$/.test(first)) return { kind: 'ipc', host: first }
  return { kind: 'tcp', host: typeof args[1] === 'string' ? args[1] : 'localhost', port: Number(first) }
}

function udpTarget(socket: dgram.Socket, args: unknown[]): { host: string; port: number } {
  // send(msg, offset, length, port, address) | send(msg, port, address) | send(msg) on a connected socket
  if (typeof args[1] === 'number' && typeof args[2] === 'number' && typeof args[3] === 'number') {
    return { host: typeof args[4] === 'string' ? args[4] : 'localhost', port: args[3] }
  }
  if (typeof args[1] === 'number') return { host: typeof args[2] === 'string' ? args[2] : 'localhost', port: args[1] }
  const peer = socket.remoteAddress()
  return { host: peer.address, port: peer.port }
}

const recordFile = process.env.KMS_SCOUT_NET_RECORD
if (recordFile !== undefined && recordFile !== '') {
  installNetRecorder((event) => appendFileSync(recordFile, `${JSON.stringify(event)}\n`))
}
