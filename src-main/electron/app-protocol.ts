/**
 * Serves the built renderer from a private `kms-scout://app/` scheme instead of file://, so every
 * response carries our CSP header and nothing outside the renderer folder can be read.
 */
import { protocol } from 'electron'
import { readFile } from 'node:fs/promises'
import { extname, resolve, sep } from 'node:path'
import { RENDERER_CSP } from '../api/csp'

const APP_SCHEME = 'kms-scout'
const APP_ORIGIN = `${APP_SCHEME}://app`
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json'
}

export function isAppUrl(url: string): boolean {
  return url === APP_ENTRY_URL || url.startsWith(`${APP_ORIGIN}/`)
}

/** Must run before the app is ready. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: false } }])
}

export function serveRenderer(rendererDir: string): void {
  const root = resolve(rendererDir)
  protocol.handle(APP_SCHEME, async (request) => {
    const url = new URL(request.url)
    const relative = decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname)
    const file = resolve(root, `.${relative}`)
    if (url.host !== 'app' || !(file === root || file.startsWith(root + sep))) {
      return new Response('not found', { status: 404 })
    }
    try {
      const body = await readFile(file)
      return new Response(body, {
        status: 200,
        headers: {
          'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
          'content-security-policy': RENDERER_CSP,
          'x-content-type-options': 'nosniff'
        }
      })
    } catch {
      return new Response('not found', { status: 404 })
    }
  })
}
