/** Shared by the DNS tests: a client that records its trace, and a way to await the DnsError a lookup must fail with. */
import { createDnsClient, type DnsClientOptions } from '../../src-main/dns/client'
import { DnsError } from '../../src-main/dns/errors'
import type { DnsTraceEvent } from '../../src-main/dns/trace'

export function tracedDnsClient(servers: string[], options: Partial<DnsClientOptions> = {}) {
  const events: DnsTraceEvent[] = []
  const dns = createDnsClient({ servers, timeoutMs: 2000, attempts: 2, trace: (e) => events.push(e), ...options })
  return { dns, events }
}

export async function dnsError(promise: Promise<unknown>): Promise<DnsError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof DnsError) return error
    throw error
  }
  throw new Error('expected a DnsError, the promise resolved')
}
