/**
 * Playwright fixtures that give each spec the running app, whichever the target:
 * - bridge: the application service in this process + the test bridge + Debian's Chromium;
 * - electron: the real app built in out/, launched with ELECTRON_EXEC_PATH.
 */
import { test as base, _electron, type Page } from '@playwright/test'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AppService } from '../../src-main/service/app-service'
import type { Bridge } from './bridge'
import { openBridgePage, repoRoot, requireBuiltRenderer } from './bridge-page'

export type Target = 'bridge' | 'electron'

export interface RunningApp {
  page: Page
  target: Target
  configDir: string
  /** Present for the bridge target: lets a spec wait until the page's event stream is open. */
  bridge?: Bridge
  service?: AppService
}

export const test = base.extend<{ app: RunningApp }, { target: Target }>({
  target: ['bridge', { option: true, scope: 'worker' }],
  app: async ({ target }, use) => {
    requireBuiltRenderer()
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
        const opened = await openBridgePage({ configDir, version: '0.0.0-e2e' })
        try {
          await opened.page.goto(opened.bridge.url)
          await use({ page: opened.page, target, configDir, bridge: opened.bridge, service: opened.service })
        } finally {
          await opened.close()
        }
      }
    } finally {
      await rm(configDir, { recursive: true, force: true })
    }
  }
})

export { expect } from '@playwright/test'
