/**
 * Test bridge: serves the built renderer on 127.0.0.1 and carries the API contract over HTTP
 * (calls: POST /api/<method>) and Server-Sent Events (main→renderer events: GET /api/events),
 * using the same handler table and the same dispatchCall as Electron's IPC. Playwright drives the
 * renderer in Debian's Chromium through it where no Electron binary can be downloaded.
 */
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { readFile } from 'node:fs/promises'
import { extname, resolve, sep } from 'node:path'
import type { AddressInfo } from 'node:net'
import { RENDERER_CSP } from '../../src-main/api/csp'
import { METHOD_NAMES } from '../../src-main/api/channels'
import { dispatchCall } from '../../src-main/api/dispatch'
import type { AppService } from '../../src-main/service/app-service'

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png'
}
const MAX_BODY_BYTES = 1 << 20

export interface Bridge {
  url: string
  /** The random secret of this run: every API call and the event stream must carry it. */
  token: string
  /** The script that installs `window.kms` (with this run's token) in a page before it loads. */
  initScript: string
  /** Resolves once a page has opened its event stream (so an event emitted next is delivered). */
  eventStreamConnected(): Promise<void>
  close(): Promise<void>
}

export async function startBridge(service: AppService, rendererDir: string): Promise<Bridge> {
  const root = resolve(rendererDir)
  const streams = new Set<ServerResponse>()
  let streamConnected: () => void = () => {}
  const firstStream = new Promise<void>((resolve) => (streamConnected = resolve))
  const stopEvents = service.events.onAny((name, payload) => {
    const frame = `data: ${JSON.stringify({ name, payload })}\n\n`
    for (const stream of streams) stream.write(frame)
  })

  const server: Server = createServer((request, response) => {
    void handle(request, response).catch((error: unknown) => {
      response.writeHead(500, { 'content-type': 'text/plain' })
      response.end(String(error))
    })
  })

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1')
    // The bridge drives the app's real handlers: only this run's page may call them. A page from elsewhere (another
    // origin, or a DNS name rebound to 127.0.0.1) has neither the token nor our Host and Origin.
    if (url.pathname.startsWith('/api/') && !trusted(request, url)) {
      response.writeHead(403, { 'content-type': 'text/plain' })
      response.end('forbidden')
      return
    }
    if (url.pathname === '/api/events' && request.method === 'GET') {
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' })
      response.write(': connected\n\n')
      streams.add(response)
      streamConnected()
      request.on('close', () => streams.delete(response))
      return
    }
    if (url.pathname.startsWith('/api/') && request.method === 'POST') {
      const body = await readBody(request)
      let input: unknown
      try {
        input = body.length === 0 ? undefined : (JSON.parse(body) as { input?: unknown }).input
      } catch {
        input = Symbol('unparseable')
      }
      const result = await dispatchCall(service.handlers, url.pathname.slice('/api/'.length), input)
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end(JSON.stringify(result))
      return
    }
    const relative = decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname)
    const file = resolve(root, `.${relative}`)
    if (!file.startsWith(root + sep)) {
      response.writeHead(404).end()
      return
    }
    try {
      const content = await readFile(file)
      response.writeHead(200, {
        'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
        'content-security-policy': RENDERER_CSP,
        'x-content-type-options': 'nosniff'
      })
      response.end(content)
    } catch {
      response.writeHead(404).end()
    }
  }

  const token = randomBytes(16).toString('hex')
  let origin = ''
  function trusted(request: IncomingMessage, url: URL): boolean {
    const given = request.headers['x-kms-bridge-token'] ?? url.searchParams.get('token')
    if (given !== token) return false
    if (request.headers.host !== origin.slice('http://'.length)) return false
    const from = request.headers.origin
    return from === undefined || from === origin
  }

  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready))
  const { port } = server.address() as AddressInfo
  origin = `http://127.0.0.1:${port}`
  return {
    url: `${origin}/`,
    token,
    initScript: bridgeInitScript(token),
    eventStreamConnected: () => firstStream,
    close: async () => {
      stopEvents()
      for (const stream of streams) stream.end()
      server.closeAllConnections()
      await new Promise<void>((done) => server.close(() => done()))
    }
  }
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of request) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY_BYTES) throw new Error('request body too large')
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/**
 * The script Playwright adds to every page before it loads: it installs `window.kms` with the
 * same shape and the same guarantees as the preload's contextBridge object (frozen, not
 * replaceable).
 */
function bridgeInitScript(token: string): string {
  return `(() => {
    const token = ${JSON.stringify(token)};
    const methods = ${JSON.stringify(METHOD_NAMES)};
    const listeners = new Map();
    let source = null;
    const ensureSource = () => {
      if (source) return;
      source = new EventSource('/api/events?token=' + token);
      source.onmessage = (message) => {
        const { name, payload } = JSON.parse(message.data);
        for (const listener of listeners.get(name) || []) listener(payload);
      };
    };
    const api = {
      on(event, listener) {
        ensureSource();
        if (!listeners.has(event)) listeners.set(event, new Set());
        const set = listeners.get(event);
        const wrapped = (payload) => listener(payload);
        set.add(wrapped);
        return () => { set.delete(wrapped); };
      }
    };
    for (const method of methods) {
      api[method] = async (input) => {
        const response = await fetch('/api/' + method, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-kms-bridge-token': token },
          body: JSON.stringify({ input })
        });
        return response.json();
      };
    }
    Object.defineProperty(window, 'kms', { value: Object.freeze(api), writable: false, configurable: false, enumerable: true });
  })();`
}
