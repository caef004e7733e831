/**
 * The Electron shell: one window, secure by default, wired to the application service. Everything
 * that does real work lives in plain Node modules (src-main/service and below) that the tests run
 * without Electron; this file only connects them to a BrowserWindow.
 */
import { app, BrowserWindow, dialog, Menu } from 'electron'
import { join } from 'node:path'
import { defaultConfigDir } from '../service/app-context'
import { createAppService, type AppService } from '../service/app-service'
import { formatSelfCheck, runSelfCheck, selfCheckExitCode, SELF_CHECK_FLAG } from '../service/self-check'
import { APP_ENTRY_URL, registerAppScheme, serveRenderer } from './app-protocol'
import { registerIpc } from './ipc'
import { reportSaveDialog } from './report-dialog'
import { lockDownSessions } from './lock-down'
import { rememberWindowBounds, restoredWindowBounds } from './window-state'

const log = (message: string): void => console.log(`[kms-scout] ${message}`)

// `--self-check`: load, prove the page → preload → main path and the client log, print the report, exit 0/1
// (src-main/service/self-check.ts; the release workflow's smoke test and docs/release.md).
const selfCheck = process.argv.includes(SELF_CHECK_FLAG)

// The app and the CLI share one config folder (settings, client identity, host cache, lab-host
// log), so a check from either counts as the same client. KMS_SCOUT_CONFIG_DIR overrides it.
const sharedConfigDir = defaultConfigDir(process.env)
// Chromium's own profile data stays in a subfolder, away from the files technicians may open.
app.setPath('userData', join(sharedConfigDir, 'electron-profile'))

// A second launch focuses the first window instead of starting a second lab host or store writer.
if (!app.requestSingleInstanceLock()) {
  if (selfCheck) {
    // Quitting quietly with 0 would report a pass that checked nothing.
    process.stderr.write('kms-scout --self-check: KMS Scout is already running\n  close it and run the self-check again\n')
    app.exit(1)
  } else app.quit()
} else {
  registerAppScheme()
  app.enableSandbox()
  void start().catch((error: unknown) => {
    if (!selfCheck) throw error
    const cause = error instanceof Error ? error.message : String(error)
    process.stderr.write(`kms-scout --self-check: the app did not start: ${cause}\n  see docs/release.md (self-check)\n`)
    app.exit(1)
  })
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
    version: app.getVersion(),
    // Asked here, in main, so the renderer cannot confirm on the person's behalf.
    confirm: async (question) => {
      const options = {
        type: 'warning' as const,
        title: question.title,
        message: question.message,
        detail: question.detail,
        buttons: ['Cancel', question.confirmLabel],
        defaultId: 0,
        cancelId: 0,
        noLink: true
      }
      const result = mainWindow ? await dialog.showMessageBox(mainWindow, options) : await dialog.showMessageBox(options)
      return result.response === 1
    }
  })
  registerIpc(service.handlers, service.events, () => mainWindow, log)
  service.shellHooks.chooseSavePath = reportSaveDialog(() => mainWindow)
  if (selfCheck) return runSelfCheckAndExit(service)

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

async function runSelfCheckAndExit(service: AppService): Promise<void> {
  let window: BrowserWindow | undefined
  const report = await runSelfCheck({
    page: {
      load: async () => {
        window = createWindow(undefined)
        mainWindow = window
        await window.loadURL(APP_ENTRY_URL)
      },
      evaluate: (script) =>
        window === undefined ? Promise.reject(new Error('no window')) : window.webContents.executeJavaScript(script, true)
    },
    handlers: service.handlers,
    configDir: sharedConfigDir,
    expected: { version: app.getVersion(), shell: 'electron' }
  })
  process.stdout.write(formatSelfCheck(report))
  await service.close()
  app.exit(selfCheckExitCode(report))
}

async function createMainWindow(service: AppService): Promise<BrowserWindow> {
  const bounds = await restoredWindowBounds(service)
  const window = createWindow(bounds)
  if (bounds.maximized) window.maximize()
  rememberWindowBounds(window, service)
  window.once('ready-to-show', () => window.show())
  window.on('closed', () => {
    mainWindow = null
  })
  await window.loadURL(APP_ENTRY_URL)
  return window
}

/** The one window, hidden until shown; the self-check never shows it. */
function createWindow(bounds: Awaited<ReturnType<typeof restoredWindowBounds>> | undefined): BrowserWindow {
  return new BrowserWindow({
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
}
