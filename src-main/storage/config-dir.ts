/**
 * Where the CLI keeps its files. A pure function of the injected platform, environment and home directory so it
 * can be tested for every OS on any OS (path rules are taken from `path.win32` / `path.posix` by platform).
 *
 * The Electron shell passes `app.getPath('userData')` instead. Electron's default userData is
 * `<appData>/<app name>`, which equals the result here when the app name is `kms-scout`; keeping them equal
 * lets the app and the CLI share one CMID (identity.json), one host cache and one settings file.
 */
import path from 'node:path'

const APP_DIR_NAME = 'kms-scout'

/** Environment variable that overrides the directory on every platform (tests, portable installs). */
const CONFIG_DIR_ENV = 'KMS_SCOUT_CONFIG_DIR'

export interface ConfigDirInput {
  platform: NodeJS.Platform
  env: Readonly<Record<string, string | undefined>>
  homedir: string
}

/**
 * - override: `$KMS_SCOUT_CONFIG_DIR` (used as given, normalised; a relative value stays relative to the
 *   working directory)
 * - Windows: `%APPDATA%\kms-scout`, or `<home>\AppData\Roaming\kms-scout` if APPDATA is unset
 * - macOS: `~/Library/Application Support/kms-scout`
 * - Linux and other Unix: `$XDG_CONFIG_HOME/kms-scout` if it is set and absolute (the XDG spec says relative
 *   values are invalid and must be ignored), else `~/.config/kms-scout`
 */
export function configDir(input: ConfigDirInput): string {
  const p = input.platform === 'win32' ? path.win32 : path.posix
  const override = nonEmpty(input.env[CONFIG_DIR_ENV])
  if (override !== undefined) return p.normalize(override)

  switch (input.platform) {
    case 'win32': {
      const appData = nonEmpty(input.env.APPDATA)
      return appData !== undefined && p.isAbsolute(appData)
        ? p.join(appData, APP_DIR_NAME)
        : p.join(input.homedir, 'AppData', 'Roaming', APP_DIR_NAME)
    }
    case 'darwin':
      return p.join(input.homedir, 'Library', 'Application Support', APP_DIR_NAME)
    default: {
      const xdg = nonEmpty(input.env.XDG_CONFIG_HOME)
      return xdg !== undefined && p.isAbsolute(xdg) ? p.join(xdg, APP_DIR_NAME) : p.join(input.homedir, '.config', APP_DIR_NAME)
    }
  }
}

/** The files every component agrees on, inside a config directory. */
export interface ConfigPaths {
  dir: string
  settings: string
  identity: string
  hostCache: string
  /** default lab-host client log when `labHost.dbPath` is null */
  clientLog: string
}

export function configPaths(dir: string, platform: NodeJS.Platform = process.platform): ConfigPaths {
  const p = platform === 'win32' ? path.win32 : path.posix
  return {
    dir,
    settings: p.join(dir, 'settings.json'),
    identity: p.join(dir, 'identity.json'),
    hostCache: p.join(dir, 'host-cache.json'),
    clientLog: p.join(dir, 'client-log.sqlite')
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value
}
