/**
 * The lab host with its client log on a writer thread (logWriter: 'thread'): every answered request is in the log
 * when its reply arrives, the counts see concurrent clients, and the deadline sweep still closes an idle client.
 */
import { connect } from 'node:net'
import { once } from 'node:events'
import { describe, expect, it } from 'vitest'
import { ClientLog } from '../../src-main/storage/client-log'
import { baseFor, kmsExchange, newCmid, PRODUCT_BY_PROTOCOL } from '../helpers/lab-host-client'
import { useLabHosts } from '../helpers/lab-host-fixture'

const labs = useLabHosts()

describe('lab host with the client log on a writer thread', () => {
  it('answers concurrent clients, counts each once, and every answered request is in the file after stop', async () => {
    const { host, port, dbPath } = await labs.start({
      logWriter: 'thread',
      maxConnectionsPerAddress: 64,
      maxRequestsPerSecondPerAddress: 0
    })
    const cmids = Array.from({ length: 24 }, () => newCmid())
    const answers = await Promise.all(cmids.map((cmid) => kmsExchange(port, baseFor(PRODUCT_BY_PROTOCOL[6], { cmid }))))
    const counts = answers.map((a) => {
      if (a.kind !== 'response') throw new Error(a.kind)
      return a.response.base.count
    })
    // each client saw the ones before it: the counts are 1…24 in some order
    expect([...counts].sort((a, b) => a - b)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1))
    expect(host.clientLog!.distinctClients({ kmsCountedId: baseFor(PRODUCT_BY_PROTOCOL[6]).kmsId }, 0)).toBe(24)
    await host.stop()

    const log = await ClientLog.open(dbPath, { retentionDays: 30, now: Date.now })
    try {
      expect(new Set((await log.recent(100)).map((r) => r.cmid))).toEqual(new Set(cmids))
    } finally {
      await log.close()
    }
  })

  it('closes a connection that sends nothing once its deadline has passed (one sweep for all deadlines)', async () => {
    const { host, port } = await labs.start({ logWriter: 'thread', exchangeTimeoutMs: 100 })
    const socket = connect({ port, host: '127.0.0.1' })
    socket.on('error', () => undefined)
    await once(socket, 'close')
    // stop() returns once every connection is gone, so the counters are complete
    await host.stop()
    expect(host.status().counters.closes.idle).toBe(1)
  })
})
