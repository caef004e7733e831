/**
 * What the Electron shell itself guarantees the renderer, checked in the real app only (the electron project;
 * playwright.config.ts keeps this file out of the bridge target, whose window.kms is the test bridge's own
 * object): no Node in the page, and the preload's window.kms can be neither replaced, deleted nor changed.
 */
import { test, expect } from './fixtures'

test('the renderer has no Node and cannot replace the API object', async ({ app }) => {
  const { page } = app
  await expect(page.getByRole('heading', { name: 'Activation check' })).toBeVisible()

  const globals = await page.evaluate(() => ({
    require: typeof (globalThis as { require?: unknown }).require,
    process: typeof (globalThis as { process?: unknown }).process
  }))
  expect(globals).toEqual({ require: 'undefined', process: 'undefined' })

  const tamper = await page.evaluate(() => {
    const original = window.kms
    const w = window as unknown as Record<string, unknown>
    try {
      w.kms = { getAppInfo: () => 'evil' }
    } catch {
      /* strict-mode assignment to a read-only property throws; sloppy mode ignores it */
    }
    let methodReplaced: boolean
    try {
      ;(window.kms as unknown as Record<string, unknown>).getAppInfo = () => 'evil'
      methodReplaced = (window.kms.getAppInfo as unknown) !== original.getAppInfo
    } catch {
      methodReplaced = false
    }
    return { same: window.kms === original, deleted: delete w.kms, methodReplaced }
  })
  expect(tamper).toEqual({ same: true, deleted: false, methodReplaced: false })
})
