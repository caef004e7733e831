/**
 * The settings as the running app sees them: loaded once at start (a broken file is moved aside
 * and reported as a warning by the store), kept in memory, and written through on every change.
 */
import { configPaths } from '../storage/config-dir'
import { createSettingsStore, type Settings, type SettingsInput } from '../storage/settings'

export interface SettingsHandle {
  current(): Settings
  /** Problems found while loading, as sentences for the UI and the CLI. */
  readonly warnings: readonly string[]
  /** Validate, persist atomically, and make `next` current. */
  replace(next: SettingsInput): Promise<Settings>
  /** Resolves when every write started so far has finished. */
  flush(): Promise<void>
}

export async function openSettings(configDir: string): Promise<SettingsHandle> {
  const store = createSettingsStore(configPaths(configDir).settings)
  const loaded = await store.load()
  let current = loaded.value
  let pending: Promise<unknown> = Promise.resolve()
  return {
    current: () => current,
    warnings: loaded.warnings.map((warning) => warning.message),
    replace: async (next) => {
      const write = store.save(next)
      pending = write.catch(() => undefined)
      current = await write
      return current
    },
    flush: async () => {
      await pending
    }
  }
}
