/**
 * Proves the shell: the app loads, one API method works end to end, one main→renderer event
 * arrives, and the renderer is locked down (CSP, no Node, API object not replaceable).
 */
import { test, expect } from './fixtures'

test('the app loads and calls the API end to end', async ({ app }) => {
  const { page } = app
  await expect(page.getByRole('heading', { name: 'Activation check' })).toBeVisible()
  // getAppInfo travelled renderer → main → renderer.
  await expect(page.getByTestId('app-info')).toContainText(app.target === 'bridge' ? 'bridge' : 'electron')
})

test('a settings change is validated in main, saved, and announced by an event', async ({ app }) => {
  const { page } = app
  await page.getByRole('button', { name: 'Settings & overrides' }).click()
  await page.getByLabel('Use a fixed KMS host instead of DNS discovery').check()
  await page.getByLabel('Host name or IP').fill('kms01.lab.example.test')
  await app.bridge?.eventStreamConnected()
  await page.getByRole('button', { name: 'Save settings' }).click()
  await expect(page.getByTestId('settings-status')).toHaveText('Settings saved.')
  // The settingsChanged event came back from main.
  await expect(page.getByTestId('settings-changed-event')).toBeVisible()

  // Bad input is rejected by main's validation with a message naming the field.
  await page.getByLabel(/DNS server/).fill('not-an-address')
  await page.getByRole('button', { name: 'Save settings' }).click()
  await expect(page.getByTestId('settings-status')).toContainText('client.dnsServer')
})

test('the renderer is locked down', async ({ app }) => {
  const { page } = app
  await expect(page.getByRole('heading', { name: 'Activation check' })).toBeVisible()

  const inline = await page.evaluate(async () => {
    const violation = new Promise<string>((resolve) =>
      document.addEventListener('securitypolicyviolation', (event) => resolve(event.violatedDirective), { once: true })
    )
    const script = document.createElement('script')
    script.textContent = 'window.__inlineRan = true'
    document.body.appendChild(script)
    return { directive: await violation, ran: (window as unknown as { __inlineRan?: boolean }).__inlineRan === true }
  })
  expect(inline.ran).toBe(false)
  expect(inline.directive).toMatch(/^script-src/)

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
