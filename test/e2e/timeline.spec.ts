/**
 * The failover as a picture: two hung KMS hosts (they accept and never answer) ranked before a working one in a
 * real DNS zone on loopback. The check page draws each DNS query and each attempt as a bar — the hung ones stopped
 * once the working host answered, the winner marked — above the trace, which stays one click away.
 */
import { test, expect } from './fixtures'
import { seriousFindings } from './axe'
import { startDnsmasq, type RunningDnsmasq } from '../helpers/dnsmasq'
import { startHangingListener, type HangingListener } from '../helpers/hanging-listener'
import { startKmsTestHost, type KmsTestHost } from '../helpers/kms-test-host'

const zone = 'timeline.example.test'
let host: KmsTestHost
let hung: HangingListener[]
let dns: RunningDnsmasq

test.beforeEach(async () => {
  host = await startKmsTestHost({ count: 50 })
  hung = [await startHangingListener('127.0.0.2'), await startHangingListener('127.0.0.3')]
  dns = await startDnsmasq([
    `local=/${zone}/`,
    `host-record=hung1.${zone},127.0.0.2`,
    `host-record=hung2.${zone},127.0.0.3`,
    `host-record=kms.${zone},127.0.0.1`,
    `srv-host=_vlmcs._tcp.${zone},hung1.${zone},${hung[0]!.port},0,50`,
    `srv-host=_vlmcs._tcp.${zone},hung2.${zone},${hung[1]!.port},0,50`,
    `srv-host=_vlmcs._tcp.${zone},kms.${zone},${host.port},10,0`
  ])
})
test.afterEach(async () => {
  await dns.stop()
  for (const listener of hung) await listener.close()
  await host.close()
})

test('the check page draws the failover: hung hosts stopped, the answering host marked, the trace one click away', async ({ app }) => {
  const { page } = app
  await page.getByLabel(/Lookup domain/).fill(zone)
  await page.getByLabel(/DNS server/).fill(dns.spec4)
  await page.getByLabel('Ignore the cached host').check()
  await page.getByRole('button', { name: 'Run check' }).click()
  await expect(page.getByTestId('check-status')).toHaveText('OK')

  const timeline = page.getByTestId('timeline')
  await expect(timeline).toBeVisible()
  // Both hung hosts were tried (their bars stopped, never answered), then the working one answered.
  const attempts = timeline.locator('g[data-lane="kms"]')
  await expect(attempts).toHaveCount(3)
  await expect(timeline.locator('g[data-lane="kms"][data-outcome="cancelled"]')).toHaveCount(2)
  const winner = timeline.locator('g.winner')
  await expect(winner).toHaveCount(1)
  await expect(winner).toContainText(`:${host.port}`)
  await expect(winner).toContainText('★ used')
  // The SRV query and the address lookups are bars too.
  expect(await timeline.locator('g[data-lane="dns"]').count()).toBeGreaterThan(0)
  await expect(page.getByText(/started by the stagger timer/)).toBeVisible()
  expect(await seriousFindings(page), 'the page with its timeline').toEqual([])
  // Both hung connections were really closed by the client once the answer was in.
  await Promise.all(hung.map((listener) => listener.waitForClosed(1)))

  // The trace stays one click away and tells the same story.
  const trace = page.getByRole('region', { name: 'Why this host — every step' })
  await expect(trace).toBeHidden()
  await page.getByText(/^Show the trace/).click()
  await expect(trace).toContainText('cancelled')
  await expect(trace).toContainText('verified')
})
