import { Buffer } from 'node:buffer'
import * as dnsPacket from 'dns-packet'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { encodeQuery, inspectReply, type ExpectedReply } from '../../src-main/dns/wire'

const expected: ExpectedReply = { id: 0x1234, qname: '_vlmcs._tcp.corp.test', qtype: 'SRV' }

function reply(parts: Partial<dnsPacket.Packet> & { rcode?: number } = {}): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id: parts.id ?? expected.id,
    flags: (parts.flags ?? dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE) | (parts.rcode ?? 0),
    questions: parts.questions ?? [{ name: expected.qname, type: 'SRV', class: 'IN' }],
    answers: parts.answers ?? [],
    authorities: parts.authorities ?? [],
    additionals: parts.additionals ?? []
  })
}

/** Header (ID, QR|RD|RA) + our question, with the given record counts; records appended by the caller. */
function head(an: number, ns = 0, ar = 0): Buffer {
  const query = encodeQuery({ id: expected.id, qname: expected.qname, qtype: 'SRV' })
  query.writeUInt16BE(0x8180, 2)
  query.writeUInt16BE(an, 6)
  query.writeUInt16BE(ns, 8)
  query.writeUInt16BE(ar, 10)
  return query
}

const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff])
const u32 = (n: number): Buffer => Buffer.from([n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff])
/** A pointer to the question name (at offset 12). */
const PTR_QNAME = Buffer.from([0xc0, 12])

describe('encodeQuery', () => {
  it('builds a classic recursive query with one question and no records', () => {
    const bytes = encodeQuery({ id: 0xbeef, qname: '_vlmcs._tcp.corp.test', qtype: 'SRV' })
    const packet = dnsPacket.decode(bytes)
    expect(packet.id).toBe(0xbeef)
    expect(packet.flag_qr).toBe(false)
    expect(packet.flag_rd).toBe(true)
    expect(packet.questions).toEqual([{ name: '_vlmcs._tcp.corp.test', type: 'SRV', class: 'IN' }])
    expect(packet.additionals).toEqual([])
  })

  it('adds an EDNS(0) OPT record only when asked', () => {
    const packet = dnsPacket.decode(encodeQuery({ id: 1, qname: 'a.test', qtype: 'A', ednsUdpPayloadSize: 1232 }))
    expect(packet.additionals).toHaveLength(1)
    expect(packet.additionals?.[0]).toMatchObject({ type: 'OPT', udpPayloadSize: 1232 })
  })
})

describe('inspectReply — accepting', () => {
  it('decodes SRV, A, AAAA and CNAME records with TTLs', () => {
    const verdict = inspectReply(
      reply({
        flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED,
        answers: [
          {
            name: expected.qname,
            type: 'SRV',
            class: 'IN',
            ttl: 600,
            data: { priority: 10, weight: 60, port: 1688, target: 'kms1.corp.test' }
          }
        ],
        additionals: [
          { name: 'kms1.corp.test', type: 'A', class: 'IN', ttl: 300, data: '127.0.0.2' },
          { name: 'kms1.corp.test', type: 'AAAA', class: 'IN', ttl: 300, data: '::1' },
          { name: 'alias.corp.test', type: 'CNAME', class: 'IN', ttl: 30, data: 'kms1.corp.test' }
        ]
      }),
      expected
    )
    expect(verdict.kind).toBe('answer')
    if (verdict.kind !== 'answer') return
    expect(verdict.message.authoritative).toBe(true)
    expect(verdict.message.answers).toEqual([
      { name: expected.qname, ttl: 600, type: 'SRV', priority: 10, weight: 60, port: 1688, target: 'kms1.corp.test' }
    ])
    expect(verdict.message.additionals).toEqual([
      { name: 'kms1.corp.test', ttl: 300, type: 'A', address: '127.0.0.2' },
      { name: 'kms1.corp.test', ttl: 300, type: 'AAAA', address: '::1' },
      { name: 'alias.corp.test', ttl: 30, type: 'CNAME', target: 'kms1.corp.test' }
    ])
  })

  it('matches the question name case-insensitively', () => {
    const verdict = inspectReply(reply({ questions: [{ name: '_VLMCS._TCP.Corp.Test', type: 'SRV', class: 'IN' }] }), expected)
    expect(verdict.kind).toBe('answer')
  })

  it('treats NXDOMAIN as an answer', () => {
    const verdict = inspectReply(reply({ rcode: 3 }), expected)
    expect(verdict).toMatchObject({ kind: 'answer', message: { rcode: 'NXDOMAIN', answers: [] } })
  })

  it('reports TC without decoding the (possibly cut) body', () => {
    const bytes = Buffer.concat([head(5), Buffer.from([0xc0])]) // body cut mid-record, as a truncating server may
    bytes.writeUInt16BE(0x8380, 2) // QR RD RA + TC
    expect(inspectReply(bytes, expected)).toMatchObject({ kind: 'truncated', rcode: 'NOERROR' })
  })

  it('reports SERVFAIL / REFUSED / FORMERR as RCODE failures', () => {
    expect(inspectReply(reply({ rcode: 2 }), expected)).toMatchObject({ kind: 'rcode-failure', rcode: 'SERVFAIL' })
    expect(inspectReply(reply({ rcode: 5 }), expected)).toMatchObject({ kind: 'rcode-failure', rcode: 'REFUSED' })
    expect(inspectReply(reply({ rcode: 1 }), expected)).toMatchObject({ kind: 'rcode-failure', rcode: 'FORMERR' })
  })

  it('accepts an error RCODE without a question section (servers do that), never data without one', () => {
    expect(inspectReply(reply({ rcode: 5, questions: [] }), expected)).toMatchObject({ kind: 'rcode-failure', rcode: 'REFUSED' })
    expect(inspectReply(reply({ questions: [] }), expected)).toMatchObject({ kind: 'ignore' })
  })

  it('counts a TTL with the top bit set as 0 (RFC 2181)', () => {
    const bytes = Buffer.concat([head(1), PTR_QNAME, u16(33), u16(1), u32(0x80000000), u16(7), u16(0), u16(0), u16(1688), Buffer.from([0])])
    const verdict = inspectReply(bytes, expected)
    expect(verdict).toMatchObject({ kind: 'answer', message: { answers: [{ type: 'SRV', ttl: 0, target: '.' }] } })
  })

  it('skips records whose names contain a dot inside a label (ambiguous as text)', () => {
    const dotted = Buffer.concat([Buffer.from([8]), Buffer.from('kms1.bad'), Buffer.from([0])])
    const bytes = Buffer.concat([head(1), PTR_QNAME, u16(33), u16(1), u32(60), u16(6 + dotted.length), u16(0), u16(0), u16(1688), dotted])
    const verdict = inspectReply(bytes, expected)
    expect(verdict.kind).toBe('answer')
    if (verdict.kind !== 'answer') return
    expect(verdict.message.answers).toEqual([])
    expect(verdict.message.skipped[0]).toMatch(/contains a "\." byte/)
  })

  it('keeps records of other types and classes as OTHER without decoding them', () => {
    const bytes = Buffer.concat([
      head(2),
      PTR_QNAME,
      u16(16),
      u16(1),
      u32(5),
      u16(3),
      Buffer.from([2, 0x68, 0x69]),
      PTR_QNAME,
      u16(33),
      u16(3),
      u32(5),
      u16(1),
      Buffer.from([0xff])
    ])
    expect(inspectReply(bytes, expected)).toMatchObject({
      kind: 'answer',
      message: {
        answers: [
          { type: 'OTHER', rrtype: 16, rrclass: 1 },
          { type: 'OTHER', rrtype: 33, rrclass: 3 }
        ]
      }
    })
  })
})

describe('inspectReply — ignoring what is not our reply', () => {
  it.each([
    ['an empty datagram', Buffer.alloc(0), /shorter than a DNS header/],
    ['a short datagram', Buffer.from([0x12, 0x34, 0x81]), /shorter than a DNS header/],
    ['a wrong ID', reply({ id: 0x4321 }), /ID 17185 does not match our query ID 4660/],
    ['a query (QR=0)', encodeQuery({ id: expected.id, qname: expected.qname, qtype: 'SRV' }), /QR bit is 0/],
    [
      'another name',
      reply({ questions: [{ name: '_vlmcs._tcp.evil.test', type: 'SRV', class: 'IN' }] }),
      /question is for _vlmcs\._tcp\.evil\.test/
    ],
    ['another type', reply({ questions: [{ name: expected.qname, type: 'A', class: 'IN' }] }), /type 1/],
    ['another class', reply({ questions: [{ name: expected.qname, type: 'SRV', class: 'CH' }] }), /class 3/],
    [
      'two questions',
      reply({
        questions: [
          { name: expected.qname, type: 'SRV', class: 'IN' },
          { name: expected.qname, type: 'SRV', class: 'IN' }
        ]
      }),
      /2 questions/
    ]
  ])('%s', (_label, bytes, reason) => {
    const verdict = inspectReply(bytes, expected)
    expect(verdict.kind).toBe('ignore')
    if (verdict.kind === 'ignore') expect(verdict.reason).toMatch(reason)
  })

  it('a question name with a compression loop', () => {
    const bytes = Buffer.from([0x12, 0x34, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 33, 0, 1])
    expect(inspectReply(bytes, expected)).toMatchObject({ kind: 'ignore', reason: expect.stringMatching(/pointer loop/) })
  })

  it('a question count of 65535', () => {
    const bytes = head(0)
    bytes.writeUInt16BE(0xffff, 4)
    expect(inspectReply(bytes, expected)).toMatchObject({ kind: 'ignore', reason: expect.stringMatching(/65535 questions/) })
  })

  it('a non-QUERY opcode', () => {
    const bytes = reply()
    bytes.writeUInt16BE(0x8000 | (4 << 11), 2)
    expect(inspectReply(bytes, expected)).toMatchObject({ kind: 'ignore', reason: expect.stringMatching(/opcode 4/) })
  })
})

describe('inspectReply — our reply, but malformed', () => {
  it.each([
    [
      'a self-referencing pointer in an answer name',
      Buffer.concat([head(1), Buffer.from([0xc0, 0x27])]),
      /points to offset 39, not to earlier data/
    ],
    [
      'a two-pointer loop (forward pointer)',
      // answer name at 39: pointer to 41; at 41: pointer back to 39
      Buffer.concat([head(1), Buffer.from([0xc0, 41, 0xc0, 39])]),
      /pointer loop/
    ],
    [
      'an answer count of 65535 with one record',
      Buffer.concat([head(65535), PTR_QNAME, u16(1), u16(1), u32(1), u16(4), Buffer.from([127, 0, 0, 2])]),
      /answer record 2 of 65535/
    ],
    ['a record cut inside its fixed fields', Buffer.concat([head(1), PTR_QNAME, u16(33), u16(1)]), /cut off/],
    [
      'an RDLENGTH beyond the message',
      Buffer.concat([head(1), PTR_QNAME, u16(33), u16(1), u32(60), u16(40), u16(0), u16(0)]),
      /RDLENGTH says 40 bytes but only 4 remain/
    ],
    [
      'an A record of 5 bytes',
      Buffer.concat([head(1), PTR_QNAME, u16(1), u16(1), u32(60), u16(5), Buffer.from([127, 0, 0, 2, 9])]),
      /A record must hold 4 bytes/
    ],
    [
      'an AAAA record of 4 bytes',
      Buffer.concat([head(1), PTR_QNAME, u16(28), u16(1), u32(60), u16(4), Buffer.from([127, 0, 0, 2])]),
      /AAAA record must hold 16 bytes/
    ],
    [
      'an SRV record too short for its target',
      Buffer.concat([head(1), PTR_QNAME, u16(33), u16(1), u32(60), u16(6), u16(0), u16(0), u16(1688)]),
      /SRV data is too short/
    ],
    [
      'an SRV target running past RDLENGTH',
      Buffer.concat([
        head(1),
        PTR_QNAME,
        u16(33),
        u16(1),
        u32(60),
        u16(9),
        u16(0),
        u16(0),
        u16(1688),
        Buffer.from([4, 0x6b, 0x6d, 0x73, 0x31, 0])
      ]),
      /target label at offset \d+ runs past the end of its record/
    ],
    [
      'bytes left over after an SRV target',
      Buffer.concat([head(1), PTR_QNAME, u16(33), u16(1), u32(60), u16(9), u16(0), u16(0), u16(1688), Buffer.from([0, 7, 7])]),
      /2 unexplained bytes after the target name/
    ],
    ['a reserved label type', Buffer.concat([head(1), Buffer.from([0x40, 1])]), /unsupported label type 0x40/],
    [
      'a name longer than 255 bytes',
      Buffer.concat([
        head(1),
        ...Array.from({ length: 5 }, () => Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 0x61)])),
        Buffer.from([0])
      ]),
      /longer than 255 bytes/
    ],
    ['records missing from the authority section', Buffer.concat([head(0, 3)]), /authority record 1 of 3: the message ends/]
  ])('%s', (_label, bytes, reason) => {
    const verdict = inspectReply(bytes, expected)
    expect(verdict.kind).toBe('malformed')
    if (verdict.kind === 'malformed') expect(verdict.reason).toMatch(reason)
  })
})

const isU16 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffff

describe('inspectReply never throws', () => {
  it('on arbitrary bytes carrying our ID', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 600 }), (bytes) => {
        const buf = Buffer.from(bytes)
        if (buf.length >= 2) buf.writeUInt16BE(expected.id, 0)
        const verdict = inspectReply(buf, expected)
        expect(['ignore', 'truncated', 'rcode-failure', 'malformed', 'answer']).toContain(verdict.kind)
      }),
      { seed: 2871, numRuns: 3000 }
    )
  })

  it('on valid replies with random bytes overwritten (only the ID kept)', () => {
    const base = reply({
      answers: [
        {
          name: expected.qname,
          type: 'SRV',
          class: 'IN',
          ttl: 600,
          data: { priority: 0, weight: 5, port: 1688, target: 'kms1.corp.test' }
        },
        { name: expected.qname, type: 'SRV', class: 'IN', ttl: 600, data: { priority: 1, weight: 0, port: 1688, target: 'kms2.corp.test' } }
      ],
      additionals: [{ name: 'kms1.corp.test', type: 'A', class: 'IN', ttl: 300, data: '127.0.0.2' }]
    })
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: base.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.nat({ max: base.length }),
        (edits, cut) => {
          const buf = Buffer.from(base.subarray(0, Math.max(cut, 12)))
          for (const [at, value] of edits) if (at >= 2 && at < buf.length) buf[at] = value
          const verdict = inspectReply(buf, expected)
          expect(['ignore', 'truncated', 'rcode-failure', 'malformed', 'answer']).toContain(verdict.kind)
          if (verdict.kind === 'answer') {
            for (const record of [...verdict.message.answers, ...verdict.message.additionals]) {
              if (record.type === 'A') expect(record.address).toMatch(/^\d+\.\d+\.\d+\.\d+$/)
              if (record.type === 'SRV') {
                for (const field of [record.priority, record.weight, record.port]) expect(isU16(field), String(field)).toBe(true)
              }
            }
          }
        }
      ),
      { seed: 2872, numRuns: 5000 }
    )
  })
})
