/**
 * registerIpc with `electron` replaced by a recorder of ipcMain handlers: a call runs its handler only when it
 * comes from the main frame of our own window showing our own page; any other sender gets `forbidden` and is
 * logged, and its handler never runs. Events go to the window while it exists.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { EVENT_CHANNEL, METHOD_NAMES, methodChannel } from '../../src-main/api/channels'
import type { HandlerTable } from '../../src-main/api/contract'
import { EventHub } from '../../src-main/service/event-hub'

type IpcHandler = (event: unknown, input: unknown) => unknown
const handlers = new Map<string, IpcHandler>()

vi.mock('electron', () => ({
  ipcMain: {
    handle: (channel: string, handler: IpcHandler) => {
      if (handlers.has(channel)) throw new Error(`second handler for ${channel}`)
      handlers.set(channel, handler)
    },
    removeHandler: (channel: string) => handlers.delete(channel)
  }
}))

const { registerIpc } = await import('../../src-main/electron/ipc')
const { APP_ENTRY_URL } = await import('../../src-main/electron/app-protocol')

interface FakeFrame {
  url: string
}
interface FakeContents {
  mainFrame: FakeFrame
  send: ReturnType<typeof vi.fn>
}
interface FakeWindow {
  webContents: FakeContents
  destroyed: boolean
  isDestroyed(): boolean
}

function fakeWindow(url = APP_ENTRY_URL): FakeWindow {
  return {
    webContents: { mainFrame: { url }, send: vi.fn() },
    destroyed: false,
    isDestroyed() {
      return this.destroyed
    }
  }
}

const appInfo = { version: '9.9.9', shell: 'electron' }
const getAppInfo = vi.fn(async () => appInfo)
const table = { getAppInfo } as unknown as HandlerTable

let window: FakeWindow | null
let log: ReturnType<typeof vi.fn<(message: string) => void>>
let events: EventHub
let dispose: () => void

beforeEach(() => {
  dispose?.()
  handlers.clear()
  getAppInfo.mockClear()
  window = fakeWindow()
  log = vi.fn<(message: string) => void>()
  events = new EventHub()
  dispose = registerIpc(table, events, () => window as never, log)
})

/** What ipcMain.handle would send back to the renderer (it awaits the handler's result). */
async function call(event: unknown, method = 'getAppInfo', input?: unknown): Promise<unknown> {
  const handler = handlers.get(methodChannel(method as (typeof METHOD_NAMES)[number]))
  if (!handler) throw new Error(`no handler for ${method}`)
  return await handler(event, input)
}

const fromMainFrame = (w: FakeWindow): unknown => ({ sender: w.webContents, senderFrame: w.webContents.mainFrame })
const FORBIDDEN = { ok: false, error: { code: 'forbidden', message: 'call from an untrusted frame' } }

describe('registerIpc', () => {
  it('registers one handler per API method, and the disposer removes them all', () => {
    expect([...handlers.keys()].sort()).toEqual(METHOD_NAMES.map(methodChannel).sort())
    dispose()
    expect(handlers.size).toBe(0)
  })

  it('runs the handler for the main frame of our window on our page, with the input validated', async () => {
    await expect(call(fromMainFrame(window!))).resolves.toEqual({ ok: true, value: appInfo })
    expect(getAppInfo).toHaveBeenCalledTimes(1)
    // validation still applies to a trusted sender
    await expect(call(fromMainFrame(window!), 'getAppInfo', { extra: 1 })).resolves.toMatchObject({
      ok: false,
      error: { code: 'invalid-input' }
    })
    expect(getAppInfo).toHaveBeenCalledTimes(1)
    expect(log).not.toHaveBeenCalled()
  })

  it('accepts any page of our origin, not only the entry page', async () => {
    window!.webContents.mainFrame.url = 'kms-scout://app/index.html#/settings'
    await expect(call(fromMainFrame(window!))).resolves.toMatchObject({ ok: true })
  })

  const untrusted: Array<[string, () => unknown]> = [
    ['another web contents', () => ({ sender: fakeWindow().webContents, senderFrame: window!.webContents.mainFrame })],
    ['a subframe of our window', () => ({ sender: window!.webContents, senderFrame: { url: APP_ENTRY_URL } })],
    ['a frame that is gone (senderFrame null)', () => ({ sender: window!.webContents, senderFrame: null })],
    ...['https://evil.example/', 'file:///index.html', 'kms-scout://evil/index.html', 'kms-scout://app.evil/index.html', 'about:blank'].map(
      (url): [string, () => unknown] => [
        `our main frame navigated to ${url}`,
        () => {
          window!.webContents.mainFrame.url = url
          return fromMainFrame(window!)
        }
      ]
    )
  ]
  for (const [what, event] of untrusted) {
    it(`refuses ${what}: forbidden, logged, handler not run`, async () => {
      await expect(call(event())).resolves.toEqual(FORBIDDEN)
      expect(getAppInfo).not.toHaveBeenCalled()
      expect(log).toHaveBeenCalledTimes(1)
      expect(log.mock.calls[0]![0]).toMatch(/^refused getAppInfo: call from an untrusted frame/)
    })
  }

  it('refuses every call while there is no window', async () => {
    const w = window!
    window = null
    await expect(call(fromMainFrame(w))).resolves.toEqual(FORBIDDEN)
    expect(getAppInfo).not.toHaveBeenCalled()
  })

  it('forwards events to the window, and not to a destroyed or closed one', () => {
    events.emit('notice', { level: 'info', message: 'hello' })
    expect(window!.webContents.send).toHaveBeenCalledWith(EVENT_CHANNEL, { name: 'notice', payload: { level: 'info', message: 'hello' } })
    window!.destroyed = true
    events.emit('notice', { level: 'info', message: 'after destroy' })
    expect(window!.webContents.send).toHaveBeenCalledTimes(1)
    window = null
    expect(() => events.emit('notice', { level: 'info', message: 'no window' })).not.toThrow()
  })

  it('stops forwarding events once disposed', () => {
    dispose()
    events.emit('notice', { level: 'info', message: 'late' })
    expect(window!.webContents.send).not.toHaveBeenCalled()
  })
})
