/**
 * What the activation manager reports (docs/licensing.md §3): plain, JSON-serialisable shapes that the service
 * builds (service/licensing-service.ts), the API carries and the CLI and the app show. Types only.
 */
import type { LicensingFailureKind } from './errors'
import type { KmsHostRequests } from './snapshot'

/** A Windows code from the one table (common/windows-codes.ts), as reports carry it. */
export interface WindowsCodeView {
  /** e.g. "0xC004F074" */
  code: string
  name: string | null
  summary: string
  meaning: string
  fix: string
}

export type LicenseStatusName =
  'unlicensed' | 'licensed' | 'initial-grace' | 'additional-grace' | 'non-genuine-grace' | 'notification' | 'extended-grace' | 'unknown'

export interface DurationView {
  minutes: number
  /** e.g. "176 days 2 hours 4 minutes" */
  text: string
  /** slmgr's day count: minutes / 1440, rounded up */
  days: number
  /** when it runs out, ISO 8601 UTC (read time + minutes) */
  until: string
}

export interface EndpointView {
  host: string
  port: number
  /** host:port, [v6]:port */
  endpoint: string
}

/** A host's ePID explained (as `query` explains it: host OS and build, CSVLK group, activation date), with its host key. */
export interface HostEpidView {
  value: string
  /** one line: host OS, CSVLK group, channel, activation date; "not a well-formed ePID" when it is not one */
  meaning: string
  hostOs?: string
  build?: number
  csvlkGroup?: string
  activationDate?: string
  /** the host key (CSVLK) the ePID names, and whether it activates this product's KMS counted ID */
  hostKey: { name: string; verdict: 'covered' | 'not-covered' | 'ambiguous' | 'unknown-key'; text: string } | null
}

export interface ProductReport {
  source: 'spp' | 'ospp'
  activationId: string | null
  application: { id: string | null; name: string }
  name: string
  description: string | null
  /** from the description: VOLUME_KMSCLIENT, RETAIL, VOLUME_MAK, OEM_DM, … */
  channel: string | null
  /** ProductKeyChannel (Windows 8 and later): Volume:GVLK, Retail, Volume:MAK, … */
  keyChannel: string | null
  partialKey: string | null
  /** the catalog product of this activation ID */
  catalogName: string | null
  gvlk: { isGvlk: boolean | null; text: string }
  status: { code: number | null; name: LicenseStatusName; text: string; level: 'ok' | 'warning' }
  /** LicenseStatusReason explained; null when Windows gives none (0) */
  reason: WindowsCodeView | null
  /** volume activation validity (licensed) or grace left (grace states); null when none applies */
  remaining: (DurationView & { kind: 'validity' | 'grace' }) | null
  evaluationEnd: string | null
  intervals: { activationMin: number | null; renewalMin: number | null; text: string | null }
  kms: {
    /** `slmgr /skms` */
    configuredHost: EndpointView | null
    /** `slmgr /skms-domain` */
    lookupDomain: string | null
    /** the host Windows last found through DNS */
    discovered: (EndpointView & { ip: string | null }) | null
    /** the KMS host's ePID Windows recorded at its last activation */
    hostEpid: HostEpidView | null
    lastActivationType: 'AD' | 'KMS' | 'token' | null
    configuredActivationType: 'all' | 'AD' | 'KMS' | 'token' | null
  }
  isKmsHost: boolean
}

export interface KmsHostView {
  currentCount: number | null
  requiredCount: number | null
  listeningPort: number | null
  dnsPublishing: boolean | null
  lowPriority: boolean | null
  requests: KmsHostRequests
}

export interface MachineReport {
  /** null: this computer */
  computer: string | null
  readAt: string
  powershellVersion: string | null
  /** whether KMS Scout runs as administrator (this computer only) */
  elevated: boolean | null
  serviceVersion: string | null
  cmid: string | null
  hostCaching: boolean | null
  /** where this machine is itself a KMS host */
  kmsHost: KmsHostView | null
  /** Office 2010's own licensing service, where it is installed */
  office2010: { cmid: string | null; hostCaching: boolean | null; version: string | null } | null
  products: ProductReport[]
  level: 'ok' | 'warning'
  summary: string
}

export interface LicensingFailure {
  kind: LicensingFailureKind
  message: string
  fix: string
  windowsCode: WindowsCodeView | null
}

export type ComputerResult =
  { computer: string | null; ok: true; state: MachineReport } | { computer: string | null; ok: false; failure: LicensingFailure }

export interface LicensingStatusView {
  results: ComputerResult[]
  /** 0 all licensed, 1 a product not licensed, 2 a computer unreadable (the CLI's exit code) */
  level: 0 | 1 | 2
}

export interface ActionPlan {
  computer: string | null
  /** what will be done, in words, with the slmgr option and the CIM methods */
  text: string
  needsElevation: boolean
  /** a warning to show before confirming (not elevated, a host already set …) */
  warnings: string[]
}

export interface ActionResultView {
  computer: string | null
  ok: boolean
  plan: ActionPlan | null
  /** what happened, one line */
  outcome: string
  failure: LicensingFailure | null
  /** the state read again after the action (or the reason it could not be read) */
  after: ComputerResult | null
}

/** What the KMS host says now, as the cross-check shows it beside what Windows recorded. */
export interface CrossCheckAnswer {
  /** a verified answer was received */
  ok: boolean
  /** one line, as `query` prints it */
  summary: string
  endpoint: string
  count: number | null
  threshold: number | null
  wouldActivate: boolean | null
  epid: HostEpidView | null
  /** why there is no verified answer, with the Windows code and fix */
  error: { explanation: string; fix: string; windowsCode: WindowsCodeView | null } | null
  /** the client machine ID the query sent */
  cmid: string
  rttMs: number
}

export interface CrossCheckView {
  computer: string | null
  product: { name: string; activationId: string | null }
  /** what Windows recorded: the host it was given (/skms) or last found in DNS, and that host's ePID */
  recorded: { source: 'configured' | 'discovered'; endpoint: string; ip: string | null; epid: HostEpidView | null }
  /** KMS Scout's own query of that host now, with the machine's own CMID where Windows reported one */
  now: CrossCheckAnswer
  /** whether the host answers with the ePID Windows recorded; null when either is missing */
  sameEpid: boolean | null
  summary: string
}
