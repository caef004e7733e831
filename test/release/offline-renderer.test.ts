/**
 * The offline promise for the app: the built renderer in Chromium (through the test bridge, the same handler
 * table as Electron) is used the way a technician uses it — every page visited, a check run against a KMS host on
 * loopback — while every request the page makes and every outbound connection of the main side is recorded.
 * Nothing may leave the app's own origin, and the main side may reach only the KMS host the check names. A second
 * test proves the page's CSP refuses remote content before any connection is made.
 */
import { createServer, type AddressInfo, type Server } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { startKmsTestHost, type KmsTestHost } from '../helpers/kms-test-host'
import { openBridgePage, type BridgePage } from '../e2e/bridge-page'
import { installNetRecorder, type NetEvent } from './net-recorder'
import { violations } from './offline-policy'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const PAGES = ['Activation check', 'DNS discovery', 'Lab KMS host', 'Products', 'Settings & overrides']

describe('offline promise: the app', () => {
  it('the page requests only its own origin and the main side reaches only the KMS host being checked', async () => {
    const host: KmsTestHost = await startKmsTestHost({ count: 50 })
    cleanups.push(() => host.close())
    const requests: string[] = []
    const events: NetEvent[] = []
    const app: BridgePage = await openBridgePage({ beforeOpen: (context) => context.on('request', (r) => requests.push(r.url())) })
    cleanups.push(() => app.close())
    const stopRecording = installNetRecorder((event) => events.push(event))
    cleanups.push(async () => stopRecording())

    const { page } = app
    await page.goto(app.bridge.url)
    for (const name of PAGES) {
      await page.getByRole('button', { name, exact: true }).click()
      await page.getByRole('heading', { name, exact: true }).waitFor()
    }
    await page.getByRole('button', { name: 'Activation check', exact: true }).click()
    await page.getByLabel(/KMS host/).fill(`127.0.0.1:${host.port}`)
    await page.getByRole('button', { name: 'Run check' }).click()
    await page.getByTestId('check-status').filter({ hasText: 'OK' }).waitFor()
    stopRecording()

    const origin = new URL(app.bridge.url).origin
    expect(requests.length).toBeGreaterThan(PAGES.length)
    expect(requests.filter((url) => new URL(url).origin !== origin)).toEqual([])
    expect(events).toContainEqual({ kind: 'tcp-connected', host: '127.0.0.1', port: host.port })
    expect(violations(events, { endpoints: [{ host: '127.0.0.1', port: host.port }] })).toEqual([])
  })

  it('remote content is refused by the page before any connection is made', async () => {
    const stray = await countingListener('127.0.0.2')
    cleanups.push(() => stray.close())
    const app = await openBridgePage()
    cleanups.push(() => app.close())
    await app.page.goto(app.bridge.url)
    await app.page.getByRole('heading', { name: 'Activation check' }).waitFor()

    // The probe is page script (this project's Node typecheck has no DOM types); the only value put into it is
    // the test's own listener URL, as a JSON literal.
    const outcomes = await app.page.evaluate(`(${REMOTE_CONTENT_PROBE})(${JSON.stringify(stray.base)})`)

    expect(outcomes).toEqual({ fetch: 'refused', image: 'refused', script: 'refused', style: 'refused', beacon: 'refused' })
    expect(stray.connections()).toBe(0)
  })
})

/** Tries every way a page could load or send something remotely; resolves to what became of each. */
const REMOTE_CONTENT_PROBE = `async (base) => {
  const loaded = (element) =>
    new Promise((resolve) => {
      element.onload = () => resolve('loaded')
      element.onerror = () => resolve('refused')
      document.body.appendChild(element)
    })
  const image = Object.assign(document.createElement('img'), { src: base + '/pixel.png' })
  const script = Object.assign(document.createElement('script'), { src: base + '/tracker.js' })
  const style = Object.assign(document.createElement('link'), { rel: 'stylesheet', href: base + '/style.css' })
  return {
    fetch: await fetch(base + '/telemetry', { method: 'POST', body: '{}' }).then(() => 'sent', () => 'refused'),
    image: await loaded(image),
    script: await loaded(script),
    style: await loaded(style),
    // sendBeacon only queues; the CSP refuses it afterwards, which the violation event reports.
    beacon: await new Promise((resolve) => {
      document.addEventListener('securitypolicyviolation', (event) => {
        if (event.blockedURI.startsWith(base + '/beacon')) resolve('refused')
      })
      if (!navigator.sendBeacon(base + '/beacon', 'x')) resolve('refused')
    })
  }
}`

async function countingListener(address: string): Promise<{ base: string; connections(): number; close(): Promise<void> }> {
  let connections = 0
  const server: Server = createServer((socket) => {
    connections++
    socket.destroy()
  })
  await new Promise<void>((ready) => server.listen(0, address, ready))
  const { port } = server.address() as AddressInfo
  return {
    base: `http://${address}:${port}`,
    connections: () => connections,
    close: () => new Promise<void>((done) => server.close(() => done()))
  }
}
