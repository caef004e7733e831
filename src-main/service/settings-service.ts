/**
 * The settings as the running app sees them: loaded once at start (a broken file is moved aside
 * and reported as a warning by the store), kept in memory, and written through on every change.
 */
import { configPaths } from '../storage/config-dir'
import { createSettingsStore, defaultSettings, type Settings, type SettingsInput } from '../storage/settings'

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
  const file = configPaths(configDir).settings
  const store = createSettingsStore(file)
  // The store never throws for the file's content (it salvages or moves a broken file aside); a file system
  // error (no permission, a folder in the way) still leaves KMS Scout usable with the defaults.
  const loaded = await store.load().catch((error: unknown) => ({
    value: defaultSettings(),
    warnings: [{ message: `settings not readable (${error instanceof Error ? error.message : String(error)}); using defaults` }]
  }))
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
