/**
 * `npm run screenshots`: renders the app's pages in Debian's Chromium through the test bridge (the same
 * handler table as the Electron app) and saves PNGs for the README. The scene is a small lab on loopback:
 * the lab KMS host on 127.0.0.1, a host that never answers on 127.0.0.2, and a dnsmasq zone whose
 * `_vlmcs._tcp` records point at both. Needs `npm run build` and dnsmasq. Talks only to loopback.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createAppService } from '../src-main/service/app-service'
import { startBridge } from '../test/e2e/bridge'
import { launchChromium } from '../test/e2e/bridge-page'
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
const browser = await launchChromium()
/** Every page, in the order of the navigation; `file` is the PNG's base name. */
const PAGES = [
  { nav: 'This computer', file: 'this-computer' },
  { nav: 'Other computers', file: 'other-computers' },
  { nav: 'Activation check', file: 'check' },
  { nav: 'DNS discovery', file: 'discovery' },
  { nav: 'Lab KMS host', file: 'lab-host' },
  { nav: 'Products', file: 'products' },
  { nav: 'Settings & overrides', file: 'settings' }
] as const

try {
  // A few lab clients so the host has counts, a chart and a client table to show.
  const { products } = await service.handlers.listProducts(undefined)
  for (const name of ['Windows Server 2019 Standard', 'Office Professional Plus 2019', 'Windows 10 Professional']) {
    const sku = products.find((product) => product.name === name)
    if (sku) await service.handlers.runCheck({ host: { host: '127.0.0.1', port: labPort }, productSkuId: sku.guid })
  }

  // Dark and light, as the OS asks (the app follows prefers-color-scheme); dark keeps the README's old names.
  for (const colorScheme of ['dark', 'light'] as const) {
    const suffix = colorScheme === 'dark' ? '' : '-light'
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme })
    await context.addInitScript({ content: bridge.initScript })
    const page = await context.newPage()
    await page.goto(bridge.url)
    for (const { nav, file } of PAGES) {
      await page.getByRole('navigation', { name: 'Sections' }).getByRole('button', { name: nav, exact: true }).click()
      if (file === 'check') {
        const form = page.getByRole('form', { name: 'Check options' })
        await form.getByLabel(/Lookup domain/).fill(zone)
        await form.getByLabel(/DNS server/).fill(dns.spec4)
        await form.getByLabel('Ignore the cached host').check()
        await form.getByRole('button', { name: 'Run check' }).click()
        await page.getByTestId('timeline').waitFor()
        // The verdict and the timeline, not the form, fill the picture.
        await page.getByRole('group', { name: 'Report' }).scrollIntoViewIfNeeded()
      } else if (file === 'discovery') {
        const form = page.getByRole('form', { name: 'Discovery options' })
        await form.getByLabel(/Lookup domain/).fill(zone)
        await form.getByLabel(/DNS server/).fill(dns.spec4)
        await form.getByRole('button', { name: 'Discover', exact: true }).click()
        await page.getByRole('button', { name: /^Probe all hosts/ }).click()
        await page.getByText('answers').first().waitFor()
        await page.getByRole('region', { name: 'Discovery result' }).scrollIntoViewIfNeeded()
      } else if (file === 'lab-host') {
        await page.getByTestId('count-group').first().waitFor()
      } else {
        await page.getByRole('heading', { level: 2 }).first().waitFor()
      }
      await page.screenshot({ path: join(out, `${file}${suffix}.png`) })
    }
    await context.close()
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
