/**
 * The offline promise as a rule over recorded network events (net-recorder.ts): traffic may go only to the
 * destinations the test configured — its loopback DNS servers, KMS hosts and lab-host listeners — and the system
 * resolver may be asked only about this computer's own name and address (the workstation name a Windows client
 * sends, src-main/kms-client/workstation.ts). Everything else is a violation.
 */
import { readFile } from 'node:fs/promises'
import { hostname, networkInterfaces } from 'node:os'
import { isIP } from 'node:net'
import type { NetEvent } from './net-recorder'

export interface AllowedDestinations {
  /** `host:port` pairs (host as a name or an address, IPv6 without brackets) reached over TCP or UDP */
  endpoints: Array<{ host: string; port: number }>
  /** names and addresses the system resolver may be asked about, besides this computer's own name */
  resolverNames?: string[]
}

export async function readNetEvents(file: string): Promise<NetEvent[]> {
  const text = await readFile(file, 'utf8').catch(() => '')
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as NetEvent)
}

/** The events that break the rule (empty when the run kept the promise). */
export function violations(events: NetEvent[], allowed: AllowedDestinations): NetEvent[] {
  const endpoint = (host: string, port: number | undefined): string => `${host.replace(/^::ffff:/, '')}|${port}`
  const endpoints = new Set(allowed.endpoints.map((e) => endpoint(e.host, e.port)))
  const ownName = hostname()
  const ownAddresses = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address))
  const resolverNames = new Set([ownName, ownName.split('.')[0]!, ...ownAddresses, ...(allowed.resolverNames ?? [])])
  return events.filter((event) => {
    switch (event.kind) {
      case 'ipc':
        return false
      case 'resolve':
        // lookup() of an address literal (dgram's bind of 0.0.0.0) answers without asking anyone; a reverse
        // lookupService() of an address does ask, so only this computer's own addresses pass.
        if (event.via?.endsWith('.lookup') === true && isIP(event.host) !== 0) return false
        return !resolverNames.has(event.host) && !event.host.startsWith('127.')
      default:
        return !endpoints.has(endpoint(event.host, event.port))
    }
  })
}
