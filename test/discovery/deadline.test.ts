/**
 * Issue 11: the app's check (service `checkClientFlow`, which the UI's runCheck handler calls) honours the run's
 * deadline too, and the deadline aborts what is in flight — DNS queries and KMS attempts — through the run's
 * AbortSignal. The test timeouts are only generous upper bounds; nothing asserts a duration.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { methodInputSchemas } from '../../src-main/api/contract'
import { openAppContext, type AppContext } from '../../src-main/service/app-context'
import { checkClientFlow } from '../../src-main/service/client-service'
import type { FakeDnsServer } from '../helpers/fake-dns-server'
import { startHangingListener, type HangingListener } from '../helpers/hanging-listener'
import { FLOOD_ZONE, startSrvFloodServer } from '../dns/srv-flood-server'

const UPPER_BOUND_MS = 30_000
let srvSilent: FakeDnsServer
let hang: HangingListener
let app: AppContext
let dir: string

beforeAll(async () => {
  srvSilent = await startSrvFloodServer({ count: 1, addresses: 'silent', srv: 'silent' })
  hang = await startHangingListener('127.0.0.1')
  dir = await mkdtemp(join(tmpdir(), 'kms-scout-deadline-'))
  app = await openAppContext({ configDir: dir, onWarning: () => {} })
})
afterAll(async () => {
  await Promise.all([srvSilent?.close(), hang?.close()])
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('the run deadline in the app service', () => {
  it(
    'checkClientFlow: an unanswered SRV query ends at the deadline as CRITICAL 0x8007232A with the query pending',
    async () => {
      const report = await checkClientFlow(
        app,
        { domains: [FLOOD_ZONE], dnsServer: srvSilent.spec, noCache: true, deadlineS: 1 },
        { onWarning: () => {} }
      )
      expect(report.status).toBe('critical')
      expect(report.exitCode).toBe(2)
      expect(report.error).toMatchObject({ kind: 'deadline', windows: { code: '0x8007232A' } })
      expect(report.flow.deadline?.pending.dnsQueries).toEqual([
        { qname: '_vlmcs._tcp.h.test', qtype: 'SRV', server: srvSilent.spec, transport: 'udp' }
      ])
      expect(report.statusLine).toMatch(/deadline of 1 s reached during DNS discovery; still pending: 1 DNS query/)
      expect(report.flow.discovery.results).toMatchObject([{ outcome: 'dns-failure', code: 'aborted' }])
    },
    UPPER_BOUND_MS
  )

  it(
    'a KMS attempt still running at the deadline is aborted (its socket closed) and reported as pending',
    async () => {
      const report = await checkClientFlow(
        app,
        { host: { host: '127.0.0.1', port: hang.port }, timeoutMs: 60_000, deadlineS: 1 },
        { onWarning: () => {} }
      )
      expect(report.status).toBe('critical')
      expect(report.error).toMatchObject({ kind: 'deadline', windows: { code: '0xC004F074' } })
      expect(report.flow.deadline?.pending.kmsAttempts).toEqual([{ host: '127.0.0.1', port: hang.port, address: '127.0.0.1' }])
      expect(report.flow.attempts).toMatchObject([{ outcome: 'cancelled' }])
      expect(report.statusLine).toMatch(/while trying the manual host; still pending: 1 KMS attempt\(s\) \(127\.0\.0\.1:\d+\)/)
      await hang.waitForClosed(1)
    },
    UPPER_BOUND_MS
  )

  it('the API accepts deadlineS for runCheck and discover within 1–3600 s only', () => {
    expect(methodInputSchemas.runCheck.safeParse({ deadlineS: 5 }).success).toBe(true)
    expect(methodInputSchemas.discover.safeParse({ deadlineS: 3600 }).success).toBe(true)
    expect(methodInputSchemas.runCheck.safeParse({ deadlineS: 0 }).success).toBe(false)
    expect(methodInputSchemas.discover.safeParse({ deadlineS: 1.5 }).success).toBe(false)
  })
})
