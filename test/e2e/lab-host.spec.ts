/**
 * The lab host from the UI: start it on loopback, let the app's own check talk to it, and see the client in
 * its request list.
 */
import { test, expect } from './fixtures'

test('start the lab host, check against it, and see the request it logged', async ({ app }) => {
  const { page } = app
  await page.getByRole('button', { name: 'Lab KMS host' }).click()
  await expect(page.getByText('not a way to activate unlicensed machines')).toBeVisible()
  await page.getByLabel(/Listen on/).fill('127.0.0.1:0')
  await page.getByRole('button', { name: 'Start lab host' }).click()
  await expect(page.getByTestId('lab-state')).toHaveText('RUNNING')
  const address = (await page.getByTestId('lab-addresses').innerText()).trim()
  expect(address).toMatch(/^127\.0\.0\.1:\d+$/)

  await page.getByRole('button', { name: 'Activation check' }).click()
  await page.getByLabel(/KMS host/).fill(address)
  await page.getByRole('button', { name: 'Run check' }).click()
  // One client so far, the product needs 25: a real host would not activate yet.
  await expect(page.getByTestId('check-status')).toHaveText('WARNING')
  await expect(page.getByTestId('check-count')).toHaveText('1')

  await page.getByRole('button', { name: 'Lab KMS host' }).click()
  await expect(page.getByTestId('lab-requests')).toContainText('1 answered')
  await expect(page.getByRole('region', { name: 'Recent requests' })).toContainText('Windows 10 Professional')
  await page.getByRole('button', { name: 'Stop' }).click()
  await expect(page.getByRole('button', { name: 'Start lab host' })).toBeVisible()
})

test('listening beyond loopback needs an explicit confirmation', async ({ app }) => {
  const { page } = app
  await page.getByRole('button', { name: 'Lab KMS host' }).click()
  await page.getByLabel(/Listen on/).fill('0.0.0.0:0')
  await expect(page.getByRole('button', { name: 'Start lab host' })).toBeDisabled()
  await expect(page.getByText('This is an isolated lab network')).toBeVisible()
})
