/**
 * Issue 11 against `kms-scout discover`: 1,200 SRV targets over TCP, address lookups never answered, or the SRV
 * query itself never answered. `--deadline 2` ends the run after about the deadline (the test timeout is only a
 * generous upper bound) with what was found, the monitoring exit code and one line about the deadline.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../src-main/cli/run'
import { captureIo } from '../helpers/cli-io'
import type { FakeDnsServer } from '../helpers/fake-dns-server'
import { FLOOD_ZONE, startSrvFloodServer } from '../dns/srv-flood-server'

const UPPER_BOUND_MS = 30_000
let addressesSilent: FakeDnsServer
let srvSilent: FakeDnsServer
const dirs: string[] = []

beforeAll(async () => {
  addressesSilent = await startSrvFloodServer({ count: 1200, addresses: 'silent' })
  srvSilent = await startSrvFloodServer({ count: 1200, addresses: 'silent', srv: 'silent' })
})
afterAll(async () => {
  await Promise.all([addressesSilent?.close(), srvSilent?.close()])
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
})

async function discover(server: FakeDnsServer, args: string[]): Promise<{ code: number; out: string; err: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'kms-scout-discover-deadline-'))
  dirs.push(dir)
  const io = captureIo({ KMS_SCOUT_CONFIG_DIR: dir })
  const code = await runCli(['discover', '--domain', FLOOD_ZONE, '--dns-server', server.spec, ...args], io)
  return { code, out: io.out(), err: io.err() }
}

describe('kms-scout discover --deadline', () => {
  it(
    'records found, addresses pending: exit 0, the 32 records taken with their lookups marked stopped, one deadline line',
    async () => {
      const r = await discover(addressesSilent, ['--deadline', '2'])
      expect(r.code).toBe(0)
      expect(r.out).toMatch(/_vlmcs\._tcp\.h\.test: 32 record\(s\) from .*, 1168 more ignored \(at most 32 taken\)/)
      expect(r.out.split('\n').filter((l) => l.includes('(lookup stopped)'))).toHaveLength(32)
      const errLines = r.err.split('\n').filter((l) => l !== '')
      expect(errLines).toHaveLength(1)
      expect(errLines[0]).toMatch(
        /^kms-scout discover: deadline of 2 s reached; still pending: addresses of 32 SRV target\(s\); \d+ DNS queries /
      )
      expect(errLines[0]).not.toMatch(/\r/)
    },
    UPPER_BOUND_MS
  )

  it(
    'SRV query unanswered: exit 2 (no records before the deadline), the domain listed as stopped, one deadline line',
    async () => {
      const r = await discover(srvSilent, ['--deadline', '2', '--json'])
      expect(r.code).toBe(2)
      const report = JSON.parse(r.out)
      expect(report.error).toMatchObject({ kind: 'deadline', windows: { code: '0x8007232A' } })
      expect(report.deadline.pending.dnsQueries).toEqual([
        { qname: '_vlmcs._tcp.h.test', qtype: 'SRV', server: srvSilent.spec, transport: 'udp' }
      ])
      expect(report.results).toMatchObject([{ domain: FLOOD_ZONE, outcome: 'dns-failure', code: 'aborted' }])

      const human = await discover(srvSilent, ['--deadline', '2'])
      expect(human.code).toBe(2)
      const errLines = human.err.split('\n').filter((l) => l !== '')
      expect(errLines).toHaveLength(1)
      expect(errLines[0]).toMatch(
        /^kms-scout discover: deadline of 2 s reached; still pending: 1 DNS query \(_vlmcs\._tcp\.h\.test SRV at 127\.0\.0\.1:\d+\)$/
      )
    },
    UPPER_BOUND_MS
  )

  it('a bad --deadline is a usage error (exit 3)', async () => {
    const r = await discover(addressesSilent, ['--deadline', '0'])
    expect(r.code).toBe(3)
    expect(r.err).toMatch(/--deadline '0' is not a whole number of seconds from 1 to 3600/)
  })
})
