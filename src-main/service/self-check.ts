/**
 * `--self-check`: the packaged app proves it can do its job on this machine and quits — the renderer loads, one
 * API call travels page → preload → main → page, and the lab host's client log (SQLite in WebAssembly, unpacked
 * from the asar) opens and closes. The release workflow runs it on every installer it can start; a technician
 * runs it on a locked-down machine. The Electron shell supplies the page; everything else is here, so the tests
 * run the same steps in Chromium through the test bridge (test/release/self-check.test.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ApiResult } from '../api/result'
import type { AppInfo, HandlerTable } from '../api/contract'
import { labHostConfigFromSettings } from '../lab-host/config'
import { ClientLog, ClientLogBusyError } from '../storage/client-log'

/** The command-line flag that starts the desktop app as a self-check. */
export const SELF_CHECK_FLAG = '--self-check'

/**
 * What the page evaluates: one call through `window.kms`, exactly as the UI makes it. A missing `window.kms`
 * (preload not loaded) comes back as a description instead of a rejection, so the report can say so.
 */
const PAGE_API_PROBE =
  "typeof window.kms === 'object' && window.kms !== null ? window.kms.getAppInfo() : 'window.kms is ' + typeof window.kms"

/** A step gets this long before the self-check gives up on it (a hung renderer must not hang the smoke test). */
const STEP_DEADLINE_MS = 30_000

export interface SelfCheckPage {
  /** Loads the renderer; resolves once the page has finished loading. */
  load(): Promise<void>
  /** Evaluates the given script (one getAppInfo call through window.kms) in the page and returns its (awaited) value. */
  evaluate(script: string): Promise<unknown>
}

export interface SelfCheckOptions {
  page: SelfCheckPage
  /** The running app's handler table (for the settings that name the client log). */
  handlers: Pick<HandlerTable, 'getSettings'>
  configDir: string
  /** The version and shell the page must report. */
  expected: Pick<AppInfo, 'version' | 'shell'>
}

export interface SelfCheckStep {
  name: 'renderer' | 'api' | 'client log'
  ok: boolean
  detail: string
}

export interface SelfCheckReport {
  ok: boolean
  steps: SelfCheckStep[]
}

export async function runSelfCheck(options: SelfCheckOptions): Promise<SelfCheckReport> {
  const steps: SelfCheckStep[] = []
  const step = async (name: SelfCheckStep['name'], run: () => Promise<string>): Promise<boolean> => {
    try {
      steps.push({ name, ok: true, detail: await withDeadline(run(), name) })
      return true
    } catch (error) {
      steps.push({ name, ok: false, detail: error instanceof Error ? error.message : String(error) })
      return false
    }
  }

  const loaded = await step('renderer', async () => {
    await options.page.load()
    return 'the page loaded'
  })
  if (loaded) await step('api', async () => describeProbe(await options.page.evaluate(PAGE_API_PROBE), options.expected))
  else steps.push({ name: 'api', ok: false, detail: 'not tried: the page did not load' })
  await step('client log', () => openAndCloseClientLog(options))
  return { ok: steps.every((s) => s.ok), steps }
}

/** One line per step, then the verdict: what the smoke test prints and a technician reads. */
export function formatSelfCheck(report: SelfCheckReport): string {
  const width = Math.max(...report.steps.map((s) => s.name.length))
  const lines = report.steps.map((s) => `${s.ok ? 'ok  ' : 'FAIL'} ${s.name.padEnd(width)}  ${s.detail}`)
  lines.push(report.ok ? 'self-check passed' : 'self-check failed')
  return `${lines.join('\n')}\n`
}

export const selfCheckExitCode = (report: SelfCheckReport): number => (report.ok ? 0 : 1)

function describeProbe(result: unknown, expected: SelfCheckOptions['expected']): string {
  if (typeof result === 'string') throw new Error(`the preload did not run: ${result}`)
  const envelope = result as ApiResult<AppInfo> | null
  if (envelope === null || typeof envelope !== 'object' || typeof envelope.ok !== 'boolean') {
    throw new Error('getAppInfo returned no API result')
  }
  if (!envelope.ok) throw new Error(`getAppInfo failed: ${envelope.error.code}: ${envelope.error.message}`)
  const info = envelope.value
  if (info.version !== expected.version || info.shell !== expected.shell) {
    throw new Error(`getAppInfo answered ${info.shell} ${info.version}, expected ${expected.shell} ${expected.version}`)
  }
  return `getAppInfo answered through the page: ${info.name} ${info.version} (${info.shell}, ${info.platform})`
}

async function openAndCloseClientLog(options: SelfCheckOptions): Promise<string> {
  const settings = await options.handlers.getSettings(undefined)
  const file = labHostConfigFromSettings(settings.settings.labHost, options.configDir).dbPath
  const open = (path: string): Promise<ClientLog> =>
    ClientLog.open(path, { retentionDays: settings.settings.labHost.retentionDays, now: Date.now })
  try {
    await (await open(file)).close()
    return `opened and closed ${file}`
  } catch (error) {
    if (!(error instanceof ClientLogBusyError)) throw error
  }
  // A lab host (kms-scout serve) holds the configured log: prove SQLite works on a scratch log instead.
  const scratch = await mkdtemp(join(tmpdir(), 'kms-scout-self-check-'))
  try {
    await (await open(join(scratch, 'client-log.sqlite'))).close()
    return `${file} is in use by a running lab host; opened and closed a scratch log instead`
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }
}

async function withDeadline<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${STEP_DEADLINE_MS / 1000} s`)), STEP_DEADLINE_MS)
  })
  try {
    return await Promise.race([work, deadline])
  } finally {
    clearTimeout(timer)
  }
}
