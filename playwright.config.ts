import { defineConfig } from '@playwright/test'
import type { Target } from './test/e2e/fixtures'
import type { NotRunProject } from './test/e2e/not-run-reporter'

/**
 * One set of specs, two targets:
 * - `chromium-bridge` (always): the built renderer served by the test bridge, in Debian's
 *   Chromium (CHROMIUM_PATH, default /usr/bin/chromium). Specs named `*.electron.spec.ts` check what
 *   only the real shell provides (the preload's isolation) and are not run here.
 * - `electron` (when ELECTRON_EXEC_PATH points at an Electron binary): the real app, launched
 *   through Playwright's _electron. Without one, the run says so ("[electron] not run: …").
 */
const ELECTRON_ONLY = '**/*.electron.spec.ts'
const projects: Array<{ name: string; use: { target: Target }; testIgnore?: string }> = [
  { name: 'chromium-bridge', use: { target: 'bridge' }, testIgnore: ELECTRON_ONLY }
]
const notRun: NotRunProject[] = []
if (process.env.ELECTRON_EXEC_PATH) projects.push({ name: 'electron', use: { target: 'electron' } })
else notRun.push({ project: 'electron', reason: 'no Electron binary (set ELECTRON_EXEC_PATH to one to run every spec in the real app)' })

export default defineConfig<{ target: Target }>({
  testDir: 'test/e2e',
  testMatch: '**/*.spec.ts',
  fullyParallel: false,
  workers: 1,
  forbidOnly: true,
  retries: 0,
  reporter: [['list'], ['./test/e2e/not-run-reporter.ts', { notRun }]],
  timeout: 60_000,
  outputDir: 'test-results',
  projects
})
