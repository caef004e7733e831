/**
 * PduChannel over a real loopback connection: whole PDUs first, then the failure; `closedByHost` (what the
 * client's reconnect decision rests on) only for a clean close with nothing left unread; and a bad header after
 * a good PDU keeps the PDU and fails right after it.
 */
import { once } from 'node:events'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { concatBytes } from '../../src-main/protocol'
import { PduChannel } from '../../src-main/kms-client/socket'
import { loadPdu } from '../helpers/vectors'
import { queryError } from '../helpers/kms-query-error'

const servers: Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
})

/**
 * A server that sends `bytes` to each connection and then closes it (FIN). Returns the client socket wrapped
 * in a PduChannel, after the client saw the connection close (so every event has been recorded).
 */
async function channelAfter(bytes: Uint8Array): Promise<{ channel: PduChannel; socket: Socket }> {
  const server = createServer((s) => {
    s.on('error', () => {})
    s.end(bytes)
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  const socket = connect({ host: '127.0.0.1', port: address.port })
  socket.on('error', () => {})
  const channel = new PduChannel(socket, '127.0.0.1')
  await once(socket, 'close')
  return { channel, socket }
}

describe('PduChannel', () => {
  it('a whole PDU then a clean close: the PDU, then connection-closed; closedByHost once nothing is left', async () => {
    const pdu = loadPdu('v6-resp')
    const { channel } = await channelAfter(pdu)
    expect(channel.failed).toBe(true)
    expect(channel.bytesReceived).toBe(pdu.byteLength)
    // the PDU is still queued: not yet "closed with nothing unread"
    expect(channel.closedByHost).toBe(false)
    expect(await channel.next('request', 60_000, undefined)).toEqual(pdu)
    expect(channel.closedByHost).toBe(true)
    const error = await queryError(channel.next('request', 60_000, undefined))
    expect([error.code, error.phase]).toEqual(['connection-closed', 'request'])
  })

  it('a close in the middle of a PDU is not closedByHost', async () => {
    const pdu = loadPdu('v6-resp')
    const { channel } = await channelAfter(pdu.subarray(0, 100))
    expect(channel.bytesReceived).toBe(100)
    expect(channel.closedByHost).toBe(false)
    expect((await queryError(channel.next('request', 60_000, undefined))).code).toBe('connection-closed')
  })

  it('a bad header after a good PDU: the PDU is delivered, then protocol-violation; not closedByHost', async () => {
    const good = loadPdu('v6-bind-ack')
    const bad = Uint8Array.from(loadPdu('v6-req').subarray(0, 16))
    bad[8] = 0xff
    bad[9] = 0xff
    const { channel } = await channelAfter(concatBytes(good, bad))
    expect(await channel.next('bind', 60_000, undefined)).toEqual(good)
    const error = await queryError(channel.next('request', 60_000, undefined))
    expect([error.code, error.phase, error.details.field]).toEqual(['protocol-violation', 'request', 'frag_length'])
    expect(channel.closedByHost).toBe(false)
  })
})
