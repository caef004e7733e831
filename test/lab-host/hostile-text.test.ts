/**
 * Hostile text stays inert (issue 11): a client's WorkstationName, a host's ePID and an SRV target from DNS reach a
 * terminal or a log line only as visible escapes, bounded, one line each — over real sockets and a real DNS server
 * on 127.0.0.1. JSON output keeps the exact values.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { runCli } from '../../src-main/cli/run'
import { attachLabHostLogger } from '../../src-main/lab-host/log'
import { captureIo } from '../helpers/cli-io'
import { buildReply, srvAnswer, startFakeDnsServer, type FakeDnsServer } from '../helpers/fake-dns-server'
import { startKmsTestHost, type KmsTestHost } from '../helpers/kms-test-host'
import { baseFor, expectResponse, PRODUCT_BY_PROTOCOL, TestKmsConnection } from '../helpers/lab-host-client'
import { nextEvent, useLabHosts } from '../helpers/lab-host-fixture'

const labs = useLabHosts()
const dirs: string[] = []
const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
})

function configDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kms-scout-hostile-text-'))
  dirs.push(dir)
  return dir
}

/** What a terminal would act on: escapes, CR, LF inside a line, other controls, bidi overrides. */
// eslint-disable-next-line no-control-regex -- the point of the check
const LIVE_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/

describe('hostile text stays inert', () => {
  it('a WorkstationName with ESC[2J, CR/LF and a fake log line cannot forge a lab-host log line', async () => {
    const { host, port } = await labs.start()
    const lines: string[] = []
    const json: string[] = []
    const detach = attachLabHostLogger(host, { write: (line) => lines.push(line) })
    const detachJson = attachLabHostLogger(host, { write: (line) => json.push(line), json: true })
    const forged = 'pc\u001b[2J\r\n2026-01-01T00:00:00.000Z 127.0.0.1:1 ok'
    const logged = nextEvent(host, 'request-logged')
    const c = await TestKmsConnection.open(port)
    await c.bind()
    expectResponse(await c.request(baseFor(PRODUCT_BY_PROTOCOL[6], { workstationName: forged })))
    c.destroy()
    await logged
    detach()
    detachJson()
    const request = lines.filter((l) => l.includes(' ok: count '))
    expect(request).toHaveLength(1)
    const line = request[0]!
    // one line, ending in its own newline, with the name's controls shown as escapes
    expect(line.indexOf('\n')).toBe(line.length - 1)
    expect(line.slice(0, -1)).not.toMatch(LIVE_CONTROL)
    expect(line).toContain('"pc\\x1b[2J\\x0d\\x0a2026-01-01T00:00:00.000Z 127.0.0.1:1 ok"')
    // the JSON line keeps the exact value
    const record = json.map((l) => JSON.parse(l) as { event: string; workstationName?: string }).find((r) => r.event === 'request')
    expect(record?.workstationName).toBe(forged)
  })

  it("query shows a hostile host's ePID inert in its report; --json keeps it exactly", async () => {
    const epid = '\u001b[2J\r\nKMS OK - everything is fine\u202e'
    const host: KmsTestHost = await startKmsTestHost({ epid })
    closers.push(() => host.close())
    const dir = configDir()
    const human = captureIo({ KMS_SCOUT_CONFIG_DIR: dir })
    await runCli(['query', host.endpoint], human)
    const text = human.out() + human.err()
    for (const line of text.split('\n')) expect(line).not.toMatch(LIVE_CONTROL)
    expect(text).toContain('\\x1b[2J\\x0d\\x0aKMS OK - everything is fine\\u202e')
    const json = captureIo({ KMS_SCOUT_CONFIG_DIR: dir })
    await runCli(['query', host.endpoint, '--json'], json)
    const report = JSON.parse(json.out()) as { answer: { epid: { value: string } } | null; error: { message: string } | null }
    const exact = report.answer?.epid.value ?? report.error?.message ?? ''
    expect(exact).toContain(epid)
  })

  it('check prints a hostile SRV target from a real DNS server as one status line: no CR/LF, no "|" forging perfdata', async () => {
    const target = 'kms\u001b[2J\r\nKMS OK - fine | count=999;;;0.h.test'
    const dns: FakeDnsServer = await startFakeDnsServer({
      udp: (q) =>
        q.type === 'SRV'
          ? [buildReply(q, { answers: [srvAnswer('_vlmcs._tcp.h.test', target, 1688, 0, 0)] })]
          : [buildReply(q, { rcode: 3 })]
    })
    closers.push(() => dns.close())
    const io = captureIo({ KMS_SCOUT_CONFIG_DIR: configDir() })
    const code = await runCli(['check', '--domain', 'h.test', '--dns-server', dns.spec, '--deadline', '10'], io)
    expect(code).toBe(2)
    const out = io.out()
    const [status] = out.split('\n')
    expect(status).toMatch(/^KMS CRITICAL - /)
    expect(status).not.toContain('|')
    for (const line of (out + io.err()).split('\n')) expect(line).not.toMatch(LIVE_CONTROL)
    expect(out).toContain('kms\\x1b[2J\\x0d\\x0aKMS OK - fine ')
    // nothing in the output starts a line of its own with the forged text
    expect(out.split('\n').some((l) => l.startsWith('KMS OK'))).toBe(false)
  })
})
