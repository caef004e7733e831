/**
 * The update transport (./src-main/dns/update-transport.ts) against a scriptable server on 127.0.0.1: the
 * choice of UDP or TCP, the fall-back to TCP on a truncated answer, and the bounds it shares with the lookups'
 * transport — a TCP connection that delivers only messages that are not our answer is given up after a fixed
 * number of them, and a message too large for DNS is never sent.
 */
import { Buffer } from 'node:buffer'
import { afterEach, describe, expect, it } from 'vitest'
import { MAX_IGNORED_TCP_MESSAGES } from '../../src-main/dns/exchange'
import { parseDnsServer } from '../../src-main/dns/server-spec'
import { encodeSrvUpdate, OPCODE_UPDATE, type SrvData } from '../../src-main/dns/update'
import { exchangeUpdateMessage } from '../../src-main/dns/update-transport'
import { frameTcp, startFakeDnsServer, type FakeDnsServer, type ReceivedQuery } from '../helpers/fake-dns-server'

let server: FakeDnsServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

/** An UPDATE of `_vlmcs._tcp.corp.test` adding `records` hosts (about 40 bytes each). */
function update(id: number, records: number): Buffer {
  const add: SrvData[] = Array.from({ length: records }, (_, i) => ({ priority: 0, weight: 0, port: 1688, target: `kms${i}.corp.test` }))
  return encodeSrvUpdate({ id, zone: 'corp.test', name: '_vlmcs._tcp.corp.test', remove: [], add, ttl: 300 })
}

/** The server's answer to `query`: header only, QR and the UPDATE opcode set, with `flags` added. */
function answer(query: ReceivedQuery, flags = 0, id = query.id): Buffer {
  const bytes = Buffer.alloc(12)
  bytes.writeUInt16BE(id, 0)
  bytes.writeUInt16BE(0x8000 | (OPCODE_UPDATE << 11) | flags, 2)
  return bytes
}

const TRUNCATED = 0x0200
const REFUSED = 5

describe('update transport', () => {
  it('sends a small update over UDP and reads the answer’s RCODE', async () => {
    server = await startFakeDnsServer({ udp: (q) => [answer(q, REFUSED)] })
    const outcome = await exchangeUpdateMessage({
      server: parseDnsServer(server.spec),
      message: update(11, 1),
      id: 11,
      opcode: OPCODE_UPDATE,
      timeoutMs: 5000
    })
    expect(outcome).toMatchObject({ kind: 'reply', transport: 'udp', reply: { header: { rcode: REFUSED, truncated: false } } })
    expect(server.queries.map((q) => q.transport)).toEqual(['udp'])
  })

  it('asks again over TCP when the UDP answer is truncated, and keeps the TCP answer’s bytes', async () => {
    let tcpAnswer: Buffer | undefined
    server = await startFakeDnsServer({
      udp: (q) => [answer(q, TRUNCATED)],
      tcp: (q, socket) => {
        tcpAnswer = answer(q)
        socket.write(frameTcp(tcpAnswer))
      }
    })
    const outcome = await exchangeUpdateMessage({
      server: parseDnsServer(server.spec),
      message: update(12, 1),
      id: 12,
      opcode: OPCODE_UPDATE,
      timeoutMs: 5000
    })
    expect(server.queries.map((q) => q.transport)).toEqual(['udp', 'tcp'])
    expect(outcome).toMatchObject({ kind: 'reply', transport: 'tcp', reply: { header: { rcode: 0, truncated: false } } })
    if (outcome.kind === 'reply') expect(outcome.reply.bytes.equals(tcpAnswer!)).toBe(true)
  })

  it('sends an update larger than a 512-byte datagram over TCP at once', async () => {
    server = await startFakeDnsServer({ udp: (q) => [answer(q)], tcp: (q, socket) => socket.write(frameTcp(answer(q))) })
    const message = update(13, 20)
    expect(message.length).toBeGreaterThan(512)
    const outcome = await exchangeUpdateMessage({
      server: parseDnsServer(server.spec),
      message,
      id: 13,
      opcode: OPCODE_UPDATE,
      timeoutMs: 5000
    })
    expect(outcome).toMatchObject({ kind: 'reply', transport: 'tcp' })
    expect(server.queries.map((q) => q.transport)).toEqual(['tcp'])
  })

  it('gives up on a TCP connection that sends only messages that are not our answer, before its timeout', async () => {
    let sent = 0
    server = await startFakeDnsServer({
      tcp: (q, socket) => {
        // wrong IDs, far more than the cap, and never the answer; the exchange's timeout is 60 s
        for (let i = 1; i <= 4 * MAX_IGNORED_TCP_MESSAGES; i++, sent++) socket.write(frameTcp(answer(q, 0, (q.id + i) & 0xffff)))
      }
    })
    const outcome = await exchangeUpdateMessage({
      server: parseDnsServer(server.spec),
      message: update(14, 20),
      id: 14,
      opcode: OPCODE_UPDATE,
      timeoutMs: 60_000
    })
    expect(sent).toBe(4 * MAX_IGNORED_TCP_MESSAGES)
    expect(outcome).toEqual({ kind: 'malformed', reason: `${MAX_IGNORED_TCP_MESSAGES} TCP messages in a row did not answer our message` })
  })

  it('refuses a message too large for DNS without sending it', async () => {
    server = await startFakeDnsServer({ udp: (q) => [answer(q)], tcp: (q, socket) => socket.write(frameTcp(answer(q))) })
    const message = Buffer.alloc(65_536)
    const outcome = await exchangeUpdateMessage({
      server: parseDnsServer(server.spec),
      message,
      id: 15,
      opcode: OPCODE_UPDATE,
      timeoutMs: 5000
    })
    expect(outcome).toEqual({ kind: 'network', reason: 'a 65536-byte message is too large for DNS' })
    expect(server.queries).toEqual([])
  })
})
