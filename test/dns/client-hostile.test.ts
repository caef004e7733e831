/**
 * The DNS client against a scripted server that misbehaves. Every test is bounded by the client's own
 * per-attempt timeout (short here); none asserts durations.
 */
import { Buffer } from 'node:buffer'
import { createSocket } from 'node:dgram'
import { afterEach, describe, expect, it } from 'vitest'
import { createDnsClient, type DnsClientOptions } from '../../src-main/dns/client'
import { lookupSrv } from '../../src-main/dns/srv-lookup'
import { dnsError, tracedDnsClient } from '../helpers/dns-client'
import {
  buildReply,
  frameTcp,
  replyHeaderAndQuestion,
  srvAnswer,
  startFakeDnsServer,
  type FakeDnsServer,
  type TcpHandler,
  type UdpHandler
} from '../helpers/fake-dns-server'

const NAME = '_vlmcs._tcp.corp.test'
/** Tests that expect a reply use a generous timeout (a slow machine must not fail them); tests that expect a
 * timeout use a short one so they finish quickly. */
const REPLY_TIMEOUT_MS = 5000
const TIMEOUT_MS = 250

const servers: FakeDnsServer[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

const client = (servers: string[], options: Partial<DnsClientOptions> = {}) =>
  tracedDnsClient(servers, { timeoutMs: REPLY_TIMEOUT_MS, ...options })

async function fake(udp: UdpHandler, tcp?: TcpHandler): Promise<FakeDnsServer> {
  const server = await startFakeDnsServer(tcp ? { udp, tcp } : { udp })
  servers.push(server)
  return server
}

const goodAnswer = [srvAnswer(NAME, 'kms1.corp.test', 1688, 0, 10)]
const tcBit = 0x8000 | 0x0200 | 0x0100 | 0x0080

/** UDP handler that always answers with TC set and no records. */
const truncatedUdp: UdpHandler = (q) => [buildReply(q, { flags: 0x0200 | 0x0100 | 0x0080 })]

describe('well-behaved replies', () => {
  it('uses the injected RNG for the message ID and accepts the matching reply', async () => {
    const server = await fake((q) => [buildReply(q, { answers: goodAnswer })])
    const { dns, events } = client([server.spec], { random: () => Uint8Array.from([0xab, 0xcd]) })
    const answer = await dns.query(NAME, 'SRV')
    expect(server.queries[0]?.id).toBe(0xabcd)
    expect(answer).toMatchObject({ rcode: 'NOERROR', server: server.spec, transport: 'udp', id: 0xabcd })
    expect(answer.answers).toEqual([{ name: NAME, ttl: 60, type: 'SRV', priority: 0, weight: 10, port: 1688, target: 'kms1.corp.test' }])
    expect(events.map((e) => e.kind)).toEqual(['dns-query', 'dns-reply'])
    expect(events[1]).toMatchObject({ kind: 'dns-reply', rcode: 'NOERROR', answers: 1, truncated: false, server: server.spec })
  })

  it('treats NXDOMAIN as an answer and does not ask the next server', async () => {
    const first = await fake((q) => [buildReply(q, { rcode: 3 })])
    const second = await fake((q) => [buildReply(q, { answers: goodAnswer })])
    const { dns } = client([first.spec, second.spec])
    const answer = await dns.query(NAME, 'SRV')
    expect(answer.rcode).toBe('NXDOMAIN')
    expect(second.queries).toHaveLength(0)
  })

  it('treats NOERROR without records as an answer', async () => {
    const first = await fake((q) => [buildReply(q)])
    const second = await fake((q) => [buildReply(q, { answers: goodAnswer })])
    const answer = await client([first.spec, second.spec]).dns.query(NAME, 'SRV')
    expect(answer).toMatchObject({ rcode: 'NOERROR', answers: [] })
    expect(second.queries).toHaveLength(0)
  })
})

describe('replies that are not ours are ignored, the right one is still accepted', () => {
  it('wrong ID first, then the right one', async () => {
    const server = await fake((q) => [
      buildReply(q, { id: (q.id + 1) & 0xffff, answers: goodAnswer }),
      buildReply(q, { answers: goodAnswer })
    ])
    const { dns, events } = client([server.spec])
    const answer = await dns.query(NAME, 'SRV')
    expect(answer.answers).toHaveLength(1)
    const ignored = events.filter((e) => e.kind === 'dns-ignored')
    expect(ignored).toHaveLength(1)
    expect(ignored[0]).toMatchObject({ reason: expect.stringMatching(/does not match our query ID/) })
  })

  it('empty datagram, garbage, an echoed query and answers for another name, then the right one', async () => {
    const server = await fake((q) => [
      Buffer.alloc(0),
      Buffer.from('not dns at all, just bytes'),
      q.raw,
      buildReply(q, {
        questions: [{ name: '_vlmcs._tcp.evil.test', type: 'SRV', class: 'IN' }],
        answers: [srvAnswer('_vlmcs._tcp.evil.test', 'evil.test')]
      }),
      buildReply(q, { answers: goodAnswer })
    ])
    const { dns, events } = client([server.spec])
    const answer = await dns.query(NAME, 'SRV')
    expect(answer.answers[0]).toMatchObject({ target: 'kms1.corp.test' })
    const reasons = events.filter((e) => e.kind === 'dns-ignored').map((e) => (e.kind === 'dns-ignored' ? e.reason : ''))
    expect(reasons).toHaveLength(4)
    expect(reasons[0]).toMatch(/shorter than a DNS header/)
    expect(reasons[2]).toMatch(/QR bit is 0/)
    expect(reasons[3]).toMatch(/question is for _vlmcs\._tcp\.evil\.test/)
  })

  it('only answers for another name → timeout after every attempt, each attempt with a fresh ID', async () => {
    const server = await fake((q) => [
      buildReply(q, { questions: [{ name: 'other.test', type: 'SRV', class: 'IN' }], answers: [srvAnswer('other.test', 'x.test')] })
    ])
    const error = await dnsError(client([server.spec], { timeoutMs: TIMEOUT_MS }).dns.query(NAME, 'SRV'))
    expect(error.code).toBe('timeout')
    expect(error.failures.map((f) => f.code)).toEqual(['timeout', 'timeout'])
    expect(server.queries).toHaveLength(2)
    expect(server.queries[0]!.id).not.toBe(server.queries[1]!.id)
  })

  it('SRV records owned by another name inside our reply are not used', async () => {
    const server = await fake((q) => [buildReply(q, { answers: [srvAnswer('_vlmcs._tcp.evil.test', 'evil.test')] })])
    const error = await dnsError(lookupSrv(client([server.spec]).dns, NAME, { resolveAddresses: false }))
    expect(error.code).toBe('nodata')
  })

  it('a silent server → timeout', async () => {
    const server = await fake(() => [])
    const error = await dnsError(client([server.spec], { timeoutMs: TIMEOUT_MS }).dns.query(NAME, 'SRV'))
    expect(error.code).toBe('timeout')
    expect(error.message).toMatch(new RegExp(`${server.spec} \\(udp\\): no valid reply within ${TIMEOUT_MS} ms \\(×2\\)`))
  })
})

describe('hostile replies that match our query → named errors', () => {
  const malformedCases: Array<[string, (q: Parameters<UdpHandler>[0]) => Buffer, RegExp]> = [
    [
      'compression loop in an answer name',
      (q) => Buffer.concat([replyHeaderAndQuestion(q, { an: 1 }), Buffer.from([0xc0, q.raw.length])]),
      /not to earlier data \(a pointer loop\)/
    ],
    [
      'record truncated inside its data',
      (q) => Buffer.concat([replyHeaderAndQuestion(q, { an: 1 }), Buffer.from([0xc0, 12, 0, 33, 0, 1, 0, 0, 0, 60, 0, 40, 0, 0])]),
      /RDLENGTH says 40 bytes/
    ],
    ['answer count 65535', (q) => replyHeaderAndQuestion(q, { an: 65535 }), /answer record 1 of 65535/],
    [
      'additional count 65535 after a valid answer',
      (q) => Buffer.concat([replyHeaderAndQuestion(q, { an: 0, ar: 65535 }), Buffer.alloc(20)]),
      /additional record/
    ]
  ]
  it.each(malformedCases)('%s', async (_label, make, reason) => {
    const server = await fake((q) => [make(q)])
    const error = await dnsError(client([server.spec]).dns.query(NAME, 'SRV'))
    expect(error.code).toBe('malformed')
    expect(error.failures[0]?.message).toMatch(reason)
    expect(server.queries).toHaveLength(1) // a malformed reply sends us to the next server, not to a retry
  })

  it('a malformed reply moves on to the next server', async () => {
    const bad = await fake((q) => [Buffer.concat([replyHeaderAndQuestion(q, { an: 1 }), Buffer.from([0xc0, q.raw.length])])])
    const good = await fake((q) => [buildReply(q, { answers: goodAnswer })])
    const { dns, events } = client([bad.spec, good.spec])
    const answer = await dns.query(NAME, 'SRV')
    expect(answer.server).toBe(good.spec)
    expect(events.find((e) => e.kind === 'dns-next-server')).toMatchObject({ from: bad.spec, to: good.spec, reason: 'malformed' })
  })

  it('SERVFAIL → next server', async () => {
    const failing = await fake((q) => [buildReply(q, { rcode: 2 })])
    const good = await fake((q) => [buildReply(q, { answers: goodAnswer })])
    const { dns, events } = client([failing.spec, good.spec])
    expect((await dns.query(NAME, 'SRV')).server).toBe(good.spec)
    expect(failing.queries).toHaveLength(1)
    expect(events.find((e) => e.kind === 'dns-failure')).toMatchObject({ code: 'servfail', server: failing.spec })
  })

  it('REFUSED from every server → DnsError refused listing each server', async () => {
    const a = await fake((q) => [buildReply(q, { rcode: 5 })])
    const b = await fake((q) => [buildReply(q, { rcode: 5, questions: [] })])
    const error = await dnsError(client([a.spec, b.spec]).dns.query(NAME, 'SRV'))
    expect(error.code).toBe('refused')
    expect(error.rcode).toBe('REFUSED')
    expect(error.failures.map((f) => f.server)).toEqual([a.spec, b.spec])
    expect(error.message).toContain(a.spec)
    expect(error.message).toContain(b.spec)
  })

  it('an unreachable UDP port → network error, next server', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const s = createSocket('udp4')
      s.bind(0, '127.0.0.1', () => {
        const port = s.address().port
        s.close(() => resolve(port))
      })
    })
    const good = await fake((q) => [buildReply(q, { answers: goodAnswer })])
    const { dns, events } = client([`127.0.0.1:${closedPort}`, good.spec])
    const answer = await dns.query(NAME, 'SRV')
    expect(answer.server).toBe(good.spec)
    const failure = events.find((e) => e.kind === 'dns-failure')
    expect(failure).toMatchObject({ server: `127.0.0.1:${closedPort}` })
    // Linux reports the ICMP port-unreachable as ECONNREFUSED on a connected socket; elsewhere it may time out.
    expect(['network', 'timeout']).toContain(failure?.kind === 'dns-failure' ? failure.code : '')
  })
})

describe('TC set → TCP, and hostile TCP servers', () => {
  it('retries over TCP on the same server and returns the TCP answer', async () => {
    const server = await fake(truncatedUdp, (q, socket) => socket.end(frameTcp(buildReply(q, { answers: goodAnswer }))))
    const { dns, events } = client([server.spec])
    const answer = await dns.query(NAME, 'SRV')
    expect(answer).toMatchObject({ transport: 'tcp', server: server.spec })
    expect(answer.answers).toHaveLength(1)
    expect(server.queries.map((q) => q.transport)).toEqual(['udp', 'tcp'])
    expect(server.queries[1]!.id).toBe(server.queries[0]!.id)
    expect(events.map((e) => e.kind)).toEqual(['dns-query', 'dns-reply', 'dns-tcp-fallback', 'dns-query', 'dns-reply'])
    expect(events[1]).toMatchObject({ truncated: true, transport: 'udp' })
  })

  it('TCP stream: a wrong-ID message, then ours, split across writes', async () => {
    const server = await fake(truncatedUdp, (q, socket) => {
      const wrong = frameTcp(buildReply(q, { id: (q.id + 7) & 0xffff }))
      const right = frameTcp(buildReply(q, { answers: goodAnswer }))
      const all = Buffer.concat([wrong, right])
      socket.write(all.subarray(0, 5))
      socket.write(all.subarray(5, wrong.length + 3))
      socket.end(all.subarray(wrong.length + 3))
    })
    const { dns, events } = client([server.spec])
    expect((await dns.query(NAME, 'SRV')).transport).toBe('tcp')
    expect(events.filter((e) => e.kind === 'dns-ignored')).toHaveLength(1)
  })

  const tcpCases: Array<[string, TcpHandler, Partial<DnsClientOptions>, string, RegExp]> = [
    [
      'garbage then close',
      (_q, s) => s.end(frameTcp(Buffer.from('garbage garbage garbage'))),
      {},
      'network',
      /closed the TCP connection without a reply/
    ],
    [
      'unframed garbage then close',
      (_q, s) => s.end(Buffer.from([0x00, 0x40, 1, 2, 3])),
      {},
      'malformed',
      /middle of a message \(3 of 64 bytes/
    ],
    [
      'a huge length, then silence (connection left open)',
      (_q, s) => s.write(Buffer.from([0xff, 0xff, 1, 2, 3])),
      { timeoutMs: TIMEOUT_MS },
      'timeout',
      /no valid reply/
    ],
    [
      'a length above our cap',
      (_q, s) => s.write(Buffer.from([0xff, 0xff, 1, 2, 3])),
      { maxTcpMessageBytes: 4096 },
      'malformed',
      /announced a 65535-byte TCP message; the limit is 4096/
    ],
    ['closes at once', (_q, s) => s.end(), {}, 'network', /closed the TCP connection without a reply/],
    ['half a length prefix then close', (_q, s) => s.end(Buffer.from([0x00])), {}, 'malformed', /1 byte of the 2-byte length prefix/],
    [
      'a reply with TC set again',
      (q, s) => s.end(frameTcp(buildReply(q, { flags: 0x0200 }))),
      {},
      'malformed',
      /TC \(truncated\) flag set/
    ],
    [
      'endless wrong-ID messages',
      (q, s) => s.write(Buffer.concat(Array.from({ length: 40 }, (_, i) => frameTcp(buildReply(q, { id: (q.id + 1 + i) & 0xffff }))))),
      {},
      'malformed',
      /16 TCP messages in a row did not answer our message/
    ],
    [
      'a compression loop',
      (q, s) => s.end(frameTcp(Buffer.concat([replyHeaderAndQuestion(q, { an: 1 }, tcBit & ~0x0200), Buffer.from([0xc0, q.raw.length])]))),
      {},
      'malformed',
      /pointer loop/
    ]
  ]
  it.each(tcpCases)('%s', async (_label, tcp, options, code, reason) => {
    const server = await fake(truncatedUdp, tcp)
    const error = await dnsError(client([server.spec], { attempts: 1, ...options }).dns.query(NAME, 'SRV'))
    expect(error.code).toBe(code)
    expect(error.failures.at(-1)).toMatchObject({ transport: 'tcp' })
    expect(error.failures.at(-1)?.message).toMatch(reason)
  })
})

describe('inputs and cancellation', () => {
  it('refuses to run without servers (no public fallback)', () => {
    expect(() => createDnsClient({ servers: [] })).toThrow(expect.objectContaining({ code: 'no-servers' }))
  })

  it('rejects a bad server spec when the client is created', () => {
    expect(() => createDnsClient({ servers: ['dns.example'] })).toThrow(/host name, not an IP address/)
  })

  it('rejects an invalid name before sending anything', async () => {
    const server = await fake((q) => [buildReply(q)])
    const { dns } = client([server.spec])
    expect((await dnsError(dns.query(`${'a'.repeat(64)}.test`, 'A'))).code).toBe('invalid-name')
    expect((await dnsError(dns.query('a..test', 'A'))).code).toBe('invalid-name')
    expect((await dnsError(dns.query('bad name.test', 'A'))).code).toBe('invalid-name')
    expect(server.queries).toHaveLength(0)
  })

  it('stops when aborted', async () => {
    let reached: () => void = () => {}
    const arrived = new Promise<void>((resolve) => (reached = resolve))
    const server = await fake(() => {
      reached()
      return []
    })
    const { dns } = client([server.spec], { timeoutMs: 10_000 })
    const controller = new AbortController()
    const pending = dns.query(NAME, 'SRV', { signal: controller.signal })
    await arrived // abort once the query has reached the server
    controller.abort()
    expect((await dnsError(pending)).code).toBe('aborted')
  })
})
