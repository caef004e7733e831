/**
 * The app scheme with `electron` replaced by a recorder: which URLs count as our own page (the trust check of
 * IPC and navigation), and the kms-scout:// handler serving the renderer folder — with the CSP on every answer
 * and nothing outside the folder or another host reachable.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { RENDERER_CSP } from '../../src-main/api/csp'

type SchemeHandler = (request: Request) => Promise<Response>
const handled = new Map<string, SchemeHandler>()
const privileged: unknown[] = []

vi.mock('electron', () => ({
  protocol: {
    handle: (scheme: string, handler: SchemeHandler) => handled.set(scheme, handler),
    registerSchemesAsPrivileged: (schemes: unknown[]) => privileged.push(...schemes)
  }
}))

const { APP_ENTRY_URL, isAppUrl, registerAppScheme, serveRenderer } = await import('../../src-main/electron/app-protocol')

describe('isAppUrl', () => {
  it('accepts our entry page and any path of our origin', () => {
    for (const url of [
      APP_ENTRY_URL,
      'kms-scout://app/index.html',
      'kms-scout://app/',
      'kms-scout://app/assets/index.js',
      'kms-scout://app/index.html#/x'
    ]) {
      expect(isAppUrl(url), url).toBe(true)
    }
  })

  it('refuses other schemes, hosts, look-alike hosts and empty input', () => {
    for (const url of [
      '',
      'kms-scout://app',
      'kms-scout://application/index.html',
      'kms-scout://app.evil.example/index.html',
      'kms-scout://app@evil.example/index.html',
      'kms-scout://evil/index.html',
      'kms-scout:app/index.html',
      'http://app/index.html',
      'https://kms-scout.invalid/',
      'file:///index.html',
      'about:blank',
      'data:text/html,<script>1</script>',
      ' kms-scout://app/index.html'
    ]) {
      expect(isAppUrl(url), url).toBe(false)
    }
  })
})

describe('the kms-scout:// scheme', () => {
  let dir: string
  let rendererDir: string
  let serve: SchemeHandler

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kms-scout-app-protocol-'))
    rendererDir = join(dir, 'renderer')
    await mkdir(join(rendererDir, 'assets'), { recursive: true })
    await writeFile(join(rendererDir, 'index.html'), '<!doctype html><title>KMS Scout</title>')
    await writeFile(join(rendererDir, 'assets', 'app.js'), 'export {}')
    await writeFile(join(rendererDir, 'data.bin'), 'x')
    // next to the renderer folder, with a name that shares its prefix: must stay unreachable
    await writeFile(join(dir, 'secret.txt'), 'secret')
    await writeFile(join(dir, 'renderer-secret.txt'), 'secret')
    serveRenderer(rendererDir)
    serve = handled.get('kms-scout')!
  })

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('is registered as a standard, secure scheme without fetch support, before the app is ready', () => {
    registerAppScheme()
    expect(privileged).toEqual([{ scheme: 'kms-scout', privileges: { standard: true, secure: true, supportFetchAPI: false } }])
  })

  it('serves the entry page and assets with their type, the CSP and nosniff', async () => {
    for (const [url, type, body] of [
      [APP_ENTRY_URL, 'text/html; charset=utf-8', '<!doctype html><title>KMS Scout</title>'],
      ['kms-scout://app/', 'text/html; charset=utf-8', '<!doctype html><title>KMS Scout</title>'],
      ['kms-scout://app/assets/app.js', 'text/javascript; charset=utf-8', 'export {}'],
      ['kms-scout://app/data.bin', 'application/octet-stream', 'x']
    ] as const) {
      const response = await serve(new Request(url))
      expect(response.status, url).toBe(200)
      expect(response.headers.get('content-type')).toBe(type)
      expect(response.headers.get('content-security-policy')).toBe(RENDERER_CSP)
      expect(response.headers.get('x-content-type-options')).toBe('nosniff')
      expect(await response.text()).toBe(body)
    }
  })

  it('answers 404 for anything outside the renderer folder, another host, or a missing file', async () => {
    for (const url of [
      'kms-scout://app/%2e%2e/secret.txt',
      'kms-scout://app/..%2fsecret.txt',
      'kms-scout://app/..%2f..%2f..%2fetc%2fpasswd',
      'kms-scout://app/%2e%2e/renderer-secret.txt',
      'kms-scout://app/..%2frenderer-secret.txt',
      'kms-scout://other/index.html',
      'kms-scout://app/missing.html',
      'kms-scout://app/assets'
    ]) {
      const response = await serve(new Request(url))
      expect(response.status, url).toBe(404)
      expect(await response.text()).toBe('not found')
    }
  })
})
