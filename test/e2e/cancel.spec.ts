/**
 * Cancel: a check against a host that accepts and never answers is stopped from the page — the attempt in flight
 * is aborted and the result says the check was cancelled, long before any timeout or deadline.
 */
import { test, expect } from './fixtures'
import { startHangingListener, type HangingListener } from '../helpers/hanging-listener'

let hung: HangingListener

test.beforeEach(async () => {
  hung = await startHangingListener('127.0.0.2')
})
test.afterEach(async () => {
  await hung.close()
})

test('a running check can be cancelled from the page', async ({ app }) => {
  const { page } = app
  await page.getByLabel(/KMS host/).fill(`127.0.0.2:${hung.port}`)
  await page.getByRole('button', { name: 'Run check' }).click()
  await expect(page.getByTestId('check-progress')).toBeVisible()
  // the host has the connection and says nothing: without Cancel this would wait for the bind timeout
  await expect.poll(() => hung.accepted()).toBeGreaterThan(0)
  await page.getByTestId('check-cancel').click()
  await expect(page.getByTestId('check-status')).toHaveText('UNKNOWN')
  await expect(page.getByTestId('check-result')).toContainText(/cancel/i)
  // the aborted attempt closed its connection
  await hung.waitForClosed(1)
})
