/**
 * The lab host through the app service: off until started, loopback unless confirmed, answering KMS Scout's
 * own check, logging the client, and telling the UI about it.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { dispatchCall } from '../../src-main/api/dispatch'
import type { LabHostView } from '../../src-main/api/contract'
import { createAppService, type AppService } from '../../src-main/service/app-service'

let configDir: string
let service: AppService

beforeEach(async () => {
  configDir = await mkdtemp(join(tmpdir(), 'kms-scout-lab-service-'))
  service = await createAppService({ shell: 'cli', configDir, version: '1' })
})
afterEach(async () => {
  await service.close()
  await rm(configDir, { recursive: true, force: true })
})

describe('lab host through the app service', () => {
  it('is off until started, then answers a check and logs the client', async () => {
    expect(await service.handlers.labHostStatus(undefined)).toMatchObject({ running: false, status: null })

    const updates: LabHostView[] = []
    service.events.on('labHostUpdate', (view) => updates.push(view))
    const started = await service.handlers.startLabHost({ listen: ['127.0.0.1:0'] })
    expect(started.running).toBe(true)
    const address = started.status!.addresses[0]!
    expect(address.address).toBe('127.0.0.1')

    const report = await service.handlers.runCheck({ host: { host: '127.0.0.1', port: address.port } })
    expect(report.status).toBe('warning') // a fresh lab host has counted one client: 1 < 25
    expect(report.answer?.count).toBe(1)

    const clients = await service.handlers.labHostClients({ limit: 10 })
    expect(clients.rows).toHaveLength(1)
    expect(clients.rows[0]).toMatchObject({ cmid: report.cmid, outcome: 'ok', countReturned: 1 })

    const status = await service.handlers.labHostStatus(undefined)
    expect(status.recent[0]).toMatchObject({ cmid: report.cmid, outcome: 'ok', count: 1 })

    const stopped = await service.handlers.stopLabHost(undefined)
    expect(stopped.running).toBe(false)
    // The UI heard about the start and the stop (request updates are throttled, so their number varies).
    expect(updates[0]?.running).toBe(true)
    expect(updates.at(-1)?.running).toBe(false)
  })

  it('refuses to listen beyond loopback without an explicit confirmation', async () => {
    const result = await dispatchCall(service.handlers, 'startLabHost', { listen: ['0.0.0.0:0'] })
    expect(result).toMatchObject({ ok: false, error: { code: 'confirm-non-loopback' } })
    expect((await service.handlers.labHostStatus(undefined)).running).toBe(false)
  })

  it('with the shell asking (a main-process dialog), the renderer cannot confirm a non-loopback address itself', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kms-scout-lab-confirm-'))
    const questions: string[] = []
    const asking = await createAppService({
      shell: 'electron',
      configDir: dir,
      version: '1',
      confirm: async (question) => {
        questions.push(question.message)
        return false
      }
    })
    try {
      const result = await dispatchCall(asking.handlers, 'startLabHost', { listen: ['0.0.0.0:0'], confirmNonLoopback: true })
      expect(result).toMatchObject({ ok: false, error: { code: 'confirm-non-loopback' } })
      expect(questions).toEqual(['Listen on 0.0.0.0?'])
      expect((await asking.handlers.labHostStatus(undefined)).running).toBe(false)
      // loopback needs no question
      await asking.handlers.startLabHost({ listen: ['127.0.0.1:0'] })
      expect(questions).toHaveLength(1)
    } finally {
      await asking.close()
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('settings from the UI cannot point the client log outside the config folder', async () => {
    const current = (await service.handlers.getSettings(undefined)).settings
    for (const dbPath of ['../outside.sqlite', '/etc/kms-scout.sqlite', 'C:\\Windows\\x.sqlite', 'logs/../../x.sqlite']) {
      const result = await dispatchCall(service.handlers, 'updateSettings', { ...current, labHost: { ...current.labHost, dbPath } })
      expect(result, dbPath).toMatchObject({
        ok: false,
        error: { code: 'invalid-input', message: expect.stringContaining('labHost.dbPath') }
      })
    }
    const inside = await dispatchCall(service.handlers, 'updateSettings', {
      ...current,
      labHost: { ...current.labHost, dbPath: 'logs-lab.sqlite' }
    })
    expect(inside).toMatchObject({ ok: true })
  })

  it('reports a bad listen address and a busy port in words', async () => {
    expect(await dispatchCall(service.handlers, 'startLabHost', { listen: ['localhost:99999'] })).toMatchObject({
      ok: false,
      error: { code: 'invalid-input' }
    })
    const first = await service.handlers.startLabHost({ listen: ['127.0.0.1:0'] })
    const port = first.status!.addresses[0]!.port
    const otherDir = await mkdtemp(join(tmpdir(), 'kms-scout-lab-other-'))
    const other = await createAppService({ shell: 'cli', configDir: otherDir, version: '1' })
    try {
      const busy = await dispatchCall(other.handlers, 'startLabHost', { listen: [`127.0.0.1:${port}`] })
      expect(busy).toMatchObject({ ok: false, error: { code: 'listen-failed' } })
    } finally {
      await other.close()
      await rm(otherDir, { recursive: true, force: true })
    }
  })
})
