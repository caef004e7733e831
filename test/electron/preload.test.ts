/**
 * The preload runs only inside Electron; here `electron` is replaced by a recorder so we can check
 * what the preload exposes: exactly the API contract's methods plus `on`, each bound to its own
 * channel, and events filtered to the contract's names.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { EVENT_CHANNEL, METHOD_NAMES, methodChannel } from '../../src-main/api/channels'

const exposed: Record<string, Record<string, (...args: unknown[]) => unknown>> = {}
const invoke = vi.fn(async (channel: string, input: unknown) => ({ ok: true, value: { channel, input } }))
let deliver: (event: unknown, message: unknown) => void = () => {}

vi.mock('electron', () => ({
  contextBridge: {
    exposeInMainWorld: (key: string, api: Record<string, (...args: unknown[]) => unknown>) => {
      exposed[key] = api
    }
  },
  ipcRenderer: {
    invoke: (channel: string, input: unknown) => invoke(channel, input),
    on: (channel: string, listener: (event: unknown, message: unknown) => void) => {
      if (channel === EVENT_CHANNEL) deliver = listener
    }
  }
}))

beforeAll(async () => {
  await import('../../src-main/electron/preload')
})

describe('preload', () => {
  it('exposes exactly the contract as window.kms', () => {
    expect(Object.keys(exposed)).toEqual(['kms'])
    expect(Object.keys(exposed.kms!).sort()).toEqual([...METHOD_NAMES, 'on'].sort())
  })

  it('sends each method on its own channel with the caller input untouched', async () => {
    for (const method of METHOD_NAMES) {
      await exposed.kms![method]!({ probe: method })
      expect(invoke).toHaveBeenLastCalledWith(methodChannel(method), { probe: method })
    }
  })

  it('delivers only known events to their subscribers, and unsubscribes', () => {
    const received: unknown[] = []
    const off = exposed.kms!.on!('notice', (payload: unknown) => received.push(payload)) as () => void
    deliver({}, { name: 'notice', payload: { level: 'info', message: 'hello' } })
    deliver({}, { name: 'not-an-event', payload: 1 })
    deliver({}, 'garbage')
    off()
    deliver({}, { name: 'notice', payload: { level: 'info', message: 'after' } })
    expect(received).toEqual([{ level: 'info', message: 'hello' }])
  })

  it('refuses an unknown event name', () => {
    expect(() => exposed.kms!.on!('everything', () => {})).toThrow(/unknown event/)
  })
})
