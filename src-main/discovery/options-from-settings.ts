/**
 * How the client settings (settings.json, like slmgr's /skms, /skms-domain, /skhc …) and the overrides of one
 * run (CLI flags, or the fields of the UI's check form) combine into the options of a check or a discovery.
 * One function for the CLI and the app service, so both behave the same: an override wins, otherwise the
 * setting applies.
 */
import type { ClientSettings } from '../storage/settings'
import type { CheckOptions } from './run-check'
import type { DiscoveryOptions } from './run-discovery'

export interface RunOverrides {
  /** Like slmgr /skms for this run only. */
  readonly host?: { readonly host: string; readonly port: number }
  /** Like slmgr /skms-domain for this run only (several allowed). */
  readonly domains?: readonly string[]
  readonly dnsServer?: string
  readonly protocol?: 4 | 5 | 6
  /** Like slmgr /ckhc for this run only. */
  readonly noCache?: boolean
  readonly sequential?: boolean
  readonly staggerMs?: number
  readonly legacySelection?: boolean
  /** One limit for every phase (connect, bind, request). */
  readonly timeoutMs?: number
  readonly workstationName?: string
  /** The whole run's deadline in seconds; default DEFAULT_DEADLINE_S. */
  readonly deadlineS?: number
}

export function discoveryOptionsFrom(client: ClientSettings, overrides: RunOverrides): DiscoveryOptions {
  return {
    lookupDomains: overrides.domains ?? (client.lookupDomain === null ? null : [client.lookupDomain]),
    dnsServer: overrides.dnsServer ?? client.dnsServer ?? null,
    selection: overrides.legacySelection === true || client.legacySelection ? 'legacy-random' : 'rfc2782',
    ...(overrides.deadlineS !== undefined ? { deadlineMs: overrides.deadlineS * 1000 } : {})
  }
}

/**
 * `defaultWorkstationName` is used when neither the run nor the settings name one (this computer's name). The
 * product is not here: the service chooses it once, with its own errors and warnings (service/products.ts).
 */
export function checkOptionsFrom(
  client: ClientSettings,
  overrides: RunOverrides,
  defaultWorkstationName: string
): Omit<CheckOptions, 'product'> {
  const { timeoutMs } = overrides
  return {
    ...discoveryOptionsFrom(client, overrides),
    protocol: overrides.protocol ?? client.protocolOverride,
    workstationName: overrides.workstationName ?? client.workstationName ?? defaultWorkstationName,
    manualHost: overrides.host ?? client.manualHost,
    hostCaching: overrides.noCache === true ? false : client.hostCaching,
    failover: {
      mode: overrides.sequential === true ? 'sequential' : overrides.staggerMs !== undefined ? 'staggered' : client.failover.mode,
      staggerMs: overrides.staggerMs ?? client.failover.staggerMs
    },
    timeouts: timeoutMs !== undefined ? { connectMs: timeoutMs, bindMs: timeoutMs, requestMs: timeoutMs } : { ...client.timeouts }
  }
}
