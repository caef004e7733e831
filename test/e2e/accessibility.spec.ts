/**
 * Feel and access: axe-core finds no serious or critical problem on any page, in the dark and the light theme
 * (both follow the OS); the check page works from the keyboard alone with a visible focus; the last page and the
 * form's values are remembered; and no page overflows or overlaps at 1024×700 and at 1920×1080.
 */
import type { Page } from '@playwright/test'
import { test, expect } from './fixtures'
import { seriousFindings } from './axe'
import { startKmsTestHost } from '../helpers/kms-test-host'

const PAGES = [
  'This computer',
  'Other computers',
  'Activation check',
  'DNS discovery',
  'Lab KMS host',
  'Products',
  'Settings & overrides'
] as const

async function openPage(page: Page, name: (typeof PAGES)[number]): Promise<void> {
  await page.getByRole('navigation', { name: 'Sections' }).getByRole('button', { name, exact: true }).click()
  await expect(page.getByRole('heading', { level: 2 }).first()).toBeVisible()
  await expect(page.getByRole('button', { name, exact: true })).toHaveAttribute('aria-current', 'page')
}

for (const colorScheme of ['dark', 'light'] as const) {
  test(`every page passes the accessibility check in the ${colorScheme} theme`, async ({ app }) => {
    const { page } = app
    await page.emulateMedia({ colorScheme })
    for (const name of PAGES) {
      await openPage(page, name)
      expect(await seriousFindings(page), name).toEqual([])
    }
  })
}

test('the check page works from the keyboard alone, with a visible focus', async ({ app }) => {
  const host = await startKmsTestHost({ count: 50 })
  try {
    const { page } = app
    await openPage(page, 'Activation check')
    const hostField = page.getByLabel(/KMS host/)
    // Tab from the navigation into the form, to the host field.
    await page.getByRole('button', { name: 'Activation check', exact: true }).focus()
    for (let i = 0; i < 10 && !(await hostField.evaluate((el) => el === document.activeElement)); i++) await page.keyboard.press('Tab')
    await expect(hostField).toBeFocused()
    const outline = await hostField.evaluate((el) => getComputedStyle(el).outlineStyle)
    expect(outline).not.toBe('none')
    await page.keyboard.type(`127.0.0.1:${host.port}`)
    // Enter submits the form from the field.
    await page.keyboard.press('Enter')
    await expect(page.getByTestId('check-status')).toHaveText('OK')

    // Tab on to the report actions and the trace, and open the trace with the keyboard.
    const summary = page.getByText(/^Show the trace/)
    for (let i = 0; i < 30 && !(await summary.evaluate((el) => el === document.activeElement)); i++) await page.keyboard.press('Tab')
    await expect(summary).toBeFocused()
    expect(await summary.evaluate((el) => getComputedStyle(el).outlineStyle)).not.toBe('none')
    await page.keyboard.press('Enter')
    await expect(page.getByRole('region', { name: 'Why this host — every step' })).toContainText('verified')
  } finally {
    await host.close()
  }
})

test('the last page and the form values are remembered after a reload', async ({ app }) => {
  const { page } = app
  await openPage(page, 'DNS discovery')
  await page.getByLabel(/Lookup domain/).fill('lab.example.test')
  await page.reload()
  await expect(page.getByRole('button', { name: 'DNS discovery', exact: true })).toHaveAttribute('aria-current', 'page')
  await expect(page.getByLabel(/Lookup domain/)).toHaveValue('lab.example.test')
})

for (const viewport of [
  { width: 1024, height: 700 },
  { width: 1920, height: 1080 }
]) {
  test(`no page overflows or overlaps at ${viewport.width}×${viewport.height}`, async ({ app }) => {
    const { page } = app
    await page.setViewportSize(viewport)
    for (const name of PAGES) {
      await openPage(page, name)
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
      expect(overflow, `${name} is wider than the window`).toBeLessThanOrEqual(0)
    }
    // Settings: the label stays one line next to its field; the Save button keeps clear of the next card.
    const label = page.getByText('Lookup domain (/skms-domain)')
    const box = (await label.boundingBox())!
    const lineHeight = await label.evaluate((el) => parseFloat(getComputedStyle(el).lineHeight) || 20)
    expect(box.height).toBeLessThan(lineHeight * 1.6)
    const save = (await page.getByRole('button', { name: 'Save settings' }).boundingBox())!
    const next = (await page.getByRole('region', { name: 'Host cache' }).boundingBox())!
    expect(next.y - (save.y + save.height)).toBeGreaterThanOrEqual(8)
  })
}
