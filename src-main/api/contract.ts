/**
 * The one API contract between the renderer and the main process (and the CLI where it fits):
 * for every method, the zod schema its input must satisfy — checked at runtime in main, whatever
 * transport carried the call — and the TypeScript type of its output; for every event, the type
 * of its payload.
 */
import { z } from 'zod'
import type { EventName, MethodName } from './channels'
import type { ApiResult } from './result'
import { domainSchema, guidSchema, settingsSchema, type Settings } from '../storage/settings'
import type { Sku } from '../protocol/products'
import type { CheckReport } from '../discovery/run-check'
import type { DiscoveryReport } from '../discovery/run-discovery'
import type { TraceEntry } from '../discovery/trace'
import { parseDnsServer } from '../dns/server-spec'
import { parseEndpoint } from '../common/host-port'
import type { LabHostStatus } from '../lab-host/lab-host'
import type { LabHostExchange } from '../lab-host/events'
import type { ClientLogRow } from '../storage/client-log'
import type { DnsAuditReport } from '../dns/kms-srv-audit'
import type { DnsPlanReport } from '../dns/kms-srv-plan'
import type { SrvUpdateResult } from '../dns/srv-publish'
import { DEADLINE_RANGE_S, LICENSING_DEFAULTS } from '../common/defaults'
import { checkComputerName } from '../licensing/computer-name'
import type {
  ActionPlan,
  ActionResultView,
  ComputerResult,
  CrossCheckView,
  LicensingFailure,
  LicensingStatusView,
  MachineReport,
  ProductReport
} from '../licensing/report'

/** What a report can be about, and the formats it comes in (the CLI takes the format from the file's extension). */
export const REPORT_SUBJECTS = ['check', 'discovery', 'lab-host'] as const
export const REPORT_FORMATS = ['text', 'json', 'html'] as const
export type ReportSubject = (typeof REPORT_SUBJECTS)[number]
export type ReportFormat = (typeof REPORT_FORMATS)[number]

/** Methods without arguments accept `undefined` only (the renderer calls `kms.getAppInfo()`). */
const noInput = z.undefined()

/** `HOST[:PORT]`, IPv6 as `[addr]:port` — the same parser the CLI uses. */
const hostPortInput = z
  .string()
  .max(300)
  .transform((text, ctx) => {
    const parsed = parseEndpoint(text)
    if (parsed.ok) return { host: parsed.endpoint.host, port: parsed.endpoint.port }
    ctx.addIssue({ code: 'custom', message: `${parsed.error.message} (${parsed.error.hint})` })
    return z.NEVER
  })

/** A string of at most `max` characters that `check` accepts; what `check` throws becomes the validation message. */
function checkedString(max: number, check: (text: string) => unknown) {
  return z
    .string()
    .max(max)
    .superRefine((text, ctx) => {
      try {
        check(text)
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) })
      }
    })
}

/** `IP[:PORT]` of a DNS server — checked by the DNS layer's own parser. */
const dnsServerInput = checkedString(100, parseDnsServer)

/** One check or discovery run from the UI: the same overrides the CLI flags give; settings fill the rest. */
const runCheckInput = z
  .object({
    host: hostPortInput.optional(),
    domains: z.array(domainSchema).max(16).optional(),
    dnsServer: dnsServerInput.optional(),
    productSkuId: guidSchema.optional(),
    protocol: z.union([z.literal(4), z.literal(5), z.literal(6)]).optional(),
    noCache: z.boolean().optional(),
    sequential: z.boolean().optional(),
    /** The whole check's deadline in seconds (default 30). */
    deadlineS: z.number().int().min(DEADLINE_RANGE_S.min).max(DEADLINE_RANGE_S.max).optional()
  })
  .strict()

const discoverInput = z
  .object({
    domains: z.array(domainSchema).max(16).optional(),
    dnsServer: dnsServerInput.optional(),
    legacySelection: z.boolean().optional(),
    /** The whole discovery's deadline in seconds (default 30). */
    deadlineS: z.number().int().min(DEADLINE_RANGE_S.min).max(DEADLINE_RANGE_S.max).optional()
  })
  .strict()

/** SRV fields (RFC 2782: 16-bit priority, weight and port) and a TTL (31-bit seconds, RFC 2181 §8). */
const srvField = z.number().int().min(0).max(65_535)
const srvPort = z.number().int().min(1).max(65_535)
const srvTtl = z.number().int().min(1).max(2_147_483_647)
/** A host or zone name; the service checks it with the DNS layer's name rules. */
const dnsNameInput = z.string().trim().min(1).max(253)
/** A BIND-style TSIG key file, read in main (the renderer never sees the secret). */
const tsigKeyFileInput = z.string().min(1).max(4096)

/** One host's `_vlmcs._tcp` record at one DNS server, by dynamic update. */
const srvUpdateInput = z
  .object({
    server: dnsServerInput,
    domain: domainSchema,
    target: dnsNameInput,
    port: srvPort.optional(),
    priority: srvField.optional(),
    weight: srvField.optional(),
    ttl: srvTtl.optional(),
    zone: dnsNameInput.optional(),
    tsigKeyFile: tsigKeyFileInput.optional()
  })
  .strict()

/** The lab host's own record, published while it listens (like a KMS host's DnsDomainPublishList). */
const labHostPublishInput = z
  .object({
    domains: z.array(domainSchema).min(1).max(16),
    server: dnsServerInput,
    name: dnsNameInput.optional(),
    priority: srvField.optional(),
    weight: srvField.optional(),
    ttl: srvTtl.optional(),
    tsigKeyFile: tsigKeyFileInput.optional()
  })
  .strict()

/** A name of another computer (DNS, NetBIOS or IP), checked by the licensing adapter's own rule. */
const computerInput = checkedString(300, checkComputerName)
const computersInput = z.array(computerInput).max(LICENSING_DEFAULTS.maxComputers)

/** One of the actions slmgr takes (docs/licensing.md §4); install-gvlk names a catalog product, never a key. */
const licensingActionInput = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('set-host'), host: hostPortInput }).strict(),
  z.object({ kind: z.literal('clear-host') }).strict(),
  z.object({ kind: z.literal('set-domain'), domain: domainSchema }).strict(),
  z.object({ kind: z.literal('clear-domain') }).strict(),
  z.object({ kind: z.literal('host-caching'), enabled: z.boolean() }).strict(),
  z.object({ kind: z.literal('install-gvlk'), productSkuId: guidSchema.optional() }).strict(),
  z.object({ kind: z.literal('activate'), productIds: z.array(guidSchema).max(64).optional() }).strict(),
  z.object({ kind: z.literal('refresh') }).strict()
])

const licensingActionCall = z.object({ action: licensingActionInput, computers: computersInput.optional() }).strict()

export const methodInputSchemas = {
  getAppInfo: noInput,
  getSettings: noInput,
  updateSettings: settingsSchema,
  listProducts: z
    .object({ search: z.string().max(200).optional() })
    .strict()
    .optional(),
  getIdentity: noInput,
  renewIdentity: noInput,
  runCheck: runCheckInput,
  discover: discoverInput.optional(),
  cancelRuns: noInput,
  labHostStatus: noInput,
  startLabHost: z
    .object({
      /** `IP[:PORT]` addresses for this run; default: the settings' (127.0.0.1:1688). */
      listen: z.array(z.string().max(100)).min(1).max(16).optional(),
      /** Required to listen on anything but loopback. */
      confirmNonLoopback: z.boolean().optional(),
      /** Host keys (CSVLK activation IDs or names) instead of the newest of their application. */
      csvlks: z.array(z.string().trim().min(1).max(200)).max(8).optional(),
      /** Publish the host's SRV record while it listens; removed when it stops. */
      publish: labHostPublishInput.optional()
    })
    .strict()
    .optional(),
  stopLabHost: noInput,
  labHostClients: z
    .object({ limit: z.number().int().min(1).max(1000).optional() })
    .strict()
    .optional(),
  planDns: z
    .object({
      hosts: z
        .array(
          z.object({ name: dnsNameInput, port: srvPort.optional(), priority: srvField.optional(), weight: srvField.optional() }).strict()
        )
        .min(1)
        .max(64),
      domains: z.array(domainSchema).min(1).max(16),
      ttl: srvTtl.optional(),
      /** For the nsupdate script's `server` line. */
      dnsServer: dnsServerInput.optional()
    })
    .strict(),
  auditDns: z
    .object({ domains: z.array(domainSchema).max(16).optional(), dnsServer: dnsServerInput.optional() })
    .strict()
    .optional(),
  publishDns: srvUpdateInput,
  unpublishDns: srvUpdateInput,
  licensingStatus: z.object({ computers: computersInput.optional() }).strict().optional(),
  planLicensingAction: licensingActionCall,
  runLicensingAction: licensingActionCall,
  crossCheckLicensingHost: z.object({ computer: computerInput.optional(), productId: guidSchema.optional() }).strict().optional(),
  hostCacheShow: noInput,
  /** One application's cached host, or every one (what `slmgr /ckhc` leaves behind: no cached host). */
  hostCacheClear: z.object({ applicationId: guidSchema.optional() }).strict().optional(),
  labHostCounts: noInput,
  /** Ask each host for its count (bounded parallelism in main), e.g. every address the discovery found. */
  probeHosts: z.object({ targets: z.array(hostPortInput).min(1).max(64), productSkuId: guidSchema.optional() }).strict(),
  /** The report of the last check, discovery or lab-host view, as text, JSON or a self-contained HTML page. */
  renderReport: z.object({ subject: z.enum(REPORT_SUBJECTS), format: z.enum(REPORT_FORMATS) }).strict(),
  /** The same, written to a file the user picks in the shell's save dialog. */
  saveReport: z.object({ subject: z.enum(REPORT_SUBJECTS), format: z.enum(REPORT_FORMATS) }).strict()
} satisfies Record<MethodName, z.ZodType>

export interface AppInfo {
  name: string
  version: string
  /** 'electron' in the desktop app, 'bridge' in the browser test harness, 'cli' for the CLI. */
  shell: 'electron' | 'bridge' | 'cli'
  platform: string
  /** Where settings, the client identity and the host cache live. */
  configDir: string
}

export interface SettingsView {
  settings: Settings
  /** Problems found while loading (a broken file moved aside, …), for the UI to show. */
  warnings: string[]
}

export interface Notice {
  level: 'info' | 'warning' | 'error'
  message: string
}

export interface ProductList {
  products: Sku[]
  /** The SKU checks use when no product is chosen (a current Windows client edition, threshold 25). */
  defaultSkuId: string
  /** The released host keys (CSVLK names, newest first) that serve each KMS counted ID of the list. */
  hostKeys: Record<string, string[]>
}

/** This installation's KMS client machine ID, reused by every check so checks count as one client. */
export interface ClientIdentityView {
  cmid: string
  createdAt: string | null
  previousCmid: string | null
}

/** A trace step with its one-line description (the same line `--verbose` prints). */
export type TraceView = TraceEntry & { readonly text: string }

export type CheckView = Omit<CheckReport, 'trace'> & { readonly trace: readonly TraceView[]; readonly timeline?: FlowTimeline }
export type DiscoveryView = Omit<DiscoveryReport, 'trace'> & { readonly trace: readonly TraceView[] }

/** Live progress of a running check, one trace step at a time. */
export interface CheckProgress {
  readonly runId: number
  readonly step: TraceView
}

export interface LabHostView {
  running: boolean
  /** Addresses, counters, identity and limits of the running host; null when stopped. */
  status: LabHostStatus | null
  warnings: string[]
  /** The most recent requests, newest first. */
  recent: LabHostExchange[]
  /** Why the technician's own Windows cannot be a client of this host. */
  sameMachineNote: string
  /** The released host keys it can hold, newest first per application, the default of each application first. */
  hostKeys: Array<{ id: string; name: string; applications: string[] }>
  /** The updates of the host's own SRV record (one per domain): published at start, removed at stop. */
  dnsRecords: SrvUpdateResult[]
}

export interface MethodOutputs {
  getAppInfo: AppInfo
  getSettings: SettingsView
  updateSettings: SettingsView
  listProducts: ProductList
  getIdentity: ClientIdentityView
  renewIdentity: ClientIdentityView
  runCheck: CheckView
  discover: DiscoveryView
  /** how many checks and discoveries were running and are now stopped */
  cancelRuns: { cancelled: number }
  labHostStatus: LabHostView
  startLabHost: LabHostView
  stopLabHost: LabHostView
  labHostClients: { rows: ClientLogRow[] }
  planDns: DnsPlanReport
  auditDns: DnsAuditReport
  publishDns: SrvUpdateResult
  unpublishDns: SrvUpdateResult
  licensingStatus: LicensingStatusView
  planLicensingAction: { plans: LicensingPlanView[] }
  runLicensingAction: { results: ActionResultView[]; ok: boolean }
  crossCheckLicensingHost: CrossCheckView
  hostCacheShow: HostCacheView
  hostCacheClear: HostCacheView
  labHostCounts: LabHostCountsView
  probeHosts: { results: HostProbeResult[] }
  renderReport: RenderedReport
  saveReport: { file: string; bytes: number } | { cancelled: true }
}

/** One application's cached KMS host (docs/windows-client.md §1.4): where checks go first until it fails. */
export interface HostCacheEntryView {
  applicationId: string
  /** "Windows", "Office2013+", … or the ID when the catalog does not know it */
  application: string
  host: string
  port: number
  /** the address that answered, when known */
  address?: string
  /** first cached (kept while the same host keeps answering) */
  cachedAt: string
  lastSuccessAt: string
  /** the DNS answer it came from: the domain and the SRV record (absent for a manual or older entry) */
  origin?: { domain: string; priority: number; weight: number; port: number; target: string }
}

export interface HostCacheView {
  /** the settings' host caching (like `slmgr /skhc`); off = the cache is neither read nor written */
  enabled: boolean
  file: string
  entries: HostCacheEntryView[]
}

/** The lab host's count for one KMS counted ID against the threshold of that product group. */
export interface LabHostCountGroup {
  kmsCountedId: string
  name: string
  /** N_Policy of the group (the most any client of it asked for) */
  threshold: number
  /** the count the host last answered a client of this group with (capped at 2 × the threshold, like a real host) */
  count: number
  /** distinct client machine IDs among the log rows read */
  distinctClients: number
  /** count ≥ threshold: a client of this group would activate */
  wouldActivate: boolean
  lastRequestMs: number
}

export interface LabHostCountsView {
  running: boolean
  groups: LabHostCountGroup[]
  /** answered + refused requests per bucket, oldest first, ending at `endMs` (epoch ms) */
  rate: { bucketMs: number; endMs: number; requests: number[] }
  /** log rows the groups were computed from (the newest ones), and whether the log holds more */
  rowsRead: number
  rowsLimited: boolean
}

/** One host asked for its count (the discovery page's "probe all"). */
export interface HostProbeResult {
  /** HOST:PORT as asked */
  target: string
  ok: boolean
  rttMs: number | null
  count: number | null
  threshold: number
  epid: string | null
  /** the Windows code a client would see, when one applies */
  windowsCode: string | null
  message: string
}

export interface RenderedReport {
  /** 'query': the CLI's report of one host */
  subject: ReportSubject | 'query'
  format: ReportFormat
  /** a file name to offer (kms-scout-check-2026-01-02T10-11-12Z.html) */
  fileName: string
  mediaType: string
  content: string
}

/** One bar of the failover timeline: a DNS query or a connection attempt from its start to its end, or a point event. */
export interface TimelineBar {
  lane: 'manual' | 'cache' | 'dns' | 'kms'
  label: string
  startMs: number
  endMs: number
  /** the run ended before this step did (deadline, or the winner cancelled it) */
  open: boolean
  outcome: 'ok' | 'failed' | 'cancelled' | 'info'
  detail: string
  /** the attempt whose verified answer the check used */
  winner: boolean
  /** the trace entry that started it */
  seq: number
}

/** The client flow as a waterfall, built from the trace (service/timeline.ts); the trace stays the source. */
export interface FlowTimeline {
  totalMs: number
  bars: TimelineBar[]
  /** when the stagger timer started another host while earlier ones were still trying */
  staggerStartsMs: number[]
}

/** What an action would do on one computer, or why it cannot be done there. */
export type LicensingPlanView =
  { computer: string | null; ok: true; plan: ActionPlan } | { computer: string | null; ok: false; failure: LicensingFailure }

export interface EventPayloads {
  settingsChanged: SettingsView
  notice: Notice
  checkProgress: CheckProgress
  labHostUpdate: LabHostView
}

export type MethodInput<M extends MethodName> = z.input<(typeof methodInputSchemas)[M]>
export type ParsedMethodInput<M extends MethodName> = z.output<(typeof methodInputSchemas)[M]>

/** What main implements: one async function per method, given already-validated input. */
export type HandlerTable = {
  [M in MethodName]: (input: ParsedMethodInput<M>) => Promise<MethodOutputs[M]>
}

export type EventListener<E extends EventName> = (payload: EventPayloads[E]) => void

/** What the renderer sees as `window.kms` (exposed by the preload, or by the test bridge). */
export type KmsApi = {
  readonly [M in MethodName]: undefined extends MethodInput<M>
    ? (input?: MethodInput<M>) => Promise<ApiResult<MethodOutputs[M]>>
    : (input: MethodInput<M>) => Promise<ApiResult<MethodOutputs[M]>>
} & {
  /** Subscribe to a main-process event; returns the function that unsubscribes. */
  readonly on: <E extends EventName>(event: E, listener: EventListener<E>) => () => void
}

export type {
  ActionPlan,
  ActionResultView,
  ComputerResult,
  CrossCheckView,
  LicensingFailure,
  LicensingStatusView,
  MachineReport,
  ProductReport,
  ApiResult,
  CheckReport,
  ClientLogRow,
  LabHostExchange,
  LabHostStatus,
  DiscoveryReport,
  DnsAuditReport,
  DnsPlanReport,
  EventName,
  MethodName,
  Settings,
  Sku,
  SrvUpdateResult,
  TraceEntry
}
