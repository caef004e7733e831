/**
 * `npm run screenshots`: renders the app's pages in Debian's Chromium through the test bridge (the same
 * handler table as the Electron app) and saves PNGs for the README. The scene is a small lab on loopback:
 * the lab KMS host on 127.0.0.1, a host that never answers on 127.0.0.2, and a dnsmasq zone whose
 * `_vlmcs._tcp` records point at both. Needs `npm run build` and dnsmasq. Talks only to loopback.
 */
import { chromium } from '@playwright/test'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createAppService } from '../src-main/service/app-service'
import { startBridge } from '../test/e2e/bridge'
import { startDnsmasq } from '../test/helpers/dnsmasq'
import { startHangingListener } from '../test/helpers/hanging-listener'

const root = resolve(import.meta.dirname, '..')
const out = join(root, 'docs/screenshots')
const zone = 'lab.example.test'
const configDir = await mkdtemp(join(tmpdir(), 'kms-scout-screens-'))
const service = await createAppService({ shell: 'bridge', configDir, version: '0.1.0' })
const lab = await service.handlers.startLabHost({ listen: ['127.0.0.1:0'] })
const labPort = lab.status!.addresses[0]!.port
const silent = await startHangingListener('127.0.0.2')
const dns = await startDnsmasq([
  `local=/${zone}/`,
  `host-record=kms01.${zone},127.0.0.1`,
  `host-record=kms02.${zone},127.0.0.2`,
  `host-record=kms-dr.${zone},127.0.0.1`,
  `srv-host=_vlmcs._tcp.${zone},kms02.${zone},${silent.port},0,90`,
  `srv-host=_vlmcs._tcp.${zone},kms01.${zone},${labPort},0,10`,
  `srv-host=_vlmcs._tcp.${zone},kms-dr.${zone},${labPort},10,0`
])
const bridge = await startBridge(service, join(root, 'out/renderer'))
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: [
    '--headless=new',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync'
  ]
})
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  await context.addInitScript({ content: bridge.initScript })
  const page = await context.newPage()
  await page.goto(bridge.url)

  // A few lab clients so the host has something to show.
  const { products } = await service.handlers.listProducts(undefined)
  for (const name of ['Windows Server 2019 Standard', 'Office Professional Plus 2019']) {
    const sku = products.find((product) => product.name === name)
    if (sku) await service.handlers.runCheck({ host: { host: '127.0.0.1', port: labPort }, productSkuId: sku.guid })
  }

  await page.getByLabel(/Lookup domain/).fill(zone)
  await page.getByLabel(/DNS server/).fill(dns.spec4)
  await page.getByRole('button', { name: 'Run check' }).click()
  await page.getByTestId('check-result').waitFor()
  await page.screenshot({ path: join(out, 'check.png'), fullPage: false })

  await page.getByRole('button', { name: 'DNS discovery' }).click()
  await page.getByLabel(/Lookup domain/).fill(zone)
  await page.getByLabel(/DNS server/).fill(dns.spec4)
  await page.getByRole('button', { name: 'Discover', exact: true }).click()
  await page.getByRole('region', { name: `_vlmcs._tcp.${zone}` }).waitFor()
  await page.screenshot({ path: join(out, 'discovery.png') })

  await page.getByRole('button', { name: 'Lab KMS host' }).click()
  await page.getByTestId('lab-state').waitFor()
  await page.screenshot({ path: join(out, 'lab-host.png') })

  for (const [nav, file] of [
    ['Products', 'products.png'],
    ['Settings & overrides', 'settings.png']
  ] as const) {
    await page.getByRole('button', { name: nav }).click()
    await page.getByRole('heading', { name: nav === 'Products' ? 'Products' : 'Settings & overrides' }).waitFor()
    await page.screenshot({ path: join(out, file) })
  }
  console.log(`screenshots written to ${out}`)
} finally {
  await browser.close()
  await bridge.close()
  await service.close()
  await dns.stop()
  await silent.close()
  await rm(configDir, { recursive: true, force: true })
}
