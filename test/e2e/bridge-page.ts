/**
 * The built renderer in Debian's Chromium through the test bridge (bridge.ts): the application service, the bridge
 * and a page. The e2e fixture's bridge target opens its page here, and so do the release tests in vitest (without
 * Playwright's test runner).
 */
import { chromium, type Browser, type BrowserContext, type Page } from '@playwright/test'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createAppService, type AppService } from '../../src-main/service/app-service'
import { startBridge, type Bridge } from './bridge'

export const repoRoot = resolve(import.meta.dirname, '../..')
const rendererDir = join(repoRoot, 'out/renderer')

/** Flags that keep Chromium quiet and local on a machine without internet: no background, component-update or sync traffic. */
const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
]

/** Debian's Chromium (or CHROMIUM_PATH), headless, with those flags. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS })
}

export interface BridgePage {
  page: Page
  context: BrowserContext
  bridge: Bridge
  service: AppService
  configDir: string
  version: string
  close(): Promise<void>
}

export interface BridgePageOptions {
  /** Install `window.kms` (the bridge's stand-in for the preload); default true. */
  withApi?: boolean
  /** Called with the context before the page opens (to record its requests from the first one on). */
  beforeOpen?: (context: BrowserContext) => void
  /** The service's config directory; default a new temporary one. close() removes it either way. */
  configDir?: string
  /** The version the service reports; default 0.0.0-release-test. */
  version?: string
}

export function requireBuiltRenderer(): void {
  if (!existsSync(join(rendererDir, 'index.html'))) throw new Error('out/renderer is missing: run `npm run build` first')
}

/** A running app service + bridge + Chromium context with one page that has NOT navigated yet. */
export async function openBridgePage(options: BridgePageOptions = {}): Promise<BridgePage> {
  requireBuiltRenderer()
  const configDir = options.configDir ?? (await mkdtemp(join(tmpdir(), 'kms-scout-release-')))
  const version = options.version ?? '0.0.0-release-test'
  const service = await createAppService({ shell: 'bridge', configDir, version })
  const bridge = await startBridge(service, rendererDir)
  let browser: Browser | undefined
  try {
    browser = await launchChromium()
    const context = await browser.newContext({ viewport: { width: 1280, height: 820 } })
    if (options.withApi ?? true) await context.addInitScript({ content: bridge.initScript })
    options.beforeOpen?.(context)
    const page = await context.newPage()
    const opened = browser
    return {
      page,
      context,
      bridge,
      service,
      configDir,
      version,
      close: async () => {
        await opened.close()
        await bridge.close()
        await service.close()
        await rm(configDir, { recursive: true, force: true })
      }
    }
  } catch (error) {
    await browser?.close()
    await bridge.close()
    await service.close()
    await rm(configDir, { recursive: true, force: true })
    throw error
  }
}
