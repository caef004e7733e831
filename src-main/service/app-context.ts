/**
 * What every use of KMS Scout shares, assembled once per config folder: the settings (loaded once; a broken file
 * is moved aside and reported, defaults are used), this installation's client identity (one CMID per
 * installation, created on first use) and the host cache. The desktop app and every CLI command start here, so
 * settings are read one way, the identity store exists once, and problems reach the user as warnings through the
 * caller's `onWarning` (the app's notice events, the CLI's stderr).
 */
import { randomBytes } from 'node:crypto'
import { statSync } from 'node:fs'
import { homedir } from 'node:os'
import { ApiFailure } from '../api/result'
import { ClientIdentityStore } from '../storage/client-identity'
import { configDir, configPaths, type ConfigPaths } from '../storage/config-dir'
import { HostCache } from '../storage/host-cache'
import { openSettings, type SettingsHandle } from './settings-service'

export interface AppContextOptions {
  /** The config folder; default: the platform's (or $KMS_SCOUT_CONFIG_DIR from `env`). */
  readonly configDir?: string
  /** Environment for the config folder lookup; default process.env. */
  readonly env?: NodeJS.ProcessEnv
  /** Problems worth telling the user: a settings file moved aside, an identity recreated, a cache dropped. */
  readonly onWarning: (message: string) => void
}

export interface AppContext {
  readonly configDir: string
  readonly paths: ConfigPaths
  readonly settings: SettingsHandle
  readonly identity: ClientIdentityStore
  readonly hostCache: HostCache
}

/** The config folder for this platform and environment (`KMS_SCOUT_CONFIG_DIR` overrides it). */
export function defaultConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return configDir({ platform: process.platform, env, homedir: homedir() })
}

export async function openAppContext(options: AppContextOptions): Promise<AppContext> {
  const dir = options.configDir ?? defaultConfigDir(options.env)
  refuseConfigFolderThatIsAFile(dir)
  const paths = configPaths(dir)
  const settings = await openSettings(dir)
  for (const warning of settings.warnings) options.onWarning(warning)
  return {
    configDir: dir,
    paths,
    settings,
    identity: new ClientIdentityStore({
      file: paths.identity,
      random: (n) => randomBytes(n),
      now: () => new Date(),
      onWarning: (warning) => options.onWarning(warning.message)
    }),
    hostCache: new HostCache({ file: paths.hostCache, now: () => new Date(), onWarning: (warning) => options.onWarning(warning.message) })
  }
}

/** A config "folder" that is a file: say so (it would otherwise surface as a confusing EEXIST or ENOTDIR later). */
function refuseConfigFolderThatIsAFile(dir: string): void {
  let isFile: boolean
  try {
    isFile = !statSync(dir).isDirectory()
  } catch {
    return // missing: it is created when first needed
  }
  if (isFile) {
    throw new ApiFailure(
      'config',
      `the config folder ${dir} is a file, not a folder`,
      'rename or remove that file, or set KMS_SCOUT_CONFIG_DIR to a folder'
    )
  }
}
