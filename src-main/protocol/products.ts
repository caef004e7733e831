/**
 * Typed access to the KMS product data (`src-main/data/products.json`, copied from ../shared/kms, §11):
 * applications, KMS counted IDs, SKUs, CSVLK groups and host builds.
 *
 * `ProductCatalog` wraps any data of that shape (tests can build small ones); `productCatalog` is the one
 * built from the shipped file.
 */
import rawProducts from '../data/products.json' with { type: 'json' }
import { normalizeGuid, type Guid } from './guid'

export type KmsProtocolVersion = 4 | 5 | 6

export interface Application {
  guid: Guid
  /** "Windows", "Office2010", "Office2013+" */
  name: string
  maxClientListSize: number
  csvlkIndex: number
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
}

export interface Sku {
  /** position in `vlmcs -x` (1-based) */
  vlmcsListNumber: number
  guid: Guid
  name: string
  application: string
  kmsCountedId: Guid
  kmsCountedName: string
  protocolVersion: KmsProtocolVersion
  requiredClientCount: number
  isRetail: boolean
  isPreview: boolean
}

export interface ProductData {
  applications: Application[]
  csvlkGroups: CsvlkGroup[]
  hostBuilds: HostBuild[]
  kmsCountedIds: KmsCountedId[]
  skus: Sku[]
}

export type ProductLookup =
  | { kind: 'found'; sku: Sku; matchedBy: 'guid' | 'exact-name' | 'substring' }
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
 * The default product: a current Windows client edition with threshold 25 and protocol 6. The data has
 * "Windows 10 Professional" (KMS ID "Windows 10 2015 (Volume)", N = 25, v6) and no "Windows 11 Pro" (Windows 11
 * activates with the Windows 10 KMS IDs), so the first of these names that exists is used.
 */
export const DEFAULT_PRODUCT_NAMES = ['Windows 10 Professional', 'Windows 11 Pro'] as const

export class ProductCatalog {
  readonly applications: readonly Application[]
  readonly csvlkGroups: readonly CsvlkGroup[]
  readonly hostBuilds: readonly HostBuild[]
  readonly kmsCountedIds: readonly KmsCountedId[]
  readonly skus: readonly Sku[]
  private readonly skuByGuid = new Map<Guid, Sku>()
  private readonly kmsById = new Map<Guid, KmsCountedId>()
  private readonly appById = new Map<Guid, Application>()

  constructor(data: ProductData) {
    checkShape(data)
    this.applications = data.applications
    this.csvlkGroups = data.csvlkGroups
    this.hostBuilds = data.hostBuilds
    this.kmsCountedIds = data.kmsCountedIds
    this.skus = data.skus
    for (const s of data.skus) this.skuByGuid.set(s.guid.toLowerCase(), s)
    for (const k of data.kmsCountedIds) this.kmsById.set(k.guid.toLowerCase(), k)
    for (const a of data.applications) this.appById.set(a.guid.toLowerCase(), a)
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
   * Finds a SKU by GUID, else by name: case-insensitive exact match first, then a unique substring match.
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
    const sub = this.skus.filter((s) => s.name.toLowerCase().includes(lower))
    if (sub.length === 1) return { kind: 'found', sku: sub[0]!, matchedBy: 'substring' }
    if (sub.length > 1) return ambiguous(query, sub)
    return { kind: 'not-found', query }
  }

  /**
   * Free-text search: every whitespace-separated word must occur (case-insensitively) in the SKU name, its KMS
   * counted ID name, its application or its GUID. Results keep the data order (vlmcs list order).
   */
  searchProducts(text: string): Sku[] {
    const words = text.toLowerCase().split(/\s+/).filter((w) => w !== '')
    if (words.length === 0) return [...this.skus]
    return this.skus.filter((s) => {
      const hay = `${s.name}\n${s.kmsCountedName}\n${s.application}\n${s.guid}`.toLowerCase()
      return words.every((w) => hay.includes(w))
    })
  }

  /** See DEFAULT_PRODUCT_NAMES. */
  defaultProduct(): Sku {
    for (const name of DEFAULT_PRODUCT_NAMES) {
      const sku = this.skus.find((s) => s.name === name && s.requiredClientCount === 25 && s.protocolVersion === 6)
      if (sku) return sku
    }
    const fallback = this.skus.find((s) => s.application === 'Windows' && s.requiredClientCount === 25 && s.protocolVersion === 6 && !s.isRetail && !s.isPreview)
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
}

function ambiguous(query: string, candidates: Sku[]): ProductLookup {
  return { kind: 'ambiguous', query, candidates, candidateNames: candidates.map((s) => s.name) }
}

function checkShape(data: ProductData): void {
  const lists: (keyof ProductData)[] = ['applications', 'csvlkGroups', 'hostBuilds', 'kmsCountedIds', 'skus']
  for (const k of lists) if (!Array.isArray(data[k])) throw new Error(`product data: ${k} is not a list`)
  for (const s of data.skus) {
    if (normalizeGuid(s.guid) === undefined || normalizeGuid(s.kmsCountedId) === undefined) throw new Error(`product data: bad GUID in SKU ${s.name}`)
    if (![4, 5, 6].includes(s.protocolVersion)) throw new Error(`product data: bad protocol version in SKU ${s.name}`)
  }
}

/** The catalog of the shipped product data. */
export const productCatalog = new ProductCatalog(rawProducts as ProductData)
