/**
 * Selection as a picture: a real DNS zone (dnsmasq on loopback) with two priority groups; the discovery page shows
 * each group and each host's chance to be tried first as bars, and "Probe all hosts" asks every host for its count.
 */
import { test, expect } from './fixtures'
import { seriousFindings } from './axe'
import { startDnsmasq, type RunningDnsmasq } from '../helpers/dnsmasq'
import { closedPort, startKmsTestHost, type KmsTestHost } from '../helpers/kms-test-host'

const zone = 'probe.example.test'
let full: KmsTestHost
let young: KmsTestHost
let deadPort: number
let dns: RunningDnsmasq

test.beforeEach(async () => {
  full = await startKmsTestHost({ count: 50 })
  young = await startKmsTestHost({ count: 3 })
  deadPort = await closedPort()
  dns = await startDnsmasq([
    `local=/${zone}/`,
    `host-record=kms01.${zone},127.0.0.1`,
    `host-record=kms02.${zone},127.0.0.1`,
    `host-record=kms-dr.${zone},127.0.0.1`,
    `srv-host=_vlmcs._tcp.${zone},kms01.${zone},${full.port},0,75`,
    `srv-host=_vlmcs._tcp.${zone},kms02.${zone},${young.port},0,25`,
    `srv-host=_vlmcs._tcp.${zone},kms-dr.${zone},${deadPort},10,0`
  ])
})
test.afterEach(async () => {
  await dns.stop()
  await full.close()
  await young.close()
})

test('priority groups and chances as bars, and a probe of every host with count, RTT and ePID', async ({ app }) => {
  const { page } = app
  await page.getByRole('button', { name: 'DNS discovery' }).click()
  const form = page.getByRole('form', { name: 'Discovery options' })
  await form.getByLabel(/Lookup domain/).fill(zone)
  await form.getByLabel(/DNS server/).fill(dns.spec4)
  await form.getByRole('button', { name: 'Discover', exact: true }).click()

  const first = page.getByRole('group', { name: 'Priority 0' })
  const backup = page.getByRole('group', { name: 'Priority 10' })
  await expect(first).toContainText('tried first')
  await expect(first.getByTestId('chance-row')).toHaveCount(2)
  await expect(first.getByTestId('chance-row').filter({ hasText: `kms01.${zone}` })).toContainText('75.0%')
  await expect(first.getByTestId('chance-row').filter({ hasText: `kms02.${zone}` })).toContainText('25.0%')
  await expect(backup).toContainText('only when every host above has failed')
  await expect(backup.getByTestId('chance-row')).toContainText('0%')

  await page.getByRole('button', { name: 'Probe all hosts (3)' }).click()
  const row = (name: string) => page.getByTestId('chance-row').filter({ hasText: `${name}.${zone}` })
  await expect(row('kms01')).toContainText('answers')
  await expect(row('kms01')).toContainText('count 50/25')
  await expect(row('kms02')).toContainText('count 3/25')
  await expect(row('kms02')).toContainText(/\d+\.\d ms/)
  await expect(row('kms-dr')).toContainText('no answer')
  expect(await seriousFindings(page), 'the page with its bars and probe results').toEqual([])
  await expect(row('kms-dr')).toContainText(/0x[0-9A-F]{8}/)
  // Each working host was asked once (one request, this installation's one client ID).
  expect(full.calls).toHaveLength(1)
  expect(young.calls).toHaveLength(1)
  expect(full.calls[0]!.request.base.cmid).toBe(young.calls[0]!.request.base.cmid)
})
