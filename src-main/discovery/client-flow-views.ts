/** Plain views of DNS results for the report (shared by the client flow and runDiscovery). */
import type { SrvTargetRecord } from '../dns/srv-lookup'
import type { DomainLookup } from './domains'
import type { DomainResultView, SrvRecordView } from './client-flow-types'

export function recordView(r: SrvTargetRecord): SrvRecordView {
  return {
    priority: r.priority,
    weight: r.weight,
    port: r.port,
    target: r.target,
    ttl: r.ttl,
    addresses: r.addresses.map((a) => a.address),
    addressSource: r.addressSource,
    ...(r.addressLookups.some((l) => l.code === 'aborted') ? { addressesUnfinished: true as const } : {})
  }
}

export function domainResultView(lookup: DomainLookup): DomainResultView {
  return {
    domain: lookup.domain,
    qname: lookup.qname,
    servers: lookup.servers,
    outcome: lookup.outcome,
    ...(lookup.code !== undefined ? { code: lookup.code } : {}),
    ...(lookup.message !== undefined ? { message: lookup.message } : {}),
    records: lookup.result ? lookup.result.records.map(recordView) : [],
    ...(lookup.result ? { minTtl: lookup.result.minTtl } : {}),
    ...(lookup.result && lookup.result.ignoredRecords > 0 ? { ignoredRecords: lookup.result.ignoredRecords } : {}),
    ...(lookup.result && lookup.result.unfinishedTargets > 0 ? { unfinishedTargets: lookup.result.unfinishedTargets } : {})
  }
}
