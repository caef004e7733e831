/**
 * Reports for a ticket: "Copy report" puts the text report on the clipboard; "Save report…" writes text, JSON and a
 * self-contained HTML file (no script, no remote content) through the shell's save dialog — here a chooser that
 * answers with a file in the run's config folder — and each file is read back.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test, expect } from './fixtures'
import { startKmsTestHost, type KmsTestHost } from '../helpers/kms-test-host'

let host: KmsTestHost
test.beforeEach(async () => {
  host = await startKmsTestHost({ count: 50 })
})
test.afterEach(async () => {
  await host.close()
})

test('copy and save the check report as text, JSON and self-contained HTML', async ({ app }) => {
  const { page } = app
  const service = app.service
  expect(service, 'the save dialog is stood in for in the bridge target').toBeDefined()
  const saved: string[] = []
  service!.shellHooks.chooseSavePath = async (fileName) => {
    const file = join(app.configDir, fileName)
    saved.push(file)
    return file
  }
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'])

  await page.getByLabel(/KMS host/).fill(`127.0.0.1:${host.port}`)
  await page.getByRole('button', { name: 'Run check' }).click()
  await expect(page.getByTestId('check-status')).toHaveText('OK')

  const actions = page.getByRole('group', { name: 'Report' })
  await actions.getByRole('button', { name: 'Copy report' }).click()
  await expect(actions.getByTestId('report-status')).toContainText('Copied the text report')
  const copied = await page.evaluate(() => navigator.clipboard.readText())
  expect(copied).toContain('KMS Scout — Activation check report')
  expect(copied).toContain('a client of Windows 10 Professional would activate (count 50 of 25)')
  expect(copied).toContain(`127.0.0.1:${host.port}`)

  for (const format of ['text', 'json', 'html'] as const) {
    await actions.getByLabel('Report format').selectOption(format)
    await actions.getByRole('button', { name: 'Save report…' }).click()
    await expect(actions.getByTestId('report-status')).toContainText(`Saved ${saved.at(-1)}`)
  }
  expect(saved.map((file) => file.split('.').pop())).toEqual(['txt', 'json', 'html'])
  const [text, json, html] = await Promise.all(saved.map((file) => readFile(file, 'utf8')))

  expect(text).toContain('Verdict     OK — a client of Windows 10 Professional would activate')
  expect(text).toContain('Timeline (ms from the start)')
  const parsed = JSON.parse(json!) as {
    kind: string
    subject: string
    report: { status: string; answer: { count: number }; timeline: { bars: unknown[] } }
  }
  expect(parsed).toMatchObject({ kind: 'kms-scout-report', subject: 'check', report: { status: 'ok', answer: { count: 50 } } })
  expect(parsed.report.timeline.bars.length).toBeGreaterThan(0)

  expect(html).toContain('<svg')
  expect(html).toContain('★ winner')
  expect(html).toContain("default-src 'none'")
  expect(html).not.toMatch(/<script|<link|<img|<iframe|\bsrc=|\bhref=|url\(/i)

  // The HTML file opens on its own, with nothing blocked or fetched.
  const viewer = await page.context().newPage()
  const requests: string[] = []
  viewer.on('request', (request) => requests.push(request.url()))
  await viewer.goto(`file://${saved[2]}`)
  await expect(viewer.getByRole('heading', { name: 'KMS Scout — Activation check report' })).toBeVisible()
  await expect(viewer.getByRole('img', { name: 'Failover timeline' })).toBeVisible()
  expect(requests).toEqual([`file://${saved[2]}`])
  await viewer.close()
})

test('the discovery and lab-host pages save their reports too', async ({ app }) => {
  const { page } = app
  const saved: string[] = []
  app.service!.shellHooks.chooseSavePath = async (fileName) => {
    saved.push(join(app.configDir, fileName))
    return saved.at(-1)!
  }
  await page.getByRole('button', { name: 'Lab KMS host' }).click()
  await page.getByLabel(/Listen on/).fill('127.0.0.1:0')
  await page.getByRole('button', { name: 'Start lab host' }).click()
  await expect(page.getByTestId('lab-state')).toHaveText('RUNNING')
  await page.getByRole('group', { name: 'Report' }).getByRole('button', { name: 'Save report…' }).click()
  await expect(page.getByTestId('report-status')).toContainText('Saved')
  const labText = await readFile(saved[0]!, 'utf8')
  expect(labText).toContain('KMS Scout — Lab KMS host report')
  expect(labText).toContain('Counts per KMS counted ID')

  // Saving with nothing to report says what to do first.
  await page.getByRole('button', { name: 'DNS discovery' }).click()
  const noRun = await page.evaluate(() => window.kms.saveReport({ subject: 'discovery', format: 'text' }))
  expect(noRun).toMatchObject({ ok: false, error: { code: 'no-report' } })
  await page.getByRole('button', { name: 'Lab KMS host' }).click()
  await page.getByRole('button', { name: 'Stop' }).click()
})
