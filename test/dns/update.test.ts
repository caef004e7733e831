/**
 * Dynamic update (RFC 2136) with TSIG (RFC 8945) against a real BIND 9 on 127.0.0.1: the key files tsig-keygen
 * writes, the UPDATE message on the wire, our signature accepted and BIND's verified (and a tampered answer
 * refused), and each refusal — REFUSED, BADSIG, BADKEY, BADTIME, no answer — reported with its meaning and fix.
 * Requires BIND 9 (`apt-get install -y bind9 bind9-dnsutils`).
 */
import { spawnSync } from 'node:child_process'
import { createSocket, type Socket } from 'node:dgram'
import { readFileSync } from 'node:fs'
import * as dnsPacket from 'dns-packet'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { KeyFileError, parseBindKeyFile } from '../../src-main/dns/bind-key-file'
import { parseDnsServer } from '../../src-main/dns/server-spec'
import { updateKmsSrv, type SrvUpdateRequest } from '../../src-main/dns/srv-publish'
import { readTsigRecord, signMessage, verifyAnswer, type TsigKey } from '../../src-main/dns/tsig'
import { encodeSrvUpdate, inspectReplyHeader } from '../../src-main/dns/update'
import { exchangeUpdateMessage } from '../../src-main/dns/update-transport'
import { bindTool, makeKeyFile, startBind, type RunningBind } from '../helpers/bind'

let bind: RunningBind
let key: TsigKey

beforeAll(async () => {
  bind = await startBind([
    { name: 'corp.test', records: ['kms01 IN A 127.0.0.1'] },
    { name: 'locked.test', allowUpdate: 'none' }
  ])
  key = parseBindKeyFile(readFileSync(bind.keyFile, 'utf8'))[0]!
})

afterAll(async () => {
  await bind?.stop()
})

function dig(name: string): string[] {
  // dig is BIND's own client: an independent reading of what the server now holds
  const r = spawnSync(bindTool('dig'), ['-p', String(bind.port), '@127.0.0.1', name, 'SRV', '+short'], { encoding: 'utf8' })
  return r.stdout.trim().split('\n').filter(Boolean).sort()
}

function request(fields: Partial<SrvUpdateRequest> = {}): SrvUpdateRequest {
  return {
    server: parseDnsServer(bind.spec),
    domain: 'corp.test',
    target: 'kms01.corp.test',
    port: 1688,
    priority: 0,
    weight: 100,
    ttl: 600,
    key,
    timeoutMs: 2000,
    ...fields
  }
}

describe('BIND key files', () => {
  it.each(['hmac-md5', 'hmac-sha1', 'hmac-sha256', 'hmac-sha512'])('reads what tsig-keygen -a %s writes', async (algorithm) => {
    const file = await makeKeyFile(bind.dir, 'Lab-Key.corp.test', `${algorithm}.key`, algorithm)
    const [parsed] = parseBindKeyFile(readFileSync(file, 'utf8'))
    expect(parsed!.name).toBe('lab-key.corp.test')
    expect(parsed!.algorithm).toBe(algorithm === 'hmac-md5' ? 'hmac-md5.sig-alg.reg.int' : algorithm)
    const secret = /secret "([^"]+)"/.exec(readFileSync(file, 'utf8'))![1]!
    expect(parsed!.secret.toString('base64')).toBe(secret)
  })

  it('allows comments and several keys', () => {
    const keys = parseBindKeyFile(
      '# made by hand\nkey "a" { algorithm hmac-sha256; secret "AAAA"; }; // one\n/* two\n */ key b { algorithm HMAC-SHA512; secret "BBBB"; };\n'
    )
    expect(keys.map((k) => [k.name, k.algorithm])).toEqual([
      ['a', 'hmac-sha256'],
      ['b', 'hmac-sha512']
    ])
  })

  it.each([
    ['options { directory "/tmp"; };', /not a key statement/],
    ['key "a" { algorithm hmac-sha256; };', /has no secret/],
    ['key "a" { algorithm rot13; secret "AAAA"; };', /algorithm "rot13" is not one of/],
    ['key "a" { algorithm hmac-sha256; secret "not base64!"; };', /not base64/],
    ['key "a" { algorithm hmac-sha256; secret "AAAA" };', /line 1: expected ";"/],
    ['', /no key statement/]
  ])('refuses %j', (text, message) => {
    expect(() => parseBindKeyFile(text)).toThrow(KeyFileError)
    expect(() => parseBindKeyFile(text)).toThrow(message)
  })
})

describe('UPDATE messages', () => {
  it('names the zone and removes single records with class NONE (RFC 2136 §2.5.4)', () => {
    const message = encodeSrvUpdate({
      id: 0x1234,
      zone: 'corp.test',
      name: '_vlmcs._tcp.corp.test',
      remove: [{ priority: 0, weight: 0, port: 1688, target: 'old.corp.test' }],
      add: [{ priority: 10, weight: 50, port: 1700, target: 'kms01.corp.test' }],
      ttl: 900
    })
    const decoded = dnsPacket.decode(message)
    expect((message.readUInt16BE(2) >> 11) & 0xf).toBe(5) // opcode UPDATE
    expect(decoded.questions).toEqual([{ name: 'corp.test', type: 'SOA', class: 'IN' }])
    const [remove, add] = decoded.authorities as Array<dnsPacket.Answer & { data: unknown }>
    expect(remove).toMatchObject({ name: '_vlmcs._tcp.corp.test', type: 'SRV', class: 'UNKNOWN_254', ttl: 0 })
    expect(add).toMatchObject({
      type: 'SRV',
      class: 'IN',
      ttl: 900,
      data: { priority: 10, weight: 50, port: 1700, target: 'kms01.corp.test' }
    })
  })

  it('BIND accepts our signature and signs its answer, which verifies; a changed byte does not', async () => {
    const id = 0x4242
    const unsigned = encodeSrvUpdate({
      id,
      zone: 'corp.test',
      name: '_vlmcs._tcp.corp.test',
      remove: [],
      add: [{ priority: 0, weight: 0, port: 1688, target: 'signed.corp.test' }],
      ttl: 300
    })
    const now = Math.floor(Date.now() / 1000)
    const signed = signMessage(unsigned, key, now)
    const outcome = await exchangeUpdateMessage({
      server: parseDnsServer(bind.spec),
      message: signed.message,
      id,
      opcode: 5,
      timeoutMs: 2000
    })
    expect(outcome.kind).toBe('reply')
    if (outcome.kind !== 'reply') return
    const { bytes, header } = outcome.reply
    expect(header.rcode).toBe(0)
    const tsig = header.tsig
    if (tsig === undefined || typeof tsig === 'string') throw new Error(`no TSIG record in the answer: ${String(tsig)}`)
    expect(tsig.keyName).toBe(key.name)
    expect(verifyAnswer(bytes, tsig, key, signed.mac, now)).toEqual({ ok: true })

    const tampered = Buffer.from(bytes)
    tampered[3] = tampered[3]! ^ 0x05 // the RCODE bits
    const again = readTsigRecord(tampered, tsig.offset)
    if (typeof again === 'string') throw new Error(again)
    expect(verifyAnswer(tampered, again, key, signed.mac, now)).toMatchObject({ ok: false, reason: /does not verify/ })
    expect(verifyAnswer(bytes, tsig, key, Buffer.alloc(signed.mac.length), now).ok).toBe(false)
    expect(dig('_vlmcs._tcp.corp.test')).toContain('0 0 1688 signed.corp.test.')
  })

  it('ignores datagrams that are not the answer to our message', () => {
    const reply = Buffer.from(dnsPacket.encode({ type: 'response', id: 7, flags: 5 << 11, questions: [] }))
    expect(inspectReplyHeader(reply, 8).kind).toBe('ignore')
    expect(inspectReplyHeader(reply, 7)).toMatchObject({ kind: 'reply', rcode: 0, tsig: undefined })
    expect(inspectReplyHeader(Buffer.from(dnsPacket.encode({ type: 'response', id: 7, questions: [] })), 7).kind).toBe('ignore')
  })
})

describe('publishing at BIND', () => {
  it('publishes, replaces the host’s earlier record, and removes it; the zone is found from the SOA answer', async () => {
    const first = await updateKmsSrv('publish', request({ target: 'kms01.corp.test', weight: 100 }))
    expect(first).toMatchObject({ ok: true, code: 'NOERROR', zone: 'corp.test', zoneSource: 'soa', name: '_vlmcs._tcp.corp.test' })
    expect(first.signedWith).toEqual({ keyName: key.name, algorithm: 'hmac-sha256' })
    expect(JSON.stringify(first)).not.toContain(key.secret.toString('base64'))
    expect(dig('_vlmcs._tcp.corp.test')).toContain('0 100 1688 kms01.corp.test.')

    const moved = await updateKmsSrv('publish', request({ target: 'KMS01.corp.test', port: 1700, priority: 5, weight: 20 }))
    expect(moved).toMatchObject({ ok: true, removed: [{ priority: 0, weight: 100, port: 1688, target: 'kms01.corp.test' }] })
    expect(dig('_vlmcs._tcp.corp.test').filter((l) => l.includes('kms01'))).toEqual(['5 20 1700 kms01.corp.test.'])

    const gone = await updateKmsSrv('unpublish', request())
    expect(gone).toMatchObject({ ok: true, removed: [{ port: 1700, priority: 5, weight: 20 }], added: [] })
    expect(dig('_vlmcs._tcp.corp.test').filter((l) => l.includes('kms01'))).toEqual([])
    const nothing = await updateKmsSrv('unpublish', request())
    expect(nothing).toMatchObject({ ok: true, removed: [] })
  })

  it('publishes into a domain inside the zone (NOTZONE would follow from naming it as the zone)', async () => {
    const sub = await updateKmsSrv('publish', request({ domain: 'branch.corp.test', target: 'kms02.corp.test' }))
    expect(sub).toMatchObject({ ok: true, zone: 'corp.test', zoneSource: 'soa' })
    expect(dig('_vlmcs._tcp.branch.corp.test')).toEqual(['0 100 1688 kms02.corp.test.'])
    const wrongZone = await updateKmsSrv('publish', request({ domain: 'corp.test', zone: 'branch.corp.test', target: 'kms03.corp.test' }))
    expect(wrongZone.ok).toBe(false)
    expect(['NOTAUTH', 'NOTZONE']).toContain(wrongZone.code)
  })

  it('explains a key the server does not know (BADKEY) and a wrong secret (BADSIG)', async () => {
    const other = parseBindKeyFile(readFileSync(await makeKeyFile(bind.dir, 'someone-else', 'other.key'), 'utf8'))[0]!
    const badKey = await updateKmsSrv('publish', request({ key: other }))
    expect(badKey).toMatchObject({ ok: false, code: 'BADKEY', meaning: expect.stringMatching(/does not know this key name/) })
    expect(badKey.fix).toMatch(/key name and algorithm must match/)

    const sameNameOtherSecret = parseBindKeyFile(readFileSync(await makeKeyFile(bind.dir, bind.keyName, 'wrong.key'), 'utf8'))[0]!
    const badSig = await updateKmsSrv('publish', request({ key: sameNameOtherSecret }))
    expect(badSig).toMatchObject({ ok: false, code: 'BADSIG', fix: expect.stringMatching(/the same secret/) })
    expect(dig('_vlmcs._tcp.corp.test').filter((l) => l.includes('kms01'))).toEqual([])
  })

  it('explains a clock that is off (BADTIME)', async () => {
    const late = await updateKmsSrv('publish', request({ nowS: () => Math.floor(Date.now() / 1000) - 3600 }))
    expect(late).toMatchObject({ ok: false, code: 'BADTIME', fix: expect.stringMatching(/NTP/) })
  })

  it('explains a server that refuses: an unsigned update, and a zone that takes no updates (REFUSED)', async () => {
    const unsigned = await updateKmsSrv('publish', request({ key: undefined }))
    expect(unsigned).toMatchObject({ ok: false, code: 'REFUSED', signedWith: null, fix: expect.stringMatching(/allow-update/) })
    const locked = await updateKmsSrv('publish', request({ domain: 'locked.test' }))
    expect(locked).toMatchObject({ ok: false, code: 'REFUSED', zone: 'locked.test' })
  })

  it('reports a server that never answers as a timeout, within the per-exchange limit', async () => {
    const silent: Socket = createSocket('udp4')
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', () => resolve()))
    try {
      const port = silent.address().port
      const r = await updateKmsSrv('publish', request({ server: parseDnsServer(`127.0.0.1:${port}`), timeoutMs: 150 }))
      expect(r).toMatchObject({ ok: false, code: 'timeout', zoneSource: 'domain', fix: expect.stringMatching(/firewall/) })
      expect(r.lookupProblem).toBeDefined()
    } finally {
      silent.close()
    }
  })
})
