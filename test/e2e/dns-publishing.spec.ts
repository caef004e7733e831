/**
 * DNS publishing in the UI, against a real BIND 9 on 127.0.0.1: the lab host publishes its own record from its
 * page, the discovery page's audit finds it answering beside a stale record, and the plan form writes the forms
 * with its checks. Requires BIND 9 (`apt-get install -y bind9 bind9-dnsutils`).
 */
import { createServer } from 'node:net'
import { test, expect } from './fixtures'
import { startBind, type RunningBind } from '../helpers/bind'
import { updateKmsSrvRecord } from '../../src-main/service/dns-publish-service'

let bind: RunningBind

test.beforeAll(async () => {
  bind = await startBind([{ name: 'ui.test', records: ['lab IN A 127.0.0.1', 'old IN A 127.0.0.1'] }])
})
test.afterAll(async () => {
  await bind?.stop()
})

test('the lab host publishes its record, the audit sees it answer beside a stale one, and stopping removes it', async ({ app }) => {
  const { page } = app
  // a retired host: the name resolves, nothing listens on its port
  const retired = createServer()
  await new Promise<void>((resolve) => retired.listen(0, '127.0.0.1', () => resolve()))
  const oldPort = (retired.address() as { port: number }).port
  await new Promise<void>((resolve) => retired.close(() => resolve()))
  // published from this process, so the record is there whichever shell the page runs in
  const stale = await updateKmsSrvRecord('publish', {
    server: bind.spec,
    domain: 'ui.test',
    target: 'old.ui.test',
    port: oldPort,
    tsigKeyFile: bind.keyFile
  })
  expect(stale.ok).toBe(true)

  await page.getByRole('button', { name: 'Lab KMS host' }).click()
  await page.getByLabel(/Listen on/).fill('127.0.0.1:0')
  const dns = page.getByRole('group', { name: 'Publish in DNS' })
  await dns.getByLabel('Domains').fill('ui.test')
  await dns.getByLabel(/DNS server/).fill(bind.spec)
  await dns.getByLabel(/Host name/).fill('lab.ui.test')
  await dns.getByLabel(/TSIG key file/).fill(bind.keyFile)
  await page.getByRole('button', { name: 'Start lab host' }).click()
  await expect(page.getByTestId('lab-state')).toHaveText('RUNNING')
  await expect(page.getByTestId('lab-dns')).toContainText('Published _vlmcs._tcp.ui.test SRV 0 0')
  await expect(page.getByTestId('lab-dns')).toContainText('NOERROR')

  await page.getByRole('button', { name: 'DNS discovery' }).click()
  const options = page.getByRole('form', { name: 'Discovery options' })
  await options.getByLabel(/Lookup domain/).fill('ui.test')
  await options.getByLabel(/DNS server/).fill(bind.spec)
  await page.getByRole('button', { name: 'Audit' }).click()
  const audit = page.getByRole('region', { name: 'DNS audit' })
  await expect(page.getByTestId('audit-status')).toContainText('WARNING')
  await expect(audit.getByRole('row', { name: /lab\.ui\.test/ })).toContainText('answers')
  await expect(audit.getByRole('row', { name: /old\.ui\.test/ })).toContainText('stale')
  await expect(page.getByTestId('audit-finding').first()).toContainText('does not answer KMS')

  await page.getByRole('button', { name: 'Lab KMS host' }).click()
  await page.getByRole('button', { name: 'Stop' }).click()
  await expect(page.getByTestId('lab-dns')).toContainText('Removed _vlmcs._tcp.ui.test')
})

test('the plan form checks the hosts and writes the records in every form', async ({ app }) => {
  const { page } = app
  await page.getByRole('button', { name: 'DNS discovery' }).click()
  const form = page.getByRole('form', { name: 'DNS plan' })
  await form.getByLabel('Host name').first().fill('kms01.corp.test')
  await form.getByLabel('Domains').fill('corp.test')
  await form.getByRole('button', { name: 'Plan' }).click()
  await expect(page.getByTestId('plan-status')).toHaveText('WARNING')
  await expect(page.getByTestId('plan-finding')).toContainText('the only KMS host')
  await expect(page.getByTestId('plan-form').first()).toHaveText('_vlmcs._tcp.corp.test. 3600 IN SRV 0 0 1688 kms01.corp.test.')
  await expect(page.getByTestId('plan-form').nth(1)).toContainText("Add-DnsServerResourceRecord -ZoneName 'corp.test' -Srv")
})
