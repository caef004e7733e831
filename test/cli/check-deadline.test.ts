/**
 * Issue 11 against `kms-scout check`: a DNS server floods 1,200 SRV targets over TCP and never answers the
 * address lookups. `--deadline 2` ends the check after about the deadline (the test timeout is only a generous
 * upper bound, never a timing assertion) with CRITICAL, exit 2 and one status line that says what was pending.
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
let flood: FakeDnsServer
const dirs: string[] = []

beforeAll(async () => {
  flood = await startSrvFloodServer({ count: 1200, addresses: 'silent' })
})
afterAll(async () => {
  await flood?.close()
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
})

async function check(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'kms-scout-check-deadline-'))
  dirs.push(dir)
  const io = captureIo({ KMS_SCOUT_CONFIG_DIR: dir })
  const code = await runCli(['check', '--domain', FLOOD_ZONE, '--dns-server', flood.spec, '--no-cache', ...args], io)
  return { code, out: io.out(), err: io.err() }
}

describe('kms-scout check --deadline', () => {
  it(
    'ends at the deadline with CRITICAL, one status line and what was pending; 1,168 targets ignored',
    async () => {
      const r = await check(['--deadline', '2'])
      expect(r.code).toBe(2)
      const [status, ...details] = r.out.split('\n')
      expect(status).toMatch(
        /^KMS CRITICAL - No Key Management Service \(KMS\) could be contacted \(0xC004F074\): deadline of 2 s reached during DNS discovery; still pending: /
      )
      expect(status).toMatch(/addresses of 32 SRV target\(s\); \d+ DNS quer(y|ies) \(t\d+\.h\.test A/)
      expect(status).not.toMatch(/[\r|]/)
      expect(details.join('\n')).toMatch(/SRV cap\s+_vlmcs\._tcp\.h\.test: 32 record\(s\) taken, 1168 more ignored/)
      expect(details.join('\n')).toMatch(/Deadline\s+deadline of 2 s reached/)
      expect(r.err).toBe('')
    },
    UPPER_BOUND_MS
  )

  it(
    '--json reports the deadline, the pending queries and the ignored records',
    async () => {
      const r = await check(['--deadline', '2', '--json'])
      expect(r.code).toBe(2)
      const report = JSON.parse(r.out)
      expect(report.status).toBe('critical')
      expect(report.error.kind).toBe('deadline')
      expect(report.flow.deadline.deadlineMs).toBe(2000)
      expect(report.flow.deadline.pending.unresolvedTargets).toBe(32)
      expect(report.flow.deadline.pending.dnsQueries.length).toBeGreaterThan(0)
      expect(report.flow.discovery.results[0]).toMatchObject({ outcome: 'records', ignoredRecords: 1168, unfinishedTargets: 32 })
      const deadlineEntries = report.trace.filter((e: { kind: string }) => e.kind === 'deadline')
      expect(deadlineEntries).toHaveLength(1)
      // Nothing starts after the deadline: no attempt at a KMS host, no new DNS query.
      const deadlineSeq = deadlineEntries[0].seq
      expect(report.trace.filter((e: { kind: string; seq: number }) => e.kind === 'dns-query' && e.seq > deadlineSeq)).toEqual([])
      expect(report.flow.attempts).toEqual([])
    },
    UPPER_BOUND_MS
  )

  it('a bad --deadline is a usage error (exit 3) with an UNKNOWN status line', async () => {
    for (const bad of ['0', '3601', 'soon']) {
      const r = await check(['--deadline', bad])
      expect(r.code).toBe(3)
      expect(r.out.split('\n')[0]).toMatch(/^KMS UNKNOWN - --deadline '.*' is not a whole number of seconds from 1 to 3600/)
    }
  })

  it('the help names --deadline and its default', async () => {
    const io = captureIo({})
    expect(await runCli(['check', '--help'], io)).toBe(0)
    expect(io.out()).toMatch(/--deadline S\s+time limit for the whole check in seconds \(1–3600, default 30\)/)
  })
})
