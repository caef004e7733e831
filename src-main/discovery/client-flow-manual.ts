/**
 * Stage 1 of the client flow: the manual host (slmgr /skms). When set it is the only host tried — "Setting this
 * value disables auto-detection of the KMS host" — so this stage ends the flow whether or not the host answers.
 * It is not cached: the cache holds discovered hosts, like Windows' DiscoveredKeyManagementServiceMachineName.
 */
import { addressesForHost, answeredHostOf, noHostError, singleCandidate, tryCandidates } from './client-flow-candidates'
import { cancelledEnd, type FlowContext, type FlowEnd } from './client-flow-context'
import { formatHostPort } from './probe'

/** Undefined when no manual host is set. */
export async function tryManualHost<A>(flow: FlowContext<A>): Promise<FlowEnd<A> | undefined> {
  const configured = flow.options.manualHost
  if (!configured) return undefined
  const { emit } = flow.trace
  const manual = { host: configured.host, port: configured.port }
  flow.cache = { ...flow.cache, lookup: 'not-used' }
  emit({ kind: 'manual-host', ...manual, note: 'set like slmgr /skms: host cache and DNS discovery are not used' })
  emit({ kind: 'stage', stage: 'manual', outcome: 'start' })

  const addresses = await addressesForHost(flow, manual.host)
  const result = await tryCandidates(flow, singleCandidate({ ...manual, source: 'manual' as const, addresses }))
  if (result.cancelled) return cancelledEnd()
  const answered = answeredHostOf(result)
  if (answered) {
    emit({ kind: 'stage', stage: 'manual', outcome: 'answered' })
    emit({
      kind: 'cache-update',
      applicationId: flow.options.applicationId,
      action: 'skipped',
      host: manual.host,
      port: manual.port,
      reason: 'a manual host is not cached (the cache holds discovered hosts)'
    })
    return { answered, manualHost: manual }
  }
  emit({ kind: 'stage', stage: 'manual', outcome: 'failed', message: 'the manual host overrides discovery, so no other host is tried' })
  return {
    error: noHostError(
      flow.attempts,
      `the manual host ${formatHostPort(manual.host, manual.port)} gave no verified answer; it overrides discovery (like /skms), so no other host was tried`
    ),
    manualHost: manual
  }
}
