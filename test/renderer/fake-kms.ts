/** Installs a `window.kms` for component tests: given methods answer, the rest fail loudly. */
import { vi, type Mock } from 'vitest'

type Handler = (input?: unknown) => Promise<unknown>

export function installFakeKms<T extends Record<string, Handler>>(methods: T): T & { on: Mock } {
  const api = {
    ...methods,
    on: vi.fn(() => () => {})
  }
  const proxy = new Proxy(api, {
    get(target, key: string) {
      if (key in target) return target[key as keyof typeof target]
      return async () => ({ ok: false, error: { code: 'not-in-test', message: `kms.${key} is not faked in this test` } })
    }
  })
  Object.defineProperty(window, 'kms', { value: proxy, configurable: true })
  return api as T & { on: Mock }
}
