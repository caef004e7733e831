/**
 * Typed access to the KMS product catalog (`src-main/data/catalog.json`, made by `npm run catalog:import` from the
 * public KmsDataBase.xml merged with the older vlmcsd data in `src-main/data/products.json`, see
 * src-main/data/README.md): applications, KMS counted IDs, SKUs with their GVLKs, host keys (CSVLKs) with the
 * KMS counted IDs they activate, the vlmcsd CSVLK groups a lab host answers with, and host builds.
 *
 * `ProductCatalog` wraps any data of that shape (tests can build small ones; the older products.json shape is
 * accepted too); `productCatalog` is the one built from the shipped file.
 */
import rawCatalog from '../data/catalog.json' with { type: 'json' }
import {
  csvlkActivates,
  csvlkMatchesEpid,
  defaultBuildFor,
  hostKeyCoverage,
  isProductionCsvlk,
  newestOf,
  type Csvlk,
  type HostKeyCoverage
} from './csvlk'
import { normalizeGuid, type Guid } from './guid'

export type { Csvlk, HostKeyCoverage } from './csvlk'

/** Where a catalog entry comes from: the KMS database (possibly merged with the older data), or only the older data. */
export type CatalogSource = 'kms-database' | 'legacy'

export type KmsProtocolVersion = 4 | 5 | 6

export interface Application {
  guid: Guid
  /** "Windows", "Office2010", "Office2013+" */
  name: string
  maxClientListSize: number
  csvlkIndex: number
  /** the KMS database's name, e.g. "Office 2013 / 2016 / 2019 / LTSC 2021 / LTSC 2024" */
  displayName?: string
}

export interface CsvlkGroup {
  index: number
  /** "Windows", "Office2010", "Office2013", "Office2016", "WinChinaGov", "Office2019" */
  iniName: string
  defaultEpid: string
  /** YYYY-MM-DD */
  releaseDateUtc: string
  /** ePID part 2 */
  groupId: number
  minKeyId: number
  maxKeyId: number
  minActiveClients: number
}

export interface HostBuild {
  index: number
  displayName: string
  buildNumber: number
  /** ePID part 1 */
  platformId: number
  releaseDateUtc: string
  flags: { useNdr64: boolean; useForEpid: boolean; mayBeServer: boolean }
  source?: CatalogSource
}

export interface KmsCountedId {
  index: number
  guid: Guid
  name: string
  application: string
  applicationId: Guid
  /** N_Policy: 25 for Windows client groups, 5 otherwise */
  requiredClientCount: number
  defaultProtocolVersion: KmsProtocolVersion
  isRetail: boolean
  isPreview: boolean
  /** iniName of the CSVLK group whose ePID a host answers with */
  csvlk: string
  /** other names: the KMS database's ("Windows 10/11 2015 (Volume)") when it differs */
  aliases: string[]
  source: CatalogSource
}

export interface Sku {
  /** position in `vlmcs -x` (1-based); null for SKUs vlmcsd does not list */
  vlmcsListNumber: number | null
  guid: Guid
  name: string
  application: string
  kmsCountedId: Guid
  kmsCountedName: string
  protocolVersion: KmsProtocolVersion
  requiredClientCount: number
  isRetail: boolean
  isPreview: boolean
  /** the public KMS client setup key (GVLK), null when the data has none */
  gvlk: string | null
  /** the database marks this GVLK as generated (not one Microsoft publishes) */
  gvlkIsGenerated: boolean
  /** other names of the same SKU: the KMS database's, and the Windows 11 names (Windows 10 and 11 share SKU IDs) */
  aliases: string[]
  source: CatalogSource
}

/** The full catalog, as `src-main/data/catalog.json` holds it. */
export interface CatalogData {
  applications: Application[]
  csvlkGroups: CsvlkGroup[]
  hostBuilds: HostBuild[]
  kmsCountedIds: KmsCountedId[]
  skus: Sku[]
  /** host keys, in the database's order (each family newest first) */
  csvlks: Csvlk[]
  /** every Windows build the database knows (newest first); `hostBuilds` are those with `flags.useForEpid` */
  windowsBuilds: HostBuild[]
}

type Lenient<T, K extends keyof T> = Omit<T, K> & Partial<Pick<T, K>>

/**
 * What `ProductCatalog` accepts: the catalog, or data of the older products.json shape (no CSVLKs, GVLKs,
 * aliases or sources — they default to none / 'legacy').
 */
export interface ProductData {
  applications: Application[]
  csvlkGroups: CsvlkGroup[]
  hostBuilds: HostBuild[]
  kmsCountedIds: Lenient<KmsCountedId, 'aliases' | 'source'>[]
  skus: Lenient<Sku, 'gvlk' | 'gvlkIsGenerated' | 'aliases' | 'source'>[]
  csvlks?: Csvlk[]
  windowsBuilds?: HostBuild[]
}

export type ProductLookup =
  | { kind: 'found'; sku: Sku; matchedBy: 'guid' | 'exact-name' | 'alias' | 'substring' }
  | { kind: 'ambiguous'; query: string; candidates: Sku[]; candidateNames: string[] }
  | { kind: 'not-found'; query: string }

/** The identity fields of a KMS request for one SKU. */
export interface RequestIdentity {
  appId: Guid
  actId: Guid
  kmsId: Guid
  nPolicy: number
  protocol: KmsProtocolVersion
}

/**
 * The default product: a current Windows client edition with threshold 25 and protocol 6. The data names it
 * "Windows 10 Professional" (KMS ID "Windows 10 2015 (Volume)", N = 25, v6), with "Windows 11 Pro" as an alias
 * (Windows 11 activates with the Windows 10 SKU and KMS IDs); the first of these names a SKU has is used.
 */
const DEFAULT_PRODUCT_NAMES = ['Windows 10 Professional', 'Windows 11 Pro'] as const

export class ProductCatalog {
  readonly applications: readonly Application[]
  readonly csvlkGroups: readonly CsvlkGroup[]
  /** the builds ePIDs use (a KMS host's OS), newest first */
  readonly hostBuilds: readonly HostBuild[]
  /** every Windows build the data knows, newest first (client builds too: a Windows 10/11 PC can be a KMS host) */
  readonly windowsBuilds: readonly HostBuild[]
  readonly kmsCountedIds: readonly KmsCountedId[]
  readonly skus: readonly Sku[]
  private readonly csvlkList: readonly Csvlk[]
  private readonly skuByGuid = new Map<Guid, Sku>()
  private readonly kmsById = new Map<Guid, KmsCountedId>()
  private readonly appById = new Map<Guid, Application>()
  private readonly csvlkById = new Map<Guid, Csvlk>()
  /** lower-cased search text per SKU: names, aliases, KMS ID names, application; and its GUID and GVLK */
  private readonly searchText = new Map<Sku, { names: string; ids: string }>()

  constructor(data: ProductData) {
    checkShape(data)
    this.applications = data.applications
    this.csvlkGroups = data.csvlkGroups
    this.hostBuilds = data.hostBuilds
    this.windowsBuilds = data.windowsBuilds ?? data.hostBuilds
    this.kmsCountedIds = data.kmsCountedIds.map((k) => ({ ...k, aliases: k.aliases ?? [], source: k.source ?? 'legacy' }))
    this.skus = data.skus.map((s) => ({
      ...s,
      gvlk: s.gvlk ?? null,
      gvlkIsGenerated: s.gvlkIsGenerated ?? false,
      aliases: s.aliases ?? [],
      source: s.source ?? 'legacy'
    }))
    this.csvlkList = data.csvlks ?? []
    for (const s of this.skus) this.skuByGuid.set(s.guid.toLowerCase(), s)
    for (const k of this.kmsCountedIds) this.kmsById.set(k.guid.toLowerCase(), k)
    for (const a of data.applications) this.appById.set(a.guid.toLowerCase(), a)
    for (const c of this.csvlkList) if (c.id !== null) this.csvlkById.set(c.id, c)
    for (const s of this.skus) {
      const k = this.kmsById.get(s.kmsCountedId)
      const names = [s.name, ...s.aliases, s.kmsCountedName, ...(k?.aliases ?? []), s.application].join('\n').toLowerCase()
      this.searchText.set(s, { names, ids: `${s.guid}\n${s.gvlk ?? ''}`.toLowerCase() })
    }
  }

  skuById(guid: string): Sku | undefined {
    const g = normalizeGuid(guid)
    return g === undefined ? undefined : this.skuByGuid.get(g)
  }

  kmsCountedIdById(guid: string): KmsCountedId | undefined {
    const g = normalizeGuid(guid)
    return g === undefined ? undefined : this.kmsById.get(g)
  }

  applicationById(guid: string): Application | undefined {
    const g = normalizeGuid(guid)
    return g === undefined ? undefined : this.appById.get(g)
  }

  /**
   * Finds a SKU by GUID, else by name: case-insensitive exact match of the name first, then of an alias
   * ("Windows 11 Pro"), then a unique substring of a name (aliases only when no name contains the text).
   * Several matches (the data even has duplicate names, e.g. "Windows 10 Enterprise Preview") → `ambiguous`
   * with the candidates, so the caller can ask for one of their GUIDs.
   */
  findProduct(query: string): ProductLookup {
    const q = query.trim()
    const guid = normalizeGuid(q)
    if (guid !== undefined) {
      const sku = this.skuByGuid.get(guid)
      return sku ? { kind: 'found', sku, matchedBy: 'guid' } : { kind: 'not-found', query }
    }
    const lower = q.toLowerCase()
    if (lower === '') return { kind: 'not-found', query }
    const exact = this.skus.filter((s) => s.name.toLowerCase() === lower)
    if (exact.length === 1) return { kind: 'found', sku: exact[0]!, matchedBy: 'exact-name' }
    if (exact.length > 1) return ambiguous(query, exact)
    const alias = this.skus.filter((s) => s.aliases.some((a) => a.toLowerCase() === lower))
    if (alias.length === 1) return { kind: 'found', sku: alias[0]!, matchedBy: 'alias' }
    if (alias.length > 1) return ambiguous(query, alias)
    let sub = this.skus.filter((s) => s.name.toLowerCase().includes(lower))
    if (sub.length === 0) sub = this.skus.filter((s) => s.aliases.some((a) => a.toLowerCase().includes(lower)))
    if (sub.length === 1) return { kind: 'found', sku: sub[0]!, matchedBy: 'substring' }
    if (sub.length > 1) return ambiguous(query, sub)
    return { kind: 'not-found', query }
  }

  /**
   * Free-text search: every whitespace-separated word must occur (case-insensitively) in the SKU name or one of
   * its aliases ("Windows 11 Pro"), its KMS counted ID's names, its application, or — words of 4 characters or
   * more, so that "11" does not match inside a GUID — its GUID or GVLK. Results keep the data order (vlmcs list
   * order, then the SKUs vlmcsd does not know).
   */
  searchProducts(text: string): Sku[] {
    const words = text
      .toLowerCase()
      .split(/\s+/)
      .filter((w) => w !== '')
    if (words.length === 0) return [...this.skus]
    return this.skus.filter((s) => {
      const hay = this.searchText.get(s)
      return hay !== undefined && words.every((w) => hay.names.includes(w) || (w.length >= 4 && hay.ids.includes(w)))
    })
  }

  /** See DEFAULT_PRODUCT_NAMES. */
  defaultProduct(): Sku {
    for (const name of DEFAULT_PRODUCT_NAMES) {
      const sku = this.skus.find(
        (s) => (s.name === name || s.aliases.includes(name)) && s.requiredClientCount === 25 && s.protocolVersion === 6
      )
      if (sku) return sku
    }
    const fallback = this.skus.find(
      (s) => s.application === 'Windows' && s.requiredClientCount === 25 && s.protocolVersion === 6 && !s.isRetail && !s.isPreview
    )
    if (!fallback) throw new Error('product data has no Windows client SKU with threshold 25 and protocol 6')
    return fallback
  }

  /**
   * The CSVLK group whose ePID answers a KMS counted ID, as the data maps it (KMS ID → `csvlk` iniName; e.g.
   * "Office 2013 (Pre-Release)" maps to the Windows group). An unknown KMS ID gets group 0 ("Windows"),
   * as vlmcsd does (§9.2).
   */
  csvlkForKmsCountedId(kmsId: string): CsvlkGroup {
    const k = this.kmsCountedIdById(kmsId)
    const byName = k ? this.csvlkGroups.find((c) => c.iniName === k.csvlk) : undefined
    const group = byName ?? this.csvlkGroups.find((c) => c.index === 0) ?? this.csvlkGroups[0]
    if (!group) throw new Error('product data has no CSVLK groups')
    return group
  }

  /** The identity fields a client sends for a SKU. */
  requestIdentity(sku: Sku): RequestIdentity {
    const k = this.kmsCountedIdById(sku.kmsCountedId)
    const appId = k?.applicationId ?? this.applications.find((a) => a.name === sku.application)?.guid
    if (appId === undefined) throw new Error(`no application id for SKU ${sku.name}`)
    return { appId, actId: sku.guid, kmsId: sku.kmsCountedId, nPolicy: sku.requiredClientCount, protocol: sku.protocolVersion }
  }

  hostBuildByNumber(build: number): HostBuild | undefined {
    return this.hostBuilds.find((b) => b.buildNumber === build)
  }

  /** Any Windows build the data knows (e.g. 22631, Windows 11 23H2), not only the ePID host builds. */
  windowsBuildByNumber(build: number): HostBuild | undefined {
    return this.windowsBuilds.find((b) => b.buildNumber === build)
  }

  // ── SKU details ────────────────────────────────────────────────────────────────────────────────────────────

  /** The GVLK (KMS client setup key) of a SKU by its GUID; null when the data has none, undefined for an unknown SKU. */
  gvlkForSku(skuId: string): string | null | undefined {
    return this.skuById(skuId)?.gvlk
  }

  /** The SKUs that activate against a KMS counted ID, in data order. */
  skusForKmsCountedId(kmsId: string): Sku[] {
    const g = normalizeGuid(kmsId)
    return g === undefined ? [] : this.skus.filter((s) => s.kmsCountedId === g)
  }

  // ── host keys (CSVLKs) ─────────────────────────────────────────────────────────────────────────────────────

  /** Every host key, in the database's order (each family newest first). */
  csvlks(): readonly Csvlk[] {
    return this.csvlkList
  }

  csvlkByActivationId(id: string): Csvlk | undefined {
    const g = normalizeGuid(id)
    return g === undefined ? undefined : this.csvlkById.get(g)
  }

  /**
   * The host key a host's ePID names: group ID (ePID part 2) and key ID (parts 3–4 as one number) together — many
   * keys share group 206 and differ only in their key-ID range. Undefined when no key or more than one key has
   * that group and range (see csvlksForEpid).
   */
  csvlkForEpid(groupId: number, keyId: number): Csvlk | undefined {
    const all = this.csvlksForEpid(groupId, keyId)
    return all.length === 1 ? all[0] : undefined
  }

  /** Every host key with that group ID and a key-ID range holding `keyId` (Office 2019 VL and Office LTSC 2024 share one). */
  csvlksForEpid(groupId: number, keyId: number): Csvlk[] {
    return this.csvlkList.filter((c) => csvlkMatchesEpid(c, groupId, keyId))
  }

  /** The host keys that activate a KMS counted ID, in the database's order. */
  coveringCsvlks(kmsCountedId: string): Csvlk[] {
    const g = normalizeGuid(kmsCountedId)
    return g === undefined ? [] : this.csvlkList.filter((c) => csvlkActivates(c, g))
  }

  /** Whether a host key (or its activation ID) activates a KMS counted ID. */
  covers(csvlk: Csvlk | string, kmsCountedId: string): boolean {
    const c = typeof csvlk === 'string' ? this.csvlkByActivationId(csvlk) : csvlk
    const g = normalizeGuid(kmsCountedId)
    return c !== undefined && g !== undefined && csvlkActivates(c, g)
  }

  /** The applications (their GUIDs) whose KMS counted IDs a host key serves. */
  csvlkApplicationIds(csvlk: Csvlk): Guid[] {
    const ids = new Set<Guid>()
    for (const k of csvlk.covers) {
      const app = this.kmsById.get(k)?.applicationId
      if (app !== undefined) ids.add(app)
    }
    return [...ids]
  }

  /**
   * The newest released host key for an application (by GUID): not a lab or pre-release key, with a known ID and
   * range, activating at least one of the application's KMS counted IDs. Windows → Windows Server 2025;
   * Office 2013+ → Office LTSC 2024; Office 2010 → Office 2010 VL.
   */
  newestCsvlk(applicationId: string): Csvlk | undefined {
    const app = normalizeGuid(applicationId)
    if (app === undefined) return undefined
    return newestOf(this.csvlkList.filter((c) => isProductionCsvlk(c) && this.csvlkApplicationIds(c).includes(app)))
  }

  /** The host build a host with this key most plausibly runs (26100 for Windows Server 2025); see defaultBuildFor. */
  defaultBuildForCsvlk(csvlk: Csvlk): HostBuild | undefined {
    return defaultBuildFor(csvlk, this.hostBuilds)
  }

  /**
   * What the catalog says about a host whose ePID names `groupId`/`keyId`, for a KMS counted ID: covered, not
   * covered, ambiguous (several keys share the range) or unknown key; with the keys that would cover it.
   */
  hostKeyCoverage(groupId: number, keyId: number, kmsCountedId: string): HostKeyCoverage {
    return hostKeyCoverage(this.csvlkList, groupId, keyId, normalizeGuid(kmsCountedId) ?? kmsCountedId)
  }
}

function ambiguous(query: string, candidates: Sku[]): ProductLookup {
  return { kind: 'ambiguous', query, candidates, candidateNames: candidates.map((s) => s.name) }
}

function checkShape(data: ProductData): void {
  const lists: (keyof ProductData)[] = ['applications', 'csvlkGroups', 'hostBuilds', 'kmsCountedIds', 'skus']
  for (const k of lists) if (!Array.isArray(data[k])) throw new Error(`product data: ${k} is not a list`)
  for (const k of ['csvlks', 'windowsBuilds'] as const)
    if (data[k] !== undefined && !Array.isArray(data[k])) throw new Error(`product data: ${k} is not a list`)
  for (const s of data.skus) {
    if (normalizeGuid(s.guid) === undefined || normalizeGuid(s.kmsCountedId) === undefined)
      throw new Error(`product data: bad GUID in SKU ${s.name}`)
    if (![4, 5, 6].includes(s.protocolVersion)) throw new Error(`product data: bad protocol version in SKU ${s.name}`)
  }
}

/** The catalog of the shipped product data. */
export const productCatalog = new ProductCatalog(rawCatalog as unknown as CatalogData)
