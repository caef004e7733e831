import { defineConfig } from '@playwright/test'
import type { Target } from './test/e2e/fixtures'

/**
 * One set of specs, two targets:
 * - `chromium-bridge` (always): the built renderer served by the test bridge, in Debian's
 *   Chromium (CHROMIUM_PATH, default /usr/bin/chromium).
 * - `electron` (when ELECTRON_EXEC_PATH points at an Electron binary): the real app, launched
 *   through Playwright's _electron.
 */
const projects: Array<{ name: string; use: { target: Target } }> = [{ name: 'chromium-bridge', use: { target: 'bridge' } }]
if (process.env.ELECTRON_EXEC_PATH) projects.push({ name: 'electron', use: { target: 'electron' } })

export default defineConfig<{ target: Target }>({
  testDir: 'test/e2e',
  testMatch: '**/*.spec.ts',
  fullyParallel: false,
  workers: 1,
  forbidOnly: true,
  retries: 0,
  reporter: process.env.CI ? [['list']] : [['list']],
  timeout: 60_000,
  outputDir: 'test-results',
  projects
})
