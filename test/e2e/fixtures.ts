/**
 * Playwright fixtures that give each spec the running app, whichever the target:
 * - bridge: the application service in this process + the test bridge + Debian's Chromium;
 * - electron: the real app built in out/, launched with ELECTRON_EXEC_PATH.
 */
import { test as base, chromium, _electron, type Page } from '@playwright/test'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createAppService, type AppService } from '../../src-main/service/app-service'
import { startBridge, type Bridge } from './bridge'

export type Target = 'bridge' | 'electron'

export interface RunningApp {
  page: Page
  target: Target
  configDir: string
  /** Present for the bridge target: lets a spec wait until the page's event stream is open. */
  bridge?: Bridge
  service?: AppService
}

const repoRoot = resolve(import.meta.dirname, '../..')
const rendererDir = join(repoRoot, 'out/renderer')

/** Flags that keep Chromium quiet and local on a machine without internet (see stack notes). */
const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
]

export const test = base.extend<{ app: RunningApp }, { target: Target }>({
  target: ['bridge', { option: true, scope: 'worker' }],
  app: async ({ target }, use) => {
    if (!existsSync(join(rendererDir, 'index.html'))) {
      throw new Error('out/renderer is missing: run `npm run build` before the e2e specs')
    }
    const configDir = await mkdtemp(join(tmpdir(), 'kms-scout-e2e-'))
    try {
      if (target === 'electron') {
        const electronApp = await _electron.launch({
          executablePath: process.env.ELECTRON_EXEC_PATH,
          args: [join(repoRoot, 'out/main/index.js')],
          env: { ...process.env, KMS_SCOUT_CONFIG_DIR: configDir }
        })
        try {
          const page = await electronApp.firstWindow()
          await use({ page, target, configDir })
        } finally {
          await electronApp.close()
        }
      } else {
        const service = await createAppService({ shell: 'bridge', configDir, version: '0.0.0-e2e' })
        const bridge = await startBridge(service, rendererDir)
        const browser = await chromium.launch({
          executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
          args: CHROMIUM_ARGS
        })
        try {
          const context = await browser.newContext({ viewport: { width: 1280, height: 820 } })
          await context.addInitScript({ content: bridge.initScript })
          const page = await context.newPage()
          await page.goto(bridge.url)
          await use({ page, target, configDir, bridge, service })
        } finally {
          await browser.close()
          await bridge.close()
          await service.close()
        }
      }
    } finally {
      await rm(configDir, { recursive: true, force: true })
    }
  }
})

export { expect } from '@playwright/test'
