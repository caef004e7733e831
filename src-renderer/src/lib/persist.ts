/**
 * What the window remembers between launches: the last page and the values of each page's form, in the
 * renderer's own localStorage (per profile, never sent anywhere). A value that no longer fits its form's shape
 * is dropped for the form's defaults.
 */
const PREFIX = 'kms-scout:'

export function loadRemembered<T extends Record<string, unknown>>(key: string, defaults: T): T {
  try {
    const raw = localStorage.getItem(PREFIX + key)
    if (raw === null) return defaults
    const stored = JSON.parse(raw) as unknown
    if (typeof stored !== 'object' || stored === null) return defaults
    const merged: Record<string, unknown> = { ...defaults }
    for (const [name, value] of Object.entries(stored)) {
      if (name in defaults && typeof value === typeof defaults[name]) merged[name] = value
    }
    return merged as T
  } catch {
    return defaults
  }
}

export function remember(key: string, value: Record<string, unknown>): void {
  try {
    localStorage.setItem(PREFIX + key, JSON.stringify(value))
  } catch {
    /* storage full or unavailable: the form simply starts empty next time */
  }
}
