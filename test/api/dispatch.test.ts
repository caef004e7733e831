import { describe, expect, it, vi } from 'vitest'
import { METHOD_NAMES } from '../../src-main/api/channels'
import { dispatchCall } from '../../src-main/api/dispatch'
import { ApiFailure } from '../../src-main/api/result'
import type { HandlerTable } from '../../src-main/api/contract'
import { defaultSettings } from '../../src-main/storage/settings'

function handlers(overrides: Partial<HandlerTable> = {}): HandlerTable {
  const view = { settings: defaultSettings(), warnings: [] }
  const notInThisTest = async (): Promise<never> => {
    throw new Error('not used in this test')
  }
  return {
    ...(Object.fromEntries(METHOD_NAMES.map((method) => [method, notInThisTest])) as unknown as HandlerTable),
    getAppInfo: async () => ({ name: 'KMS Scout', version: '1', shell: 'cli', platform: 'linux', configDir: '/x' }),
    getSettings: async () => view,
    updateSettings: async (settings) => ({ settings, warnings: [] }),
    ...overrides
  }
}

describe('dispatchCall', () => {
  it('runs a valid call and wraps the value', async () => {
    const result = await dispatchCall(handlers(), 'getAppInfo', undefined)
    expect(result).toMatchObject({ ok: true, value: { name: 'KMS Scout' } })
  })

  it('rejects an unknown method without running anything', async () => {
    const result = await dispatchCall(handlers(), 'deleteEverything', undefined)
    expect(result).toEqual({ ok: false, error: { code: 'unknown-method', message: 'unknown API method "deleteEverything"' } })
  })

  it('rejects input that fails the schema and names the field', async () => {
    const update = vi.fn(handlers().updateSettings)
    const bad = { ...defaultSettings(), client: { ...defaultSettings().client, dnsServer: '999.1.1.1' } }
    const result = await dispatchCall(handlers({ updateSettings: update }), 'updateSettings', bad)
    expect(update).not.toHaveBeenCalled()
    expect(result.ok).toBe(false)
    if (!result.ok) {
      expect(result.error.code).toBe('invalid-input')
      expect(result.error.message).toContain('client.dnsServer')
    }
  })

  it('rejects arguments passed to a method that takes none', async () => {
    const result = await dispatchCall(handlers(), 'getSettings', { sneaky: true })
    expect(result).toMatchObject({ ok: false, error: { code: 'invalid-input' } })
  })

  it('passes a deliberate failure through with its code and hint', async () => {
    const failing = handlers({
      getAppInfo: async () => {
        throw new ApiFailure('busy', 'the lab host is starting', 'try again in a moment')
      }
    })
    expect(await dispatchCall(failing, 'getAppInfo', undefined)).toEqual({
      ok: false,
      error: { code: 'busy', message: 'the lab host is starting', hint: 'try again in a moment' }
    })
  })

  it('turns an unexpected exception into an internal error and reports it', async () => {
    const report = vi.fn()
    const failing = handlers({
      getAppInfo: async () => {
        throw new TypeError('boom')
      }
    })
    const result = await dispatchCall(failing, 'getAppInfo', undefined, report)
    expect(result).toMatchObject({ ok: false, error: { code: 'internal', message: 'getAppInfo failed unexpectedly: boom' } })
    expect(report).toHaveBeenCalledWith('getAppInfo', expect.any(TypeError))
  })
})
