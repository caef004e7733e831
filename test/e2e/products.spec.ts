/**
 * The Products page a technician opens after an upgrade: find a 2025 product, copy its GVLK, and see which host
 * keys (CSVLKs) serve it.
 */
import { test, expect } from './fixtures'

test('products show the GVLK with a copy button and the host keys that serve each', async ({ app }) => {
  const { page } = app
  await page.getByRole('navigation', { name: 'Sections' }).getByRole('button', { name: 'Products', exact: true }).click()
  await page.getByRole('searchbox').fill('Windows Server 2025 Standard')
  const row = page.getByRole('row', { name: /Windows Server 2025 Standard/ }).first()
  await expect(row.getByTestId('product-gvlk')).toHaveText(/^[0-9A-Z]{5}(-[0-9A-Z]{5}){4}$/)
  await expect(row.getByRole('button', { name: /Copy the GVLK of Windows Server 2025 Standard/ })).toBeVisible()
  await row.getByText('Host keys that serve it').click()
  const keys = row.getByTestId('product-host-keys')
  await expect(keys).toContainText('Windows Server 2025')
  await expect(keys).not.toContainText('Windows Server 2019')
  // a search for Windows 11 finds the Windows 10/11 SKU by its other name
  await page.getByRole('searchbox').fill('Windows 11 Pro')
  await expect(page.getByRole('row', { name: /Windows 10 Professional/ }).first()).toBeVisible()
})
