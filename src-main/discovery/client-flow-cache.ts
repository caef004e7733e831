/**
 * Stage 2 of the client flow: the cached host for the product's KMS application (unless caching is off, like
 * slmgr /ckhc). It is tried first; when it answers the entry is refreshed and the flow ends, when it fails the
 * entry is cleared and DNS discovery runs (without drawing that host again). A cache that cannot be read or
 * written never stops the flow: the problem is traced and discovery goes on.
 */
import type { CachedHost } from '../storage/host-cache'

/** The DNS answer a cached host came from. */
type CachedHostOrigin = NonNullable<CachedHost['origin']>
import { addressesForHost, answeredHostOf, singleCandidate, tryCandidates } from './client-flow-candidates'
import { cancelledEnd, type FlowContext, type FlowEnd } from './client-flow-context'
import type { AnsweredHost, HostCacheLike } from './client-flow-types'

/** Undefined: no cached host answered, go on with DNS discovery. */
export async function tryCachedHost<A>(flow: FlowContext<A>): Promise<FlowEnd<A> | undefined> {
  const { emit } = flow.trace
  const applicationId = flow.options.applicationId
  const hostCache = flow.deps.hostCache
  if (!flow.caching) {
    emit({
      kind: 'cache-lookup',
      applicationId,
      result: 'disabled',
      message: 'host caching is off (like slmgr /ckhc): discovery runs every time'
    })
    return undefined
  }
  if (!hostCache) {
    emit({ kind: 'cache-lookup', applicationId, result: 'unavailable', message: 'no host cache available' })
    return undefined
  }
  const entry = await lookUpCachedHost(flow, hostCache)
  if (!entry) return undefined

  emit({ kind: 'stage', stage: 'cache', outcome: 'start' })
  const addresses = await addressesForHost(flow, entry.host, entry.address)
  const result = await tryCandidates(flow, singleCandidate({ host: entry.host, port: entry.port, source: 'cache' as const, addresses }))
  if (result.cancelled) return cancelledEnd()
  const answered = answeredHostOf(result)
  if (answered) {
    emit({ kind: 'stage', stage: 'cache', outcome: 'answered' })
    await storeAnsweredHost(flow, answered, 'refreshed')
    return { answered }
  }
  emit({ kind: 'stage', stage: 'cache', outcome: 'failed', message: 'the cached host did not answer: discovering again' })
  flow.failedCachedHost = { host: entry.host, port: entry.port }
  await clearCachedHost(flow, hostCache, entry)
  return undefined
}

/** Records a verified host in the cache (a failure to write is traced, not thrown). */
export async function storeAnsweredHost<A>(
  flow: FlowContext<A>,
  answered: AnsweredHost<A>,
  action: 'stored' | 'refreshed',
  origin?: CachedHostOrigin
): Promise<void> {
  const hostCache = flow.deps.hostCache
  if (!hostCache) return
  const applicationId = flow.options.applicationId
  const address = answered.address !== undefined ? { address: answered.address } : {}
  try {
    await hostCache.recordSuccess(applicationId, { host: answered.host, port: answered.port, ...address, ...(origin ? { origin } : {}) })
    flow.cache = { ...flow.cache, update: action }
    flow.trace.emit({
      kind: 'cache-update',
      applicationId,
      action,
      host: answered.host,
      port: answered.port,
      ...address,
      reason: action === 'stored' ? 'the responding host is tried first next time' : 'the cached host answered again'
    })
  } catch (error) {
    flow.trace.emit({ kind: 'cache-update', applicationId, action: 'failed', reason: `cannot write the host cache: ${messageOf(error)}` })
  }
}

/** The cache entry, or null on a miss or when the cache cannot be read (both traced). */
async function lookUpCachedHost<A>(flow: FlowContext<A>, hostCache: HostCacheLike): Promise<CachedHost | null> {
  const { emit } = flow.trace
  const applicationId = flow.options.applicationId
  let entry: CachedHost | null
  try {
    entry = await hostCache.get(applicationId)
  } catch (error) {
    flow.cache = { ...flow.cache, lookup: 'unavailable' }
    emit({ kind: 'cache-lookup', applicationId, result: 'unavailable', message: `cannot read the host cache: ${messageOf(error)}` })
    return null
  }
  if (!entry) {
    emit({ kind: 'cache-lookup', applicationId, result: 'miss' })
    return null
  }
  const address = entry.address !== undefined ? { address: entry.address } : {}
  flow.cache = {
    ...flow.cache,
    lookup: 'hit',
    cachedHost: { host: entry.host, port: entry.port, ...address, lastSuccessAt: entry.lastSuccessAt }
  }
  emit({
    kind: 'cache-lookup',
    applicationId,
    result: 'hit',
    host: entry.host,
    port: entry.port,
    ...address,
    lastSuccessAt: entry.lastSuccessAt
  })
  return entry
}

async function clearCachedHost<A>(flow: FlowContext<A>, hostCache: HostCacheLike, entry: CachedHost): Promise<void> {
  const applicationId = flow.options.applicationId
  try {
    await hostCache.clear(applicationId)
    flow.cache = { ...flow.cache, update: 'cleared' }
    flow.trace.emit({
      kind: 'cache-update',
      applicationId,
      action: 'cleared',
      host: entry.host,
      port: entry.port,
      reason: 'the cached host failed; discovery runs again'
    })
  } catch (error) {
    flow.trace.emit({ kind: 'cache-update', applicationId, action: 'failed', reason: `cannot clear the cached host: ${messageOf(error)}` })
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
