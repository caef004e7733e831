/**
 * The host cache from Settings: a check that found its host in DNS caches it; Settings shows the entry (host,
 * port, the address that answered, since when) and clears it — the next check discovers again.
 */
import { test, expect } from './fixtures'
import { startDnsmasq, type RunningDnsmasq } from '../helpers/dnsmasq'
import { startKmsTestHost, type KmsTestHost } from '../helpers/kms-test-host'

const zone = 'cache.example.test'
let host: KmsTestHost
let dns: RunningDnsmasq

test.beforeEach(async () => {
  host = await startKmsTestHost({ count: 50 })
  dns = await startDnsmasq([
    `local=/${zone}/`,
    `host-record=kms.${zone},127.0.0.1`,
    `srv-host=_vlmcs._tcp.${zone},kms.${zone},${host.port},0,0`
  ])
})
test.afterEach(async () => {
  await dns.stop()
  await host.close()
})

test('a host found in DNS is cached; Settings shows it and clears it', async ({ app }) => {
  const { page } = app
  await page.getByLabel(/Lookup domain/).fill(zone)
  await page.getByLabel(/DNS server/).fill(dns.spec4)
  await page.getByRole('button', { name: 'Run check' }).click()
  await expect(page.getByTestId('check-status')).toHaveText('OK')

  await page.getByRole('button', { name: 'Settings & overrides' }).click()
  const card = page.getByRole('region', { name: 'Host cache' })
  const entry = card.getByTestId('host-cache-entry')
  await expect(entry).toHaveCount(1)
  await expect(entry).toContainText('Windows')
  await expect(entry).toContainText(`kms.${zone}:${host.port}`)
  await expect(entry).toContainText('127.0.0.1')

  await card.getByRole('button', { name: 'Clear host cache' }).click()
  await expect(card.getByTestId('host-cache-empty')).toBeVisible()
  // Cleared in the file the CLI reads too.
  if (app.service) expect((await app.service.handlers.hostCacheShow(undefined)).entries).toEqual([])

  // The next check finds its host through DNS again, not the cache.
  await page.getByRole('button', { name: 'Activation check' }).click()
  await page.getByRole('button', { name: 'Run check' }).click()
  await expect(page.getByTestId('check-status')).toHaveText('OK')
  await expect(page.getByTestId('check-result')).toContainText('found in DNS')
})
