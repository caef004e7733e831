/**
 * The technician's main path: run a check against a KMS host from the UI and read the verdict, the host's
 * identity and every step of the trace.
 */
import { test, expect } from './fixtures'
import { startKmsTestHost, type KmsTestHost } from '../helpers/kms-test-host'

let host: KmsTestHost
test.beforeEach(async () => {
  host = await startKmsTestHost({ count: 50 })
})
test.afterEach(async () => {
  await host.close()
})

test('a check against a host that has enough clients says a client would activate', async ({ app }) => {
  const { page } = app
  await page.getByLabel(/KMS host/).fill(`127.0.0.1:${host.port}`)
  await page.getByRole('button', { name: 'Run check' }).click()

  const result = page.getByTestId('check-result')
  await expect(result).toBeVisible()
  await expect(page.getByTestId('check-status')).toHaveText('OK')
  await expect(page.getByTestId('check-count')).toHaveText('50')
  await expect(result).toContainText('A client of this product would activate')
  // the host key the ePID names, and that it serves the product
  await expect(page.getByTestId('check-host-key')).toContainText(/^host key .+ serves Windows 10 2015 \(Volume\)$/)
  // The detailed trace is one click away, under the timeline.
  await page.getByText(/^Show the trace/).click()
  await expect(page.getByRole('region', { name: 'Why this host — every step' })).toContainText('verified')
  // The host really received the request.
  expect(host.calls).toHaveLength(1)
})

test('a host that cannot be reached is reported with the Windows code technicians search for', async ({ app }) => {
  const { page } = app
  await host.close()
  await page.getByLabel(/KMS host/).fill(`127.0.0.1:${host.port}`)
  await page.getByRole('button', { name: 'Run check' }).click()
  await expect(page.getByTestId('check-status')).toHaveText('CRITICAL')
  await expect(page.getByTestId('windows-code')).toContainText('0xC004F074')
})

test('a malformed host is rejected with a message that says what to fix', async ({ app }) => {
  const { page } = app
  await page.getByLabel(/KMS host/).fill('[::1')
  await page.getByRole('button', { name: 'Run check' }).click()
  await expect(page.getByRole('alert')).toContainText('runCheck: host')
})
