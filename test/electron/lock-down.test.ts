/**
 * lockDownSessions with `electron` replaced by a recorder: every permission is refused, navigation and
 * redirects leave our origin never, webviews are never attached and no new window opens — for every web
 * contents the app creates.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest'

type Listener = (...args: unknown[]) => unknown
const appListeners = new Map<string, Listener>()
let permissionRequest: Listener | undefined
let permissionCheck: Listener | undefined

vi.mock('electron', () => ({
  app: { on: (name: string, listener: Listener) => appListeners.set(name, listener) },
  session: {
    defaultSession: {
      setPermissionRequestHandler: (handler: Listener) => (permissionRequest = handler),
      setPermissionCheckHandler: (handler: Listener) => (permissionCheck = handler)
    }
  }
}))

const { lockDownSessions } = await import('../../src-main/electron/lock-down')
const { APP_ENTRY_URL } = await import('../../src-main/electron/app-protocol')

/** A web contents as the handlers see it: its listeners and window-open handler, recorded. */
function createdContents(): { on: Map<string, Listener>; openHandler: () => Listener | undefined } {
  const on = new Map<string, Listener>()
  let openHandler: Listener | undefined
  const contents = {
    on: (name: string, listener: Listener) => on.set(name, listener),
    setWindowOpenHandler: (handler: Listener) => (openHandler = handler)
  }
  appListeners.get('web-contents-created')!({}, contents)
  return { on, openHandler: () => openHandler }
}

function prevented(listener: Listener, ...args: unknown[]): boolean {
  const event = { preventDefault: vi.fn() }
  listener(event, ...args)
  return event.preventDefault.mock.calls.length > 0
}

beforeAll(() => lockDownSessions())

describe('lockDownSessions', () => {
  it('refuses every permission request and check', () => {
    for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal']) {
      const callback = vi.fn()
      permissionRequest!({}, permission, callback, { requestingUrl: APP_ENTRY_URL })
      expect(callback).toHaveBeenCalledExactlyOnceWith(false)
      expect(permissionCheck!({}, permission, 'kms-scout://app')).toBe(false)
    }
  })

  it('grants writing to the clipboard ("Copy report") to our own page only', () => {
    const ours = vi.fn()
    permissionRequest!({}, 'clipboard-sanitized-write', ours, { requestingUrl: APP_ENTRY_URL })
    expect(ours).toHaveBeenCalledExactlyOnceWith(true)
    expect(permissionCheck!({}, 'clipboard-sanitized-write', 'kms-scout://app')).toBe(true)
    const foreign = vi.fn()
    permissionRequest!({}, 'clipboard-sanitized-write', foreign, { requestingUrl: 'https://evil.example/' })
    expect(foreign).toHaveBeenCalledExactlyOnceWith(false)
    expect(permissionCheck!({}, 'clipboard-sanitized-write', 'https://evil.example')).toBe(false)
  })

  it('lets navigation and redirects stay inside our origin and stops every other', () => {
    const { on } = createdContents()
    for (const name of ['will-navigate', 'will-redirect']) {
      const listener = on.get(name)!
      expect(prevented(listener, APP_ENTRY_URL), `${name} ${APP_ENTRY_URL}`).toBe(false)
      expect(prevented(listener, 'kms-scout://app/index.html#/settings')).toBe(false)
      for (const url of [
        'https://evil.example/',
        'file:///etc/passwd',
        'kms-scout://evil/index.html',
        'about:blank',
        'javascript:alert(1)'
      ]) {
        expect(prevented(listener, url), `${name} ${url}`).toBe(true)
      }
    }
  })

  it('never attaches a webview and denies every new window', () => {
    const { on, openHandler } = createdContents()
    expect(prevented(on.get('will-attach-webview')!, {}, {})).toBe(true)
    for (const url of [APP_ENTRY_URL, 'https://evil.example/']) expect(openHandler()!({ url })).toEqual({ action: 'deny' })
  })

  it('locks down each web contents created, not only the first', () => {
    const first = createdContents()
    const second = createdContents()
    expect([...second.on.keys()].sort()).toEqual(['will-attach-webview', 'will-navigate', 'will-redirect'])
    expect(second.on.get('will-navigate')).not.toBe(first.on.get('will-navigate'))
    expect(second.openHandler()!({ url: 'https://evil.example/' })).toEqual({ action: 'deny' })
  })
})
