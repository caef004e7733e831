/**
 * The WorkstationName a health check sends: this computer's name, fully qualified when the system knows it
 * (Windows clients send their FQDN), at most 63 characters (the field is WCHAR[64] with its NUL). A fixed,
 * truthful name lets the host's admin see who the monitor is (docs/protocol.md §10.3).
 */
import { promises as dns } from 'node:dns'
import { hostname as osHostname } from 'node:os'

import { WORKSTATION_NAME_MAX } from '../protocol'

export interface WorkstationNameDeps {
  hostname?: () => string
  /** name → one address (default dns.promises.lookup: hosts file / system resolver) */
  lookup?: (name: string) => Promise<{ address: string }>
  /** address → name (default dns.promises.lookupService) */
  lookupService?: (address: string) => Promise<{ hostname: string }>
  /** bound on the FQDN lookup; the short name is used when it takes longer. Default 1000 ms */
  timeoutMs?: number
}

const FALLBACK_NAME = 'kms-scout'

/** Cuts a name to what the wire carries: at most 63 UTF-16 code units, without splitting a surrogate pair. */
export function fitWorkstationName(name: string): string {
  if (name.length <= WORKSTATION_NAME_MAX) return name
  let cut = name.slice(0, WORKSTATION_NAME_MAX)
  const last = cut.charCodeAt(cut.length - 1)
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1)
  return cut
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms)
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      () => {
        clearTimeout(timer)
        resolve(undefined)
      }
    )
  })
}

/**
 * This computer's name for KMS requests. The FQDN is taken from the reverse lookup of the own address only
 * when it extends the short name (`pc01` → `pc01.corp.example`); anything else (e.g. `localhost` for
 * 127.0.0.1) is ignored. Never fails: falls back to the short name, then to "kms-scout".
 */
export async function localWorkstationName(deps: WorkstationNameDeps = {}): Promise<string> {
  const short = (deps.hostname ?? osHostname)().trim()
  if (short === '') return FALLBACK_NAME
  if (short.includes('.')) return short.length <= WORKSTATION_NAME_MAX ? short : fitWorkstationName(short.split('.')[0]!)
  const lookup = deps.lookup ?? ((name: string) => dns.lookup(name))
  const lookupService = deps.lookupService ?? ((address: string) => dns.lookupService(address, 0))
  const fqdn = await withTimeout(
    (async () => {
      const { address } = await lookup(short)
      const { hostname } = await lookupService(address)
      return hostname
    })(),
    deps.timeoutMs ?? 1000
  )
  if (fqdn !== undefined && fqdn.toLowerCase().startsWith(`${short.toLowerCase()}.`) && fqdn.length <= WORKSTATION_NAME_MAX) return fqdn
  return fitWorkstationName(short)
}
