/**
 * The lab host's counts: per KMS counted ID a gauge against its threshold and whether a client of that group would
 * activate, requests per second as a chart, and the client log as a sortable, filterable table.
 */
import { test, expect } from './fixtures'
import { seriousFindings } from './axe'

test('counts per product group, the request chart and the client table follow real requests', async ({ app }) => {
  const { page } = app
  // A fixed count of 10: enough for a server group (threshold 5), not for Windows clients (threshold 25). Set
  // through the page's own API object, as the renderer would.
  await page.evaluate(async () => {
    const view = await window.kms.getSettings()
    if (!view.ok) throw new Error(view.error.message)
    const { settings } = view.value
    await window.kms.updateSettings({ ...settings, labHost: { ...settings.labHost, countMode: { fixed: 10 } } })
  })

  await page.getByRole('button', { name: 'Lab KMS host' }).click()
  await page.getByLabel(/Listen on/).fill('127.0.0.1:0')
  await page.getByRole('button', { name: 'Start lab host' }).click()
  await expect(page.getByTestId('lab-state')).toHaveText('RUNNING')
  const port = Number((await page.getByTestId('lab-addresses').innerText()).trim().split(':')[1])

  const { server, client } = await page.evaluate(async (hostPort) => {
    const list = await window.kms.listProducts()
    if (!list.ok) throw new Error(list.error.message)
    const find = (name: string) => list.value.products.find((sku) => sku.name === name)!
    const picked = { server: find('Windows Server 2019 Standard'), client: find('Windows 10 Professional') }
    for (const sku of [picked.server, picked.client, picked.client]) await window.kms.runCheck({ host: hostPort, productSkuId: sku.guid })
    return picked
  }, `127.0.0.1:${port}`)

  const groups = page.getByTestId('count-group')
  await expect(groups).toHaveCount(2)
  const serverGroup = groups.filter({ hasText: server.kmsCountedName })
  await expect(serverGroup.getByTestId('group-count')).toHaveText('10')
  await expect(serverGroup.getByTestId('group-verdict')).toHaveText('clients activate')
  await expect(serverGroup.getByRole('meter')).toHaveAttribute('aria-valuenow', '10')
  const clientGroup = groups.filter({ hasText: client.kmsCountedName })
  await expect(clientGroup.getByTestId('group-verdict')).toHaveText('below threshold')
  await expect(page.getByTestId('rate-caption')).toContainText('3 request(s) in the last 5 minutes')
  expect(await seriousFindings(page), 'the page with its gauges, chart and table').toEqual([])

  // The client table: three rows, filtered by product and by outcome, sorted by product.
  const table = page.getByRole('region', { name: 'Recent requests' })
  await expect(table.getByTestId('client-row')).toHaveCount(3)
  await table.getByLabel('Product').fill('Server 2019')
  await expect(table.getByTestId('client-row')).toHaveCount(1)
  await table.getByLabel('Product').fill('')
  await table.getByLabel('Outcome').selectOption('error')
  await expect(table.getByTestId('client-row')).toHaveCount(0)
  await table.getByLabel('Outcome').selectOption('')
  await table.getByLabel('Client address').fill('127.0.0.1')
  await expect(table.getByTestId('client-rows')).toHaveText('3 of 3 request(s)')
  await table.getByRole('button', { name: 'Product' }).click()
  await expect(table.getByRole('columnheader', { name: /Product/ })).toHaveAttribute('aria-sort', 'ascending')
  await expect(table.getByTestId('client-row').first()).toContainText('Windows 10 Professional')
  await table.getByRole('button', { name: /Product/ }).click()
  await expect(table.getByTestId('client-row').first()).toContainText('Windows Server 2019 Standard')
})
