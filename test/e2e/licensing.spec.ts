/**
 * The activation manager through the whole stack — renderer → API → service → adapter → PowerShell — with the
 * recorded-output stand-in named in KMS_SCOUT_POWERSHELL (test/fixtures/licensing): the This computer page and the
 * Other computers view render recorded states, and an action is reviewed, confirmed and run.
 */
import { test, expect } from './fixtures'
import { fakePowerShell, type FakePowerShell } from '../licensing/fake-powershell'

let fake: FakePowerShell
const saved: Record<string, string | undefined> = {}

test.beforeAll(async () => {
  fake = await fakePowerShell({
    read: { stdoutFile: 'ps7-many-products.json' },
    'read@pc01': { stdoutFile: 'ps51-one-product-licensed.json' },
    'read@pc02': { stdoutFile: 'error-winrm-off.json', exitCode: 1 },
    'set-host': { stdout: JSON.stringify({ schema: 1, action: 'set-host', returnValues: [0, 0] }) },
    'refresh@pc01': { stdout: JSON.stringify({ schema: 1, action: 'refresh', returnValues: [0] }) }
  })
  // The bridge's service reads the environment at each call; Electron gets it at launch.
  for (const name of ['KMS_SCOUT_POWERSHELL', 'FAKE_PS_SCENARIO', 'FAKE_PS_LOG']) {
    saved[name] = process.env[name]
    process.env[name] = fake.env[name]
  }
})

test.afterAll(async () => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name]
    else process.env[name] = value
  }
  await fake.cleanup()
})

test('This computer: every product at a glance, and an action reviewed, confirmed and run', async ({ app }) => {
  const { page } = app
  await page.getByRole('button', { name: 'This computer' }).click()
  await expect(page.getByTestId('machine-summary')).toHaveText(/2 of 3 product\(s\) not licensed/)
  const cards = page.getByTestId('product-card')
  await expect(cards).toHaveCount(3)
  await expect(cards.nth(0).getByTestId('product-status')).toHaveText('Notification')
  await expect(cards.nth(0)).toContainText('0xC004F00F Hardware ID binding is beyond tolerance')
  await expect(cards.nth(0)).toContainText('kms.lab.example:1688')
  await expect(cards.nth(1).getByTestId('product-status')).toHaveText('Licensed')
  await expect(cards.nth(2).getByTestId('product-status')).toHaveText('Initial grace period: 30 day(s) left')

  await page.getByRole('combobox', { name: 'Action' }).selectOption('set-host')
  await page.getByRole('textbox', { name: /KMS host/ }).fill('kms02.corp.example:11688')
  await page.getByRole('button', { name: 'Review…' }).click()
  await expect(page.getByTestId('action-plan')).toContainText('Set the KMS host of this computer to kms02.corp.example:11688 (slmgr /skms)')
  expect((await fake.runs()).some((r) => r.request.action === 'set-host')).toBe(false)
  await page.getByRole('button', { name: 'Confirm' }).click()
  await expect(page.getByTestId('action-outcome')).toContainText('done: set-host on this computer')
  const action = (await fake.runs()).find((r) => r.request.action === 'set-host')
  expect(action?.request).toMatchObject({ host: 'kms02.corp.example', port: 11688, computer: null })
})

test('Other computers: one row per computer with its state or the reason and fix, and an action on them', async ({ app }) => {
  const { page } = app
  await page.getByRole('button', { name: 'Other computers' }).click()
  await page.getByRole('textbox', { name: 'Computers' }).fill('pc01, pc02')
  await page.getByRole('button', { name: 'Read' }).click()
  const table = page.getByTestId('computers-table')
  await expect(table.getByRole('row')).toHaveCount(3)
  await expect(table.getByRole('row').nth(1)).toContainText('1 product(s), all licensed')
  await expect(table.getByRole('row').nth(1)).toContainText('kms01.corp.example:1688')
  await expect(table.getByRole('row').nth(2)).toContainText('winrm-off')
  await expect(table.getByRole('row').nth(2)).toContainText('winrm quickconfig')

  await page.getByRole('combobox', { name: 'Action' }).selectOption('refresh')
  await page.getByRole('button', { name: 'Review…' }).click()
  await expect(page.getByTestId('action-plan')).toContainText('Refresh the licence status of pc01')
  await page.getByRole('button', { name: 'Confirm' }).click()
  await expect(page.getByTestId('action-outcome').first()).toContainText('pc01: done: refresh on pc01')
  await expect(page.getByTestId('action-outcome').nth(1)).toContainText('pc02')
})
