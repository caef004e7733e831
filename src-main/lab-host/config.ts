/**
 * Lab-host configuration helpers shared by the CLI (`kms-scout serve`) and the app service: listen addresses
 * (`IP[:PORT]`, port 0 = ephemeral), loopback detection, and the settings file's `labHost` section turned into
 * LabHost options (CLI flags override single fields before this is called).
 */
import { isIP } from 'node:net'
import { LISTEN_ADDRESS_RULES, parseHostPort } from '../common/host-port'
import path from 'node:path'
import { configPaths } from '../storage/config-dir'
import type { LabHostSettings } from '../storage/settings'
import type { LabHostCountMode } from './count'
import { LAB_HOST_IDENTITY_FILE, type IdentityOverrides } from './identity'

export interface ListenAddress {
  /** IP literal (no host names: a listener must not depend on DNS) */
  address: string
  /** 0 = any free port */
  port: number
}

/**
 * Parses `1.2.3.4`, `1.2.3.4:1688`, `::1`, `[::1]`, `[::1]:1688` (port 0 allowed: ephemeral) with the project's one
 * host:port parser. Returns an error sentence for anything else.
 */
export function parseListenAddress(text: string): ListenAddress | string {
  const parsed = parseHostPort(text, LISTEN_ADDRESS_RULES)
  if (!parsed.ok) return `${parsed.error.message}; ${parsed.error.hint}`
  return { address: parsed.value.host, port: parsed.value.port }
}

/** True for 127.0.0.0/8, ::1 and IPv4-mapped loopback. 0.0.0.0 and :: (every interface) are not loopback. */
export function isLoopback(address: string): boolean {
  const a = address.toLowerCase()
  if (isIP(a) === 4) return a.startsWith('127.')
  if (a === '::1' || a === '0:0:0:0:0:0:0:1') return true
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a)
  return mapped !== null && mapped[1]!.startsWith('127.')
}

/** The parts of LabHost's options that come from configuration (no clock, randomness or identity). */
export interface LabHostConfig {
  listen: ListenAddress[]
  dbPath: string
  identityFile: string
  identityOverrides: IdentityOverrides
  /** host keys chosen instead of the defaults (names or activation IDs) */
  csvlks: string[]
  countMode: LabHostCountMode
  activationInterval: number
  renewalInterval: number
  maxConnections: number
  maxConnectionsPerAddress: number
  maxRequestsPerSecondPerAddress: number
  maxLogBytes: number
  exchangeTimeoutMs: number
  maxPduBytes: number
  retentionDays: number
  jsonLog: boolean
}

/**
 * The `labHost` settings section as LabHost configuration. `dbPath` is resolved against the config directory when
 * relative; `null` means `client-log.sqlite` there. Throws RangeError for a listen address the settings schema
 * let through but the host cannot use.
 */
export function labHostConfigFromSettings(s: LabHostSettings, configDir: string): LabHostConfig {
  const paths = configPaths(configDir)
  const listen = s.listen.map((text) => {
    const parsed = parseListenAddress(text)
    if (typeof parsed === 'string') throw new RangeError(`labHost.listen: ${parsed}`)
    return parsed
  })
  return {
    listen,
    dbPath: s.dbPath === null ? paths.clientLog : path.resolve(configDir, s.dbPath),
    identityFile: path.join(configDir, LAB_HOST_IDENTITY_FILE),
    identityOverrides: { epids: s.epids, hwid: s.hwid },
    csvlks: s.csvlks,
    countMode: s.countMode,
    activationInterval: s.activationInterval,
    renewalInterval: s.renewalInterval,
    maxConnections: s.maxConnections,
    maxConnectionsPerAddress: s.maxConnectionsPerAddress,
    maxRequestsPerSecondPerAddress: s.maxRequestsPerSecondPerAddress,
    maxLogBytes: s.maxLogMiB * 1048576,
    exchangeTimeoutMs: s.exchangeTimeoutS * 1000,
    maxPduBytes: s.maxPduBytes,
    retentionDays: s.retentionDays,
    jsonLog: s.jsonLog
  }
}
