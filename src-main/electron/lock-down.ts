/**
 * No navigation, no new windows, no permissions, no webviews — for every web contents. Its own module so
 * the handlers can be tested with a mocked `electron` (test/electron/lock-down.test.ts).
 *
 * The one permission granted: writing (sanitised) text to the clipboard, for our own page only — "Copy report"
 * puts a report on the clipboard for a chat or a ticket. Reading the clipboard stays refused.
 */
import { app, session } from 'electron'
import { isAppUrl } from './app-protocol'

const CLIPBOARD_WRITE = 'clipboard-sanitized-write'

export function lockDownSessions(): void {
  session.defaultSession.setPermissionRequestHandler((_contents, permission, callback, details) =>
    callback(permission === CLIPBOARD_WRITE && isAppUrl(details?.requestingUrl ?? ''))
  )
  session.defaultSession.setPermissionCheckHandler(
    (_contents, permission, requestingOrigin) => permission === CLIPBOARD_WRITE && isAppUrl(`${requestingOrigin}/`)
  )
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (event, url) => {
      if (!isAppUrl(url)) event.preventDefault()
    })
    contents.on('will-redirect', (event, url) => {
      if (!isAppUrl(url)) event.preventDefault()
    })
    contents.on('will-attach-webview', (event) => event.preventDefault())
    // The app has no links to follow: every new-window request is refused.
    contents.setWindowOpenHandler(() => ({ action: 'deny' }))
  })
}
