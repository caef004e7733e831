/**
 * `check`: the whole client flow for one product, judged like a monitoring plugin. Called by the CLI and, for
 * the UI, by the app service (`runCheck(options, deps)`; progress through `deps.onTrace`).
 *
 * Status (Monitoring Plugins convention):
 *   OK       0  a host gave a verified answer and its count meets the product's threshold (a client activates)
 *   WARNING  1  a host answered, but count < threshold (a client would get 0xC004F038)
 *   CRITICAL 2  no KMS host found or none gave a verified answer (0x8007232B / 0x8007251D / 0x8007232A /
 *               0xC004F074 …)
 *   UNKNOWN  3  the check could not run as configured: no DNS server or no DNS domain on this machine,
 *               cancelled; bad options are thrown as DiscoveryConfigError (the CLI also exits 3)
 */
import { neededKeyAdvice } from '../kms-client/answer-analysis'
import { monitoringText } from '../common/inert-text'
import { formatMs } from '../common/format'
import { hostname } from 'node:os'
import { productCatalog, type ProductCatalog, type RequestIdentity, type Sku } from '../protocol'
import type { KmsClientTimeouts } from '../kms-client/kms-client'
import { fitWorkstationName } from '../kms-client/workstation'
import { runClientFlow, type ClientFlowDeps, type ClientFlowOptions, type ClientFlowResult, type FlowError } from './client-flow'
import { explainWindowsCode, WINDOWS_CODE, type WindowsCodeEntry } from './error-map'
import { createKmsProbe, type KmsAnswerSummary } from './kms-probe'
import { formatHostPort, type Probe } from './probe'
import type { TraceEntry } from './trace'

export type MonitoringStatus = 'ok' | 'warning' | 'critical' | 'unknown'
const CHECK_EXIT: Readonly<Record<MonitoringStatus, 0 | 1 | 2 | 3>> = { ok: 0, warning: 1, critical: 2, unknown: 3 }

export interface CheckOptions extends Omit<ClientFlowOptions, 'applicationId' | 'application' | 'product'> {
  /** The product to claim, chosen once by the service (service/products.ts `productForRun`). */
  readonly product: Sku
  /** KMS protocol version to send; default the product's. */
  readonly protocol?: 4 | 5 | 6 | null
  /** WorkstationName in the request; default this computer's short name (the CLI passes the FQDN when known). */
  readonly workstationName?: string | null
  /** Transport timeouts per attempt (connect, bind, request). */
  readonly timeouts?: Partial<Pick<KmsClientTimeouts, 'connectMs' | 'bindMs' | 'requestMs'>>
}

export interface CheckDeps extends Omit<ClientFlowDeps<KmsAnswerSummary>, 'probe'> {
  /** The installation's stable client identity (ClientIdentityStore). */
  readonly identity: { readonly cmid: string; readonly previousCmid?: string | null }
  /** Override the real KMS probe (tests). */
  readonly probe?: Probe<KmsAnswerSummary>
  readonly catalog?: ProductCatalog
}

export interface CheckProductView {
  readonly name: string
  readonly skuId: string
  readonly application: string
  readonly applicationId: string
  readonly kmsCountedId: string
  readonly kmsCountedName: string
  /** N_Policy: how many clients the host must count before this product activates. */
  readonly threshold: number
  readonly protocol: number
}

export interface CheckReport {
  readonly status: MonitoringStatus
  readonly exitCode: 0 | 1 | 2 | 3
  /** `KMS OK - kms01.example.test:1688 count=50/25 ePID=… rtt=12ms`: always one line without `|` (values from the network are made inert) */
  readonly statusLine: string
  /** `count=50;;;0 rtt=12ms` (empty when no host answered) */
  readonly perfdata: string
  /** Would a client of this product activate against the answering host? */
  readonly wouldActivate: boolean
  readonly product: CheckProductView
  readonly cmid: string
  readonly host?: { readonly host: string; readonly port: number; readonly address?: string; readonly source: 'manual' | 'cache' | 'dns' }
  readonly answer?: KmsAnswerSummary
  /** The Windows code a client would report (0xC004F038 for WARNING, 0xC004F074 / DNS codes for CRITICAL). */
  readonly windows?: WindowsCodeEntry
  readonly error?: FlowError
  /** When a host refused the product (0xC004F042): the host key it needs (docs/product-catalog.md). */
  readonly hostKeyAdvice?: string
  readonly flow: Omit<ClientFlowResult<KmsAnswerSummary>, 'trace' | 'answered' | 'error'>
  readonly trace: readonly TraceEntry[]
  readonly durationMs: number
}

export async function runCheck(options: CheckOptions, deps: CheckDeps): Promise<CheckReport> {
  const catalog = deps.catalog ?? productCatalog
  const sku = options.product
  const identity: RequestIdentity = catalog.requestIdentity(sku)
  const protocol = options.protocol ?? identity.protocol
  const application = catalog.applicationById(identity.appId)?.name ?? sku.application
  const workstationName = fitWorkstationName(options.workstationName ?? hostname()) || 'kms-scout'
  const product: CheckProductView = {
    name: sku.name,
    skuId: sku.guid,
    application,
    applicationId: identity.appId,
    kmsCountedId: identity.kmsId,
    kmsCountedName: sku.kmsCountedName,
    threshold: identity.nPolicy,
    protocol
  }

  const probe =
    deps.probe ??
    createKmsProbe({
      request: {
        identity,
        protocol,
        cmid: deps.identity.cmid,
        ...(deps.identity.previousCmid ? { cmidPrev: deps.identity.previousCmid } : {}),
        workstationName
      },
      ...(options.timeouts ? { timeouts: options.timeouts } : {})
    })

  const { product: _p, protocol: _v, workstationName: _w, timeouts: _t, ...flowOptions } = options
  const { identity: _i, probe: _pr, catalog: _c, ...flowDeps } = deps
  const flow = await runClientFlow<KmsAnswerSummary>(
    { ...flowOptions, applicationId: identity.appId, application, product: sku.name },
    { ...flowDeps, probe }
  )
  return judge(flow, product, deps.identity.cmid)
}

/** Turns a flow result into the monitoring verdict, status line and perfdata. */
function judge(flow: ClientFlowResult<KmsAnswerSummary>, product: CheckProductView, cmid: string): CheckReport {
  const { trace, answered, error, ...rest } = flow
  const common = { product, cmid, flow: rest, trace, durationMs: flow.durationMs }
  if (answered) {
    const a = answered.answer
    const where = formatHostPort(answered.host, answered.port)
    const rtt = formatMs(answered.rttMs)
    const perfdata = `count=${a.count};;;0 rtt=${rtt}ms`
    const host = {
      host: answered.host,
      port: answered.port,
      ...(answered.address !== undefined ? { address: answered.address } : {}),
      source: answered.source
    }
    if (a.countSufficient) {
      return {
        status: 'ok',
        exitCode: CHECK_EXIT.ok,
        statusLine: monitoringText(`KMS OK - ${where} count=${a.count}/${a.threshold} ePID=${a.epid} rtt=${rtt}ms`),
        perfdata,
        wouldActivate: true,
        host,
        answer: a,
        ...common
      }
    }
    const windows = explainWindowsCode(WINDOWS_CODE.countInsufficient)
    return {
      status: 'warning',
      exitCode: CHECK_EXIT.warning,
      statusLine: monitoringText(
        `KMS WARNING - ${where} count=${a.count}/${a.threshold} below the threshold, clients would not activate (${windows.code}) ePID=${a.epid} rtt=${rtt}ms`
      ),
      perfdata,
      wouldActivate: false,
      host,
      answer: a,
      windows,
      ...common
    }
  }
  const failure = error ?? {
    kind: 'no-host-contacted' as const,
    windows: explainWindowsCode(WINDOWS_CODE.noKmsContacted),
    message: 'no verified answer'
  }
  const unknown = failure.kind === 'no-dns-servers' || failure.kind === 'no-domains' || failure.kind === 'cancelled'
  const status: MonitoringStatus = unknown ? 'unknown' : 'critical'
  const inner = failure.inner ? ` [${failure.inner.code} ${failure.inner.summary}]` : ''
  const refusedProduct = failure.inner?.value === WINDOWS_CODE.kmsCannotBeUsed
  return {
    status,
    exitCode: CHECK_EXIT[status],
    statusLine: monitoringText(
      `KMS ${status.toUpperCase()} - ${failure.windows.summary} (${failure.windows.code})${inner}: ${failure.message}`
    ),
    perfdata: '',
    wouldActivate: false,
    windows: failure.windows,
    error: failure,
    ...(refusedProduct ? { hostKeyAdvice: neededKeyAdvice(product.kmsCountedId, productCatalog) } : {}),
    ...common
  }
}
