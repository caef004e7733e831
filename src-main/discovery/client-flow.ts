/**
 * The KMS client flow, in the order a Windows client uses (docs/windows-client.md §1.3–1.4), one stage
 * per step, each in its own module over one shared context (./client-flow-context.ts):
 *
 *   1. manual host (slmgr /skms, ./client-flow-manual.ts): if set, the only host tried; not cached.
 *   2. cached host (./client-flow-cache.ts): tried first unless caching is off; refreshed when it answers,
 *      cleared when it fails.
 *   3. DNS discovery (./client-flow-dns.ts): `_vlmcs._tcp.<domain>` for each domain in order, hosts drawn by
 *      RFC 2782 priority/weight, failover until the first verified answer, which is cached. A cached host that
 *      has just failed is not drawn again, so a dead host is not waited for twice.
 *
 * The first stage that ends the flow (a verified host, or an error that stops it) gives the result; a stage
 * that returns undefined hands over to the next. Everything outside is injected (probe, host cache, OS
 * resolver config, randomness, clock), so the flow runs the same in the CLI, the app service and tests. The
 * result is JSON-serialisable apart from the answer type `A`, which callers keep serialisable (the KMS answer
 * summary is).
 */
import { tryCachedHost } from './client-flow-cache'
import { createFlowContext, finishFlow, traceFlowStart } from './client-flow-context'
import { discoverViaDns } from './client-flow-dns'
import { tryManualHost } from './client-flow-manual'
import type { ClientFlowDeps, ClientFlowOptions, ClientFlowResult } from './client-flow-types'

export type {
  ClientFlowDeps,
  ClientFlowOptions,
  ClientFlowResult,
  DiscoveryDeps,
  DiscoveryOptions,
  FlowError,
  SrvRecordView
} from './client-flow-types'
export { domainResultView, recordView } from './client-flow-views'

export async function runClientFlow<A>(options: ClientFlowOptions, deps: ClientFlowDeps<A>): Promise<ClientFlowResult<A>> {
  const flow = createFlowContext(options, deps)
  try {
    traceFlowStart(flow)
    const end = (await tryManualHost(flow)) ?? (await tryCachedHost(flow)) ?? (await discoverViaDns(flow))
    return finishFlow(flow, end)
  } finally {
    flow.deadline.dispose() // also when a stage throws: the timer must not outlive the run
  }
}
