/**
 * What the client flow's stages share for trying hosts: resolving a manual or cached host's name, running the
 * failover over a candidate supply (recording its attempts in the flow), turning the winner into the report's
 * answered host, and the 0xC004F074 error when no host gave a verified answer.
 */
import { isIP } from 'node:net'
import { isDnsError } from '../dns/errors'
import { resolveHostAddresses } from '../dns/srv-lookup'
import type { AnsweredHost, FlowError } from './client-flow-types'
import type { FlowContext } from './client-flow-context'
import { explainWindowsCode, WINDOWS_CODE } from './error-map'
import { runFailover, type AttemptRecord, type CandidateSupply, type FailoverCandidate, type FailoverResult } from './failover'
import { formatHostPort } from './probe'

/** Runs the failover over `supply` with the flow's settings; its attempts join the flow's. */
export async function tryCandidates<A, C extends FailoverCandidate>(
  flow: FlowContext<A>,
  supply: CandidateSupply<C>
): Promise<FailoverResult<A, C>> {
  const result = await runFailover(supply, flow.deps.probe, flow.failover, {
    emit: flow.trace.emit,
    elapsed: flow.trace.elapsed,
    counters: flow.counters,
    ...(flow.signal ? { signal: flow.signal } : {})
  })
  flow.attempts.push(...result.attempts)
  return result
}

/** A supply of exactly one candidate (the manual or the cached host). */
export function singleCandidate<C extends FailoverCandidate>(candidate: C): CandidateSupply<C> {
  let given = false
  return {
    next: () => {
      if (given) return undefined
      given = true
      return candidate
    }
  }
}

export function answeredHostOf<A, C extends FailoverCandidate>(result: FailoverResult<A, C>): AnsweredHost<A> | undefined {
  const w = result.winner
  if (!w) return undefined
  return {
    source: w.candidate.source,
    host: w.candidate.host,
    port: w.candidate.port,
    ...(w.address !== undefined ? { address: w.address } : {}),
    answer: w.answer,
    rttMs: w.rttMs,
    candidate: w.candidateIndex,
    attempt: w.attempt
  }
}

/**
 * Addresses for a manual or cached host: an IP literal as is, the address stored with the cached host, else a
 * lookup at the configured DNS server. Empty: connect by name and let the operating system resolve it.
 */
export async function addressesForHost<A>(flow: FlowContext<A>, host: string, cachedAddress?: string): Promise<string[]> {
  const { emit } = flow.trace
  const literal = host.replace(/^\[(.*)\]$/, '$1')
  if (isIP(literal) !== 0) {
    emit({ kind: 'host-resolve', host, addresses: [literal], via: 'literal' })
    return [literal]
  }
  if (cachedAddress !== undefined) {
    emit({
      kind: 'host-resolve',
      host,
      addresses: [cachedAddress],
      via: 'cache',
      message: 'address stored with the cached host; no DNS query needed'
    })
    return [cachedAddress]
  }
  const server = flow.configuredDnsServer
  if (server === undefined) {
    emit({ kind: 'host-resolve', host, addresses: [], via: 'os', message: 'resolved by the operating system when connecting' })
    return []
  }
  try {
    const found = await resolveHostAddresses(flow.dnsClientFor([server]), host, flow.signal ? { signal: flow.signal } : {})
    const addresses = found.addresses.map((x) => x.address)
    if (addresses.length > 0) {
      emit({ kind: 'host-resolve', host, addresses, via: 'dns' })
      return addresses
    }
    emit({ kind: 'host-resolve', host, addresses: [], via: 'os', message: `no A/AAAA record at ${server}; connecting by name` })
    return []
  } catch (error) {
    if (!isDnsError(error)) throw error
    // Cancelled: the failover that follows sees the aborted signal and reports the cancellation.
    if (error.code === 'aborted') return []
    emit({ kind: 'host-resolve', host, addresses: [], via: 'os', message: `${error.message}; connecting by name` })
    return []
  }
}

/**
 * 0xC004F074 with the most telling inner code: a host's own refusal (HRESULT) beats transport errors, since it
 * says what to fix; otherwise the code of the last failed attempt.
 */
export function noHostError(attempts: readonly AttemptRecord[], message: string): FlowError {
  const failed = attempts.filter((a) => a.outcome === 'failed')
  const refusal = failed.find((a) => a.code === 'kms-error' && a.windowsCode !== undefined)
  const innerCode = refusal?.windowsCode ?? [...failed].reverse().find((a) => a.windowsCode !== undefined)?.windowsCode
  const details = failed.map(
    (a) => `${formatHostPort(a.address ?? a.host, a.port)} ${a.code ?? 'failed'}${a.windowsCode ? ` ${a.windowsCode}` : ''}`
  )
  return {
    kind: 'no-host-contacted',
    windows: explainWindowsCode(WINDOWS_CODE.noKmsContacted),
    message: details.length > 0 ? `${message}: ${details.join('; ')}` : message,
    ...(innerCode !== undefined ? { inner: explainWindowsCode(Number.parseInt(innerCode, 16)) } : {})
  }
}
