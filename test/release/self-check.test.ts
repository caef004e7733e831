/**
 * The self-check's steps (src-main/service/self-check.ts) against the real renderer in Chromium, the real handler
 * table behind the test bridge and a real SQLite client log: it passes on a working app and fails with the reason
 * when the API is missing, answers for another version, or the client log cannot be opened. The Electron shell
 * runs the same function with its own window (the release workflow runs `--self-check` on each installer).
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ClientLog } from '../../src-main/storage/client-log'
import { formatSelfCheck, runSelfCheck, selfCheckExitCode, type SelfCheckOptions } from '../../src-main/service/self-check'
import { openBridgePage, type BridgePage } from '../e2e/bridge-page'

const opened: BridgePage[] = []
afterEach(async () => {
  for (const app of opened.splice(0)) await app.close()
})

async function bridgeApp(withApi = true): Promise<BridgePage> {
  const app = await openBridgePage({ withApi })
  opened.push(app)
  return app
}

function selfCheckOptions(
  app: BridgePage,
  expected: SelfCheckOptions['expected'] = { version: app.version, shell: 'bridge' }
): SelfCheckOptions {
  return {
    page: {
      load: async () => {
        await app.page.goto(app.bridge.url)
      },
      evaluate: (script) => app.page.evaluate(script)
    },
    handlers: app.service.handlers,
    configDir: app.configDir,
    expected
  }
}

describe('self-check', () => {
  it('passes on a working app: page loaded, one API call through the page, client log opened and closed', async () => {
    const app = await bridgeApp()
    const report = await runSelfCheck(selfCheckOptions(app))
    expect(report.steps.map((s) => [s.name, s.ok])).toEqual([
      ['renderer', true],
      ['api', true],
      ['client log', true]
    ])
    expect(report.steps[1]!.detail).toContain(`KMS Scout ${app.version} (bridge,`)
    expect(report.steps[2]!.detail).toBe(`opened and closed ${join(app.configDir, 'client-log.sqlite')}`)
    expect(selfCheckExitCode(report)).toBe(0)
    expect(formatSelfCheck(report).trimEnd().split('\n').at(-1)).toBe('self-check passed')
  })

  it('fails with the reason when the page has no window.kms (the preload did not run)', async () => {
    const app = await bridgeApp(false)
    const report = await runSelfCheck(selfCheckOptions(app))
    expect(report.ok).toBe(false)
    expect(selfCheckExitCode(report)).toBe(1)
    expect(report.steps[1]).toEqual({ name: 'api', ok: false, detail: 'the preload did not run: window.kms is undefined' })
    expect(formatSelfCheck(report)).toMatch(/^FAIL api +the preload did not run/m)
  })

  it('fails when the page answers for another version than the one being checked', async () => {
    const app = await bridgeApp()
    const report = await runSelfCheck(selfCheckOptions(app, { version: '9.9.9', shell: 'bridge' }))
    expect(report.steps[1]).toMatchObject({ ok: false, detail: `getAppInfo answered bridge ${app.version}, expected bridge 9.9.9` })
  })

  it('reports a page that never loads and does not try the API', async () => {
    const app = await bridgeApp()
    const options = selfCheckOptions(app)
    const report = await runSelfCheck({
      ...options,
      page: { ...options.page, load: () => app.page.goto('http://127.0.0.1:1/').then(() => {}) }
    })
    expect(report.steps[0]).toMatchObject({ name: 'renderer', ok: false })
    expect(report.steps[1]).toEqual({ name: 'api', ok: false, detail: 'not tried: the page did not load' })
    expect(report.steps[2]).toMatchObject({ name: 'client log', ok: true })
  })

  it('checks SQLite on a scratch log when a running lab host holds the configured one', async () => {
    const app = await bridgeApp()
    const held = await ClientLog.open(join(app.configDir, 'client-log.sqlite'), { retentionDays: 30, now: Date.now })
    try {
      const report = await runSelfCheck(selfCheckOptions(app))
      expect(report.ok).toBe(true)
      expect(report.steps[2]!.detail).toMatch(/is in use by a running lab host; opened and closed a scratch log instead$/)
    } finally {
      await held.close()
    }
  })

  it('fails with the reason when the client log is not a database', async () => {
    const app = await bridgeApp()
    await writeFile(join(app.configDir, 'client-log.sqlite'), 'not a database, just text that is long enough to be read as a header')
    const report = await runSelfCheck(selfCheckOptions(app))
    expect(report.ok).toBe(false)
    expect(report.steps[2]).toMatchObject({ name: 'client log', ok: false })
    expect(report.steps[2]!.detail.length).toBeGreaterThan(0)
  })
})
