/**
 * The test bridge (test/e2e/bridge.ts) drives the app's real handlers over HTTP on 127.0.0.1 during e2e runs; no
 * other local page may drive it: every API call needs this run's random token, the bridge's own Host, and no
 * foreign Origin (a DNS name rebound to 127.0.0.1 brings its own Host; another site brings its Origin).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAppService, type AppService } from '../../src-main/service/app-service'
import { startBridge, type Bridge } from '../e2e/bridge'

let dir: string
let service: AppService
let bridge: Bridge

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kms-scout-bridge-'))
  service = await createAppService({ shell: 'bridge', configDir: dir, version: '0.0.0-test' })
  bridge = await startBridge(service, dir)
})
afterAll(async () => {
  await bridge.close()
  await service.close()
  await rm(dir, { recursive: true, force: true })
})

function call(path: string, headers: Record<string, string>): Promise<number> {
  const url = new URL(path, bridge.url)
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: url.port, path: url.pathname + url.search, method: path.includes('events') ? 'GET' : 'POST', headers },
      (res) => {
        res.destroy()
        resolve(res.statusCode ?? 0)
      }
    )
    req.on('error', reject)
    req.end(path.includes('events') ? undefined : '{}')
  })
}

describe('test bridge guard', () => {
  const host = (): string => new URL(bridge.url).host

  it('serves this run’s page: the token, its own Host, its own Origin', async () => {
    expect(bridge.token).toMatch(/^[0-9a-f]{32}$/)
    expect(await call('/api/getAppInfo', { host: host(), 'x-kms-bridge-token': bridge.token, origin: bridge.url.slice(0, -1) })).toBe(200)
    expect(bridge.initScript).toContain(bridge.token)
  })

  it.each([
    ['no token', () => ({ host: host() })],
    ['a wrong token', () => ({ host: host(), 'x-kms-bridge-token': '0'.repeat(32) })],
    ['a rebound DNS name as Host', () => ({ host: `evil.example:${new URL(bridge.url).port}`, 'x-kms-bridge-token': bridge.token })],
    ['a foreign Origin', () => ({ host: host(), 'x-kms-bridge-token': bridge.token, origin: 'http://evil.example' })]
  ])('refuses a call with %s (403)', async (_what, headers) => {
    expect(await call('/api/getAppInfo', headers())).toBe(403)
  })

  it('the event stream needs the token too', async () => {
    expect(await call('/api/events', { host: host() })).toBe(403)
    expect(await call(`/api/events?token=${bridge.token}`, { host: host() })).toBe(200)
  })
})
