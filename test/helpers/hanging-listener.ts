/**
 * A TCP listener on a loopback address that accepts connections and never answers — a hung KMS host. It
 * records when each accepted socket is closed by the client, so tests can see that a cancelled attempt really
 * closed its connection (waiting on events, not on time).
 */
import { once } from 'node:events'
import { createServer, type Socket } from 'node:net'

export interface HangingListener {
  readonly address: string
  readonly port: number
  /** Connections accepted so far. */
  readonly accepted: () => number
  /** Connections the client has closed so far. */
  readonly closedByClient: () => number
  /** Resolves once `n` accepted connections have been closed by the client. */
  waitForClosed(n: number): Promise<void>
  close(): Promise<void>
}

export async function startHangingListener(address: string): Promise<HangingListener> {
  const sockets = new Set<Socket>()
  let accepted = 0
  let closed = 0
  const waiters: Array<{ n: number; resolve: () => void }> = []
  const server = createServer((socket) => {
    accepted++
    sockets.add(socket)
    socket.on('error', () => {})
    // 'end' = the client closed its side; 'close' also covers resets.
    socket.once('close', () => {
      sockets.delete(socket)
      closed++
      for (const w of [...waiters]) {
        if (closed >= w.n) {
          waiters.splice(waiters.indexOf(w), 1)
          w.resolve()
        }
      }
    })
    socket.on('end', () => socket.end())
    socket.resume()
  })
  server.listen(0, address)
  await once(server, 'listening')
  const bound = server.address()
  if (bound === null || typeof bound === 'string') throw new Error('no TCP address')
  return {
    address,
    port: bound.port,
    accepted: () => accepted,
    closedByClient: () => closed,
    waitForClosed: (n) => (closed >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })
  }
}
