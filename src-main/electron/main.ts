/**
 * The Electron shell: one window, secure by default, wired to the application service. Everything
 * that does real work lives in plain Node modules (src-main/service and below) that the tests run
 * without Electron; this file only connects them to a BrowserWindow.
 */
import { app, BrowserWindow, Menu, session } from 'electron'
import { join } from 'node:path'
import { defaultConfigDir } from '../service/app-context'
import { createAppService, type AppService } from '../service/app-service'
import { APP_ENTRY_URL, isAppUrl, registerAppScheme, serveRenderer } from './app-protocol'
import { registerIpc } from './ipc'
import { rememberWindowBounds, restoredWindowBounds } from './window-state'

const log = (message: string): void => console.log(`[kms-scout] ${message}`)

// The app and the CLI share one config folder (settings, client identity, host cache, lab-host
// log), so a check from either counts as the same client. KMS_SCOUT_CONFIG_DIR overrides it.
const sharedConfigDir = defaultConfigDir(process.env)
// Chromium's own profile data stays in a subfolder, away from the files technicians may open.
app.setPath('userData', join(sharedConfigDir, 'electron-profile'))

// A second launch focuses the first window instead of starting a second lab host or store writer.
if (!app.requestSingleInstanceLock()) {
  app.quit()
} else {
  registerAppScheme()
  app.enableSandbox()
  void start()
}

let mainWindow: BrowserWindow | null = null

async function start(): Promise<void> {
  await app.whenReady()
  Menu.setApplicationMenu(null)
  lockDownSessions()
  serveRenderer(join(import.meta.dirname, '../renderer'))

  const service: AppService = await createAppService({
    shell: 'electron',
    configDir: sharedConfigDir,
    version: app.getVersion()
  })
  registerIpc(service.handlers, service.events, () => mainWindow, log)

  app.on('second-instance', () => {
    if (mainWindow === null) return
    if (mainWindow.isMinimized()) mainWindow.restore()
    mainWindow.focus()
  })
  app.on('window-all-closed', () => app.quit())
  // Stop the lab host gracefully (in-flight exchanges finish, the client log is closed) before exiting.
  let closed = false
  app.on('before-quit', (event) => {
    if (closed) return
    event.preventDefault()
    void service.close().finally(() => {
      closed = true
      app.quit()
    })
  })

  mainWindow = await createMainWindow(service)
}

async function createMainWindow(service: AppService): Promise<BrowserWindow> {
  const bounds = await restoredWindowBounds(service)
  const window = new BrowserWindow({
    ...bounds,
    minWidth: 900,
    minHeight: 600,
    show: false,
    title: 'KMS Scout',
    backgroundColor: '#0f172a',
    webPreferences: {
      // Reviewed for electronegativity's PRELOAD_JS_CHECK (see electron.vite.config.ts): the
      // sandboxed preload exposes only the typed API contract; main validates every payload.
      preload: join(import.meta.dirname, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webviewTag: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      // Middle-click could otherwise open a link in a new window.
      disableBlinkFeatures: 'Auxclick'
    }
  })
  if (bounds.maximized) window.maximize()
  rememberWindowBounds(window, service)
  window.once('ready-to-show', () => window.show())
  window.on('closed', () => {
    mainWindow = null
  })
  await window.loadURL(APP_ENTRY_URL)
  return window
}

/** No navigation, no new windows, no permissions, no webviews — for every web contents. */
function lockDownSessions(): void {
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
