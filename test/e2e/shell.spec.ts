/**
 * Proves the shell: the app loads, one API method works end to end, one main→renderer event
 * arrives, and the page's CSP holds. What only the real shell provides (no Node, window.kms not
 * replaceable: the preload and contextIsolation) is in shell-isolation.electron.spec.ts, for the
 * electron target alone — in the bridge target window.kms is the test bridge's own object.
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

test('the page runs no script its CSP does not allow: no inline script, no eval', async ({ app }) => {
  const { page } = app
  await expect(page.getByRole('heading', { name: 'Activation check' })).toBeVisible()

  // The CSP is the app's (RENDERER_CSP, sent by the app protocol and by the bridge alike, and in index.html).
  const blocked = await page.evaluate(async () => {
    const violations: string[] = []
    document.addEventListener('securitypolicyviolation', (event) => violations.push(event.violatedDirective))
    const inlineReported = new Promise<void>((resolve) =>
      document.addEventListener('securitypolicyviolation', () => resolve(), { once: true })
    )
    const script = document.createElement('script')
    script.textContent = 'window.__inlineRan = true'
    document.body.appendChild(script)
    await inlineReported
    let evalRan: boolean
    try {
      evalRan = new Function('return true')() === true
    } catch {
      evalRan = false
    }
    return { inlineRan: (window as unknown as { __inlineRan?: boolean }).__inlineRan === true, evalRan, violations }
  })
  expect(blocked).toMatchObject({ inlineRan: false, evalRan: false })
  expect(blocked.violations[0]).toMatch(/^script-src/)
})
