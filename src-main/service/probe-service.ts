/**
 * "Probe all hosts" of the discovery page: one verified KMS query to each host, several at a time but never more
 * than PROBE_PARALLELISM, each with this installation's stable client identity — so probing adds at most one
 * client to each host's count, the same one every check adds.
 */
import { PROBE_PARALLELISM } from '../common/defaults'
import type { HandlerTable, HostProbeResult } from '../api/contract'
import { formatHostPort } from '../common/host-port'
import { mapLimited } from '../common/map-limited'
import type { AppContext } from './app-context'
import { queryHost } from './client-service'
import { chooseProduct } from './products'

/** Hosts asked at once: enough for a site's handful of hosts in one round, few enough to stay polite. */

export function createProbeHandlers(ctx: AppContext, onWarning: (message: string) => void): Pick<HandlerTable, 'probeHosts'> {
  return {
    probeHosts: async (input) => {
      const product = chooseProduct({ skuId: input.productSkuId }, { name: 'product', skuId: 'productSkuId' })
      const results = await mapLimited(input.targets, PROBE_PARALLELISM, async (target): Promise<HostProbeResult> => {
        const report = await queryHost(ctx, { host: target.host, port: target.port, product }, { onWarning })
        const answer = report.answer
        const code = answer?.windowsCode ?? report.error?.hostCode ?? report.error?.windowsCode ?? null
        return {
          target: formatHostPort(target.host, target.port),
          ok: report.ok,
          rttMs: report.ok ? report.rtt.totalMs : null,
          count: answer?.count ?? null,
          threshold: report.product.threshold,
          epid: answer?.epid.value ?? null,
          windowsCode: code?.code ?? null,
          message: report.summary
        }
      })
      return { results }
    }
  }
}
