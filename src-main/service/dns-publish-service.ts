/**
 * DNS publishing, planning and audit of `_vlmcs._tcp` records, for the CLI (`publish`, `unpublish`, `plan-dns`,
 * `audit-dns`, `serve --publish`) and the app alike (docs/dns-publishing.md):
 *
 *  - publish / unpublish: one host's SRV record at one DNS server by RFC 2136 dynamic update, TSIG-signed with a
 *    key from a BIND-style key file (dns/srv-publish.ts); the answer explained (dns/update-rcodes.ts);
 *  - plan: a site's hosts and domains checked and written in the forms technicians paste (dns/kms-srv-plan.ts),
 *    with each host's chance of being tried first;
 *  - audit: every record a client would see (the discovery), every target probed with the real KMS exchange in
 *    parallel (bounded, under one deadline), and what is wrong with the set, judged like a monitoring plugin;
 *  - the lab host's own record: published when it starts listening, removed when it stops.
 */
import { mapLimited } from '../common/map-limited'
import { DEFAULT_DEADLINE_S, DEFAULT_KMS_PORT, PROBE_PARALLELISM } from '../common/defaults'
import { readFile, stat } from 'node:fs/promises'
import { hostname } from 'node:os'
import type { HandlerTable } from '../api/contract'
import { ApiFailure } from '../api/result'
import { createKmsProbe, type KmsAnswerSummary } from '../discovery/kms-probe'
import type { ProbeOutcome } from '../discovery/probe'
import { firstPickProbabilities } from '../discovery/srv-selection'
import type { RankedRecord } from '../discovery/run-discovery'
import { KeyFileError, parseBindKeyFile } from '../dns/bind-key-file'
import {
  KMS_SRV_DEFAULTS,
  KMS_SRV_RANGES,
  PlanInputError,
  planKmsSrv,
  type DnsPlanReport,
  type PlannedHost,
  type PlanStatus,
  type SrvPlan
} from '../dns/kms-srv-plan'
import { auditFindings, type AuditedRecord, type AuditProbe, type DnsAuditReport } from '../dns/kms-srv-audit'
import { DnsError } from '../dns/errors'
import { validateQueryName } from '../dns/names'
import { updateKmsSrv, type SrvUpdateResult } from '../dns/srv-publish'
import type { TsigKey } from '../dns/tsig'
import { fitWorkstationName, localWorkstationName } from '../kms-client/workstation'
import { NIL_GUID, parseEpid, productCatalog } from '../protocol'
import type { AppContext } from './app-context'
import { discoverHosts } from './client-service'
import { parseDnsServerSpec, parseKmsHost, parseLookupDomain } from './inputs'
import { productForRun } from './products'

export { KMS_SRV_DEFAULTS, type DnsAuditReport, type DnsPlanReport, type SrvUpdateResult }

/** Per DNS exchange of an update. */
const UPDATE_TIMEOUT_MS = 3_000
/** A key file is a few hundred bytes; anything much larger is not one. */
const MAX_KEY_FILE_BYTES = 64 * 1024
/** The audit's overall deadline: the one discover and check use (common/defaults). */
const AUDIT_DEADLINE_MS = DEFAULT_DEADLINE_S * 1000

function invalid(message: string, hint: string): ApiFailure {
  return new ApiFailure('invalid-input', message, hint)
}

/** The one key of a BIND-style key file (as `tsig-keygen` writes it). */
async function loadTsigKey(file: string): Promise<TsigKey> {
  let text: string
  try {
    const info = await stat(file)
    if (info.size > MAX_KEY_FILE_BYTES)
      throw invalid(`the TSIG key file ${file} is ${info.size} bytes; a key file is a few hundred`, 'give the file tsig-keygen wrote')
    text = await readFile(file, 'utf8')
  } catch (error) {
    if (error instanceof ApiFailure) throw error
    throw new ApiFailure(
      'config',
      `cannot read the TSIG key file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      'give the path of the key file (tsig-keygen -a hmac-sha256 NAME > NAME.key writes one)'
    )
  }
  let keys: TsigKey[]
  try {
    keys = parseBindKeyFile(text)
  } catch (error) {
    if (error instanceof KeyFileError)
      throw invalid(
        `the TSIG key file ${file}: ${error.message}`,
        'give a key file as tsig-keygen writes it: key "NAME" { algorithm hmac-sha256; secret "…"; };'
      )
    throw error
  }
  if (keys.length > 1) {
    throw invalid(
      `the TSIG key file ${file} holds ${keys.length} keys (${keys.map((k) => k.name).join(', ')})`,
      'give a file with the one key the DNS server expects for this zone'
    )
  }
  return keys[0]!
}

function wholeNumber(value: number | undefined, fallback: number, what: string, range: { min: number; max: number }): number {
  const n = value ?? fallback
  if (!Number.isSafeInteger(n) || n < range.min || n > range.max)
    throw invalid(`${what} ${n} is not a whole number from ${range.min} to ${range.max}`, `give ${what} within ${range.min}–${range.max}`)
  return n
}

function dnsName(text: string, what: string): string {
  try {
    return validateQueryName(text)
  } catch (error) {
    if (error instanceof DnsError) throw invalid(`${what}: ${error.message}`, 'give a DNS name such as kms01.corp.example')
    throw error
  }
}

export interface SrvPublishInput {
  /** The DNS server, `IP[:PORT]`. */
  readonly server: string
  readonly domain: string
  /** The host's DNS name (the SRV target). */
  readonly target: string
  readonly port?: number | undefined
  readonly priority?: number | undefined
  readonly weight?: number | undefined
  readonly ttl?: number | undefined
  readonly zone?: string | undefined
  /** A BIND-style key file; unsigned update without one. */
  readonly tsigKeyFile?: string | undefined
}

/** Publishes or removes one host's record; the DNS outcome (NOERROR, REFUSED, BADSIG, timeout …) is in the result. */
export async function updateKmsSrvRecord(action: 'publish' | 'unpublish', input: SrvPublishInput): Promise<SrvUpdateResult> {
  const server = parseDnsServerSpec(input.server)
  const domain = parseLookupDomain(input.domain, 'domain')
  const target = dnsName(input.target, 'host name')
  const key = input.tsigKeyFile === undefined ? undefined : await loadTsigKey(input.tsigKeyFile)
  return updateKmsSrv(action, {
    server,
    domain,
    target,
    zone: input.zone === undefined ? undefined : dnsName(input.zone, 'zone'),
    port: wholeNumber(input.port, DEFAULT_KMS_PORT, 'the port', KMS_SRV_RANGES.port),
    priority: wholeNumber(input.priority, KMS_SRV_DEFAULTS.priority, 'the priority', KMS_SRV_RANGES.priority),
    weight: wholeNumber(input.weight, KMS_SRV_DEFAULTS.weight, 'the weight', KMS_SRV_RANGES.weight),
    ttl: wholeNumber(input.ttl, KMS_SRV_DEFAULTS.ttlS, 'the TTL', KMS_SRV_RANGES.ttlS),
    key,
    timeoutMs: UPDATE_TIMEOUT_MS
  })
}

// ---------------------------------------------------------------------------------------------------------
// Planning

/** `NAME[:PORT][,PRIORITY[,WEIGHT]]` — the order of DnsDomainPublishList's `domain,priority,weight`. */
export function parsePlanHost(text: string, label: string): PlannedHost {
  const [hostPart = '', priorityText, weightText, ...extra] = text.split(',').map((s) => s.trim())
  const example = `e.g. ${label} kms01.corp.example:1688,0,100`
  if (extra.length > 0) throw invalid(`${label} '${text}' has more than three parts`, `write NAME[:PORT][,PRIORITY[,WEIGHT]], ${example}`)
  const hostPort = parseKmsHost(hostPart)
  const num = (t: string | undefined, fallback: number, what: string): number => {
    if (t === undefined || t === '') return fallback
    if (!/^[0-9]+$/.test(t)) throw invalid(`${label} '${text}': the ${what} '${t}' is not a whole number`, example)
    return wholeNumber(Number(t), fallback, `the ${what}`, KMS_SRV_RANGES.priority)
  }
  return {
    name: hostPort.host,
    port: hostPort.port,
    priority: num(priorityText, KMS_SRV_DEFAULTS.priority, 'priority'),
    weight: num(weightText, KMS_SRV_DEFAULTS.weight, 'weight')
  }
}

export interface PlanRequest {
  readonly hosts: readonly PlannedHost[]
  readonly domains: readonly string[]
  readonly ttl?: number | undefined
  /** For the nsupdate script's `server` line. */
  readonly dnsServer?: string | undefined
}

export function planDnsRecords(request: PlanRequest): DnsPlanReport {
  const server = request.dnsServer === undefined ? undefined : parseDnsServerSpec(request.dnsServer)
  let plan: SrvPlan
  try {
    plan = planKmsSrv({
      hosts: request.hosts,
      domains: request.domains.map((d) => parseLookupDomain(d, 'domain')),
      ttlS: request.ttl ?? KMS_SRV_DEFAULTS.ttlS,
      nsupdateServer: server
    })
  } catch (error) {
    if (error instanceof PlanInputError) throw invalid(error.message, error.hint)
    throw error
  }
  const status: PlanStatus = plan.findings.some((f) => f.severity === 'error')
    ? 'critical'
    : plan.findings.some((f) => f.severity === 'warning')
      ? 'warning'
      : 'ok'
  const chanceFirst = plan.findings.some((f) => f.kind === 'target-is-address')
    ? plan.hosts.map(() => 0)
    : firstPickProbabilities(plan.hosts.map((h) => ({ ...h, target: h.name })))
  return { ...plan, status, exitCode: status === 'ok' ? 0 : status === 'warning' ? 1 : 2, chanceFirst }
}

// ---------------------------------------------------------------------------------------------------------
// Audit

export interface AuditRequest {
  readonly domains?: readonly string[] | undefined
  readonly dnsServer?: string | undefined
  /** The whole audit's deadline (probes not started by then are reported as not run). */
  readonly deadlineMs?: number | undefined
}

function hostKeyOf(epid: string): AuditedRecord['hostKey'] {
  const parsed = parseEpid(epid)
  if (!parsed.ok) return undefined
  const keys = productCatalog.csvlksForEpid(parsed.parts.groupId, parsed.parts.keyId)
  if (keys.length === 0) return undefined
  const covers = [...new Set(keys.flatMap((k) => k.activates.map((id) => productCatalog.kmsCountedIdById(id)?.name ?? id)))]
  return { names: keys.map((k) => k.name), covers }
}

/** Every `_vlmcs._tcp` record a client would see, each target asked for its count, and what is wrong with the set. */
export async function auditKmsSrv(ctx: AppContext, request: AuditRequest, onWarning: (message: string) => void): Promise<DnsAuditReport> {
  const started = performance.now()
  const discovery = await discoverHosts(ctx, {
    ...(request.domains && request.domains.length > 0 ? { domains: request.domains } : {}),
    ...(request.dnsServer !== undefined ? { dnsServer: request.dnsServer } : {})
  })
  const client = ctx.settings.current().client
  const sku = productForRun(undefined, client.defaultProductSkuId, onWarning)
  let identity
  try {
    identity = await ctx.identity.get()
  } catch (error) {
    // the probes send this installation's CMID like every check: without it the audit must not invent one
    throw new ApiFailure(
      'config',
      `cannot read or create the client identity ${ctx.paths.identity}: ${error instanceof Error ? error.message : String(error)}`,
      'make the config folder writable (or set KMS_SCOUT_CONFIG_DIR)'
    )
  }
  const workstationName = fitWorkstationName(client.workstationName ?? (await localWorkstationName())) || 'kms-scout'
  const probe = createKmsProbe({
    request: {
      identity: productCatalog.requestIdentity(sku),
      protocol: sku.protocolVersion,
      cmid: identity.cmid,
      cmidPrev: identity.previousCmid ?? NIL_GUID,
      workstationName
    },
    timeouts: { ...client.timeouts, resolveMs: client.timeouts.requestMs }
  })

  const deadline = AbortSignal.timeout(request.deadlineMs ?? AUDIT_DEADLINE_MS)
  const recordsIn = discovery.results.flatMap((d) => d.records.map((r) => ({ domain: d.domain, used: d.used, record: r })))
  const jobs = recordsIn.flatMap((entry, index) => entry.record.addresses.map((address) => ({ index, address, entry })))
  const outcomes = await mapLimited(jobs, PROBE_PARALLELISM, async (job): Promise<ProbeOutcome<KmsAnswerSummary> | undefined> => {
    if (deadline.aborted) return undefined
    return probe({ host: job.entry.record.target, port: job.entry.record.port, address: job.address }, deadline)
  })

  const records: AuditedRecord[] = recordsIn.map((entry, index) => {
    const r: RankedRecord = entry.record
    const probes: AuditProbe[] = []
    let answer: KmsAnswerSummary | undefined
    jobs.forEach((job, j) => {
      if (job.index !== index) return
      const outcome = outcomes[j]
      if (outcome === undefined) probes.push({ address: job.address, outcome: 'not-run', message: 'the audit deadline passed first' })
      else if (outcome.kind === 'verified') {
        answer ??= outcome.answer
        probes.push({ address: job.address, outcome: 'verified', rttMs: outcome.answer.rttMs })
      } else probes.push({ address: job.address, outcome: 'failed', code: outcome.code, message: outcome.message })
    })
    const resolves = r.addresses.length > 0
    const hostKey = answer ? hostKeyOf(answer.epid) : undefined
    return {
      domain: entry.domain,
      used: entry.used,
      priority: r.priority,
      weight: r.weight,
      port: r.port,
      target: r.target,
      ttl: r.ttl,
      addresses: r.addresses,
      chanceFirst: r.chanceFirst,
      resolves,
      answers: answer !== undefined,
      probes,
      ...(answer
        ? {
            count: answer.count,
            threshold: answer.threshold,
            epid: answer.epid,
            epidMeaning: answer.epidMeaning,
            ...(hostKey ? { hostKey } : {}),
            rttMs: answer.rttMs
          }
        : {}),
      status: !resolves ? 'unresolved' : answer ? 'healthy' : 'stale'
    }
  })

  const findings = auditFindings(discovery, records)
  const used = records.filter((r) => r.used)
  let status: DnsAuditReport['status']
  if (discovery.exitCode === 3) status = 'unknown'
  else if (used.length === 0 || !used.some((r) => r.answers)) status = 'critical'
  else status = findings.some((f) => f.severity !== 'info') ? 'warning' : 'ok'
  const exitCode = ({ ok: 0, warning: 1, critical: 2, unknown: 3 } as const)[status]
  const answering = records.filter((r) => r.answers).length
  const stale = records.filter((r) => r.status !== 'healthy').length
  const statusLine = `KMS DNS ${status.toUpperCase()} - ${records.length} record(s), ${answering} answer${stale > 0 ? `, ${stale} stale or unresolved` : ''}${discovery.usedDomain ? `, clients use ${discovery.usedDomain}` : ''}`
  return {
    status,
    exitCode,
    statusLine,
    ...(discovery.usedDomain ? { usedDomain: discovery.usedDomain } : {}),
    records,
    findings,
    discovery: {
      servers: discovery.servers,
      domains: discovery.domains,
      warnings: discovery.warnings,
      ...(discovery.error ? { error: discovery.error } : {})
    },
    deadlineHit: records.some((r) => r.probes.some((p) => p.outcome === 'not-run')),
    durationMs: performance.now() - started
  }
}

// ---------------------------------------------------------------------------------------------------------
// The lab host's own record

export interface LabHostPublishing {
  /** DnsDomainPublishList-like: every domain gets the record. */
  readonly domains: readonly string[]
  readonly server: string
  /** The SRV target; default this machine's name (with the first domain when it has none). */
  readonly name?: string | undefined
  readonly priority?: number | undefined
  readonly weight?: number | undefined
  readonly ttl?: number | undefined
  readonly tsigKeyFile?: string | undefined
}

/** The SRV target the lab host publishes: the given name, else this machine's (qualified with the first domain). */
function labHostPublishName(publishing: LabHostPublishing): string {
  if (publishing.name !== undefined) return dnsName(publishing.name, 'publish name')
  const own = hostname()
  return dnsName(own.includes('.') ? own : `${own}.${publishing.domains[0] ?? ''}`, 'this machine’s name')
}

/** Checks the options before the host starts (bad input must not leave a host running without its record). */
export async function checkLabHostPublishing(publishing: LabHostPublishing): Promise<void> {
  if (publishing.domains.length === 0) throw invalid('no domain to publish into', 'give --publish DOMAIN')
  for (const d of publishing.domains) parseLookupDomain(d, 'publish domain')
  parseDnsServerSpec(publishing.server)
  labHostPublishName(publishing)
  if (publishing.tsigKeyFile !== undefined) await loadTsigKey(publishing.tsigKeyFile)
}

/** Publishes (or removes) the lab host's record for `port` in every domain, one update per domain. */
export async function updateLabHostRecords(
  action: 'publish' | 'unpublish',
  publishing: LabHostPublishing,
  port: number
): Promise<SrvUpdateResult[]> {
  const target = labHostPublishName(publishing)
  const results: SrvUpdateResult[] = []
  for (const domain of publishing.domains) {
    results.push(
      await updateKmsSrvRecord(action, {
        server: publishing.server,
        domain,
        target,
        port,
        priority: publishing.priority,
        weight: publishing.weight,
        ttl: publishing.ttl,
        tsigKeyFile: publishing.tsigKeyFile
      })
    )
  }
  return results
}

/** One line per update: `published _vlmcs._tcp.corp.test SRV 0 0 1688 lab.corp.test at 127.0.0.1:53: NOERROR`. */
export function describeUpdate(r: SrvUpdateResult): string {
  const data = `${r.record.priority} ${r.record.weight} ${r.record.port} ${r.record.target}`
  const verb = r.action === 'publish' ? 'publish' : 'remove'
  const head = `${r.ok ? (r.action === 'publish' ? 'published' : 'removed') : `could not ${verb}`} ${r.name} SRV ${data} at ${r.server} (zone ${r.zone}${r.signedWith ? `, signed with key ${r.signedWith.keyName}` : ', unsigned'})`
  return r.ok ? `${head}: ${r.code}` : `${head}: ${r.code} — ${r.meaning}`
}

// ---------------------------------------------------------------------------------------------------------
// API handlers

export function createDnsPublishHandlers(
  ctx: AppContext,
  onWarning: (message: string) => void
): Pick<HandlerTable, 'planDns' | 'auditDns' | 'publishDns' | 'unpublishDns'> {
  return {
    planDns: async (input) =>
      planDnsRecords({
        hosts: input.hosts.map((h) => ({
          name: h.name,
          port: h.port ?? DEFAULT_KMS_PORT,
          priority: h.priority ?? KMS_SRV_DEFAULTS.priority,
          weight: h.weight ?? KMS_SRV_DEFAULTS.weight
        })),
        domains: input.domains,
        ttl: input.ttl,
        dnsServer: input.dnsServer
      }),
    auditDns: async (input) => auditKmsSrv(ctx, { domains: input?.domains, dnsServer: input?.dnsServer }, onWarning),
    publishDns: async (input) => updateKmsSrvRecord('publish', input),
    unpublishDns: async (input) => updateKmsSrvRecord('unpublish', input)
  }
}
