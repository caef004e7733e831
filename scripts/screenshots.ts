/**
 * `npm run screenshots`: renders the app's pages in Debian's Chromium through the test bridge (the same
 * handler table as the Electron app) against KMS hosts on loopback, and saves PNGs for the README.
 * Needs `npm run build` first. Talks only to 127.0.0.1.
 */
import { chromium } from '@playwright/test'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createAppService } from '../src-main/service/app-service'
import { bridgeInitScript, startBridge } from '../test/e2e/bridge'
import { startKmsTestHost } from '../test/helpers/kms-test-host'

const root = resolve(import.meta.dirname, '..')
const out = join(root, 'docs/screenshots')
const configDir = await mkdtemp(join(tmpdir(), 'kms-scout-screens-'))
const kmsHost = await startKmsTestHost({ count: 31 })
const service = await createAppService({ shell: 'bridge', configDir, version: '0.1.0' })
const bridge = await startBridge(service, join(root, 'out/renderer'))
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
})
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, deviceScaleFactor: 1 })
  await context.addInitScript({ content: bridgeInitScript() })
  const page = await context.newPage()
  await page.goto(bridge.url)

  await page.getByLabel(/KMS host/).fill(`127.0.0.1:${kmsHost.port}`)
  await page.getByRole('button', { name: 'Run check' }).click()
  await page.getByTestId('check-result').waitFor()
  await page.screenshot({ path: join(out, 'check.png') })

  for (const [nav, file] of [['Products', 'products.png'], ['Settings & overrides', 'settings.png']] as const) {
    await page.getByRole('button', { name: nav }).click()
    await page.waitForTimeout(300)
    await page.screenshot({ path: join(out, file) })
  }
  console.log(`screenshots written to ${out}`)
} finally {
  await browser.close()
  await bridge.close()
  await service.close()
  await kmsHost.close()
  await rm(configDir, { recursive: true, force: true })
}
