/**
 * No navigation, no new windows, no permissions, no webviews — for every web contents. Its own module so
 * the handlers can be tested with a mocked `electron` (test/electron/lock-down.test.ts).
 */
import { app, session } from 'electron'
import { isAppUrl } from './app-protocol'

export function lockDownSessions(): void {
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false))
  session.defaultSession.setPermissionCheckHandler(() => false)
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
