/**
 * RemoteLedger, the worker's side of the ledger: requests of one event-loop turn travel in one message, each
 * resolves with the Count the owner answered (or rejects with LogWriteError), and once the owner is gone nothing
 * waiting or new is acknowledged.
 */
import { describe, expect, it } from 'vitest'
import { LogWriteError, type LedgerRequest } from '../../src-main/lab-host/ledger'
import { RemoteLedger, type WorkerMessage } from '../../src-main/lab-host/worker-messages'
import { sampleLogEntry } from '../helpers/client-log-samples'

function request(cmid: string): LedgerRequest {
  return {
    entry: sampleLogEntry({ cmid, workstationName: 'ws', countReturned: null, hresult: null }),
    counted: true,
    syntax: 'ndr32',
    epid: null,
    reason: null,
    arrivedAtMs: 0
  }
}

const CMID_A = '00000000-0000-4000-8000-00000000000a'
const CMID_B = '00000000-0000-4000-8000-00000000000b'

/** A stand-in for the IPC channel: records what is sent; next() resolves with the next message. */
function channel(): { sent: WorkerMessage[]; send: (m: WorkerMessage) => void; next: () => Promise<WorkerMessage> } {
  const sent: WorkerMessage[] = []
  let waiter: ((m: WorkerMessage) => void) | undefined
  return {
    sent,
    send: (m) => {
      sent.push(m)
      waiter?.(m)
      waiter = undefined
    },
    next: () => new Promise((resolve) => (waiter = resolve))
  }
}

describe('RemoteLedger', () => {
  it('sends the requests of one turn in one message and settles each with its own answer', async () => {
    const { sent, send, next } = channel()
    const ledger = new RemoteLedger(send)
    const message = next()
    const a = ledger.store(request(CMID_A))
    const b = ledger.store(request(CMID_B))
    const m = await message
    if (m.t !== 'store') throw new Error(m.t)
    expect(m.items.map(([, r]) => r.entry.cmid)).toEqual([CMID_A, CMID_B])
    const [[idA], [idB]] = m.items as [[number, LedgerRequest], [number, LedgerRequest]]
    ledger.settle([
      [idB, null, 'disk full'],
      [idA, 7, null]
    ])
    await expect(a).resolves.toBe(7)
    await expect(b).rejects.toBeInstanceOf(LogWriteError)
    await expect(b).rejects.toThrow(/disk full/)
    expect(sent).toHaveLength(1)
  })

  it('ignores answers for unknown ids', async () => {
    const { send, next } = channel()
    const ledger = new RemoteLedger(send)
    const message = next()
    const a = ledger.store(request(CMID_A))
    const m = await message
    if (m.t !== 'store') throw new Error(m.t)
    ledger.settle([[m.items[0]![0] + 1000, 3, null]])
    ledger.settle([[m.items[0]![0], 1, null]])
    await expect(a).resolves.toBe(1)
  })

  it('once the owner is gone, rejects what waits and everything after', async () => {
    const { sent, send, next } = channel()
    const ledger = new RemoteLedger(send)
    const message = next()
    const waiting = ledger.store(request(CMID_A))
    await message
    ledger.close('the owner has gone')
    await expect(waiting).rejects.toThrow(/the owner has gone/)
    await expect(ledger.store(request(CMID_B))).rejects.toBeInstanceOf(LogWriteError)
    expect(sent).toHaveLength(1)
  })

  it('a channel that cannot send fails the batch instead of leaving it waiting', async () => {
    const ledger = new RemoteLedger(() => {
      throw new Error('channel closed')
    })
    await expect(ledger.store(request(CMID_A))).rejects.toThrow(/cannot be reached: channel closed/)
  })
})
