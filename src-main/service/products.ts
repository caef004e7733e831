/**
 * Which product a query or a check claims — decided once, the same way for the CLI and the app: a product named
 * for this run (by name, unique part of a name, or SKU GUID) must exist, or the run stops with a usage error that
 * lists the candidates; otherwise the settings' default product, which, when the catalog no longer has it, is
 * reported as a warning and replaced by the catalog's default (a stale setting must not stop every check);
 * otherwise the catalog's default (Windows 10/11 Professional).
 */
import { ApiFailure } from '../api/result'
import { productCatalog as defaultCatalog, type ProductCatalog, type Sku } from '../protocol'
import type { Csvlk } from '../protocol/products'
import type { ProductList } from '../api/contract'
import { keysServing } from '../kms-client/answer-analysis'
import { parseGuid } from './inputs'

export interface ProductChoice {
  /** A name, a unique part of a name, or a SKU GUID. */
  readonly name?: string | undefined
  /** A SKU (activation) ID. */
  readonly skuId?: string | undefined
}

export interface ProductLabels {
  /** How the front end calls the name field: `--product` in the CLI. */
  readonly name: string
  readonly skuId: string
}

const MAX_CANDIDATES = 5

function candidateList(candidates: readonly Sku[]): string {
  const counts = new Map<string, number>()
  for (const s of candidates) counts.set(s.name, (counts.get(s.name) ?? 0) + 1)
  // Duplicate names exist in the data (e.g. two "Windows 10 Enterprise Preview"): show their GUIDs.
  const shown = candidates.slice(0, MAX_CANDIDATES).map((s) => ((counts.get(s.name) ?? 0) > 1 ? `${s.name} (${s.guid})` : s.name))
  const more = candidates.length - shown.length
  return `${shown.join('; ')}${more > 0 ? `; and ${more} more` : ''}`
}

/** The product named for this run, or undefined when none is named. Throws ApiFailure('invalid-input'). */
export function chooseProduct(choice: ProductChoice, labels: ProductLabels, catalog: ProductCatalog = defaultCatalog): Sku | undefined {
  const { name, skuId } = choice
  if (name !== undefined && skuId !== undefined)
    throw new ApiFailure('invalid-input', `${labels.name} and ${labels.skuId} both name a product`, 'give one of them')
  if (skuId !== undefined) {
    const guid = parseGuid(skuId, labels.skuId)
    const found = catalog.skuById(guid)
    if (!found)
      throw new ApiFailure(
        'invalid-input',
        `${labels.skuId} ${guid} is not a known SKU (activation) ID`,
        "run 'kms-scout products --search TEXT' to find the product and its SKU GUID"
      )
    return found
  }
  if (name === undefined) return undefined
  if (name.trim() === '')
    throw new ApiFailure('invalid-input', `${labels.name} is empty`, "run 'kms-scout products' to list the product names")
  const found = catalog.findProduct(name)
  switch (found.kind) {
    case 'found':
      return found.sku
    case 'ambiguous':
      throw new ApiFailure(
        'invalid-input',
        `${labels.name} '${name}' matches ${found.candidates.length} products: ${candidateList(found.candidates)}`,
        `give the full name or the SKU GUID; 'kms-scout products --search "${name.trim()}"' lists them with their GUIDs`
      )
    case 'not-found':
      throw new ApiFailure(
        'invalid-input',
        `${labels.name} '${name}' matches no known product`,
        'run \'kms-scout products --search TEXT\' to find the name (e.g. --search "server 2019")'
      )
  }
}

/** The product of this run: the chosen one, else the settings' default, else the catalog's default. */
export function productForRun(
  chosen: Sku | undefined,
  settingsSkuId: string | null,
  onWarning: (message: string) => void,
  catalog: ProductCatalog = defaultCatalog
): Sku {
  if (chosen) return chosen
  if (settingsSkuId !== null) {
    const configured = catalog.skuById(settingsSkuId)
    if (configured) return configured
    onWarning(`the settings' product ${settingsSkuId} is not a known SKU; using the default product`)
  }
  return catalog.defaultProduct()
}

export interface ProductRow {
  name: string
  skuId: string
  application: string
  kmsCountedId: string
  kmsCountedName: string
  /** required client count (N_Policy) */
  threshold: number
  protocol: number
  isRetail: boolean
  isPreview: boolean
  /** KMS client setup key, null when the data has none */
  gvlk: string | null
  /** the data marks the GVLK as generated, not one Microsoft publishes */
  gvlkIsGenerated: boolean
  /** other names of the SKU (e.g. "Windows 11 Pro") */
  aliases: string[]
  /** 'legacy': only in the older vlmcsd data, not in the KMS database */
  source: string
  /** host keys (CSVLKs) that activate the SKU's KMS counted ID, newest family first */
  csvlks: CsvlkRef[]
}

export interface CsvlkRef {
  id: string | null
  name: string
  groupId: number | null
  minKeyId: number | null
  maxKeyId: number | null
  isLab: boolean
  isPreview: boolean
}

function csvlkRef(c: Csvlk): CsvlkRef {
  return { id: c.id, name: c.name, groupId: c.groupId, minKeyId: c.minKeyId, maxKeyId: c.maxKeyId, isLab: c.isLab, isPreview: c.isPreview }
}

/** volume, retail, preview or "retail preview": whether a real KMS host activates the SKU */
export function productKind(s: Pick<Sku, 'isRetail' | 'isPreview'>): string {
  return s.isRetail && s.isPreview ? 'retail preview' : s.isRetail ? 'retail' : s.isPreview ? 'preview' : 'volume'
}

function productRow(s: Sku): ProductRow {
  return {
    name: s.name,
    skuId: s.guid,
    application: s.application,
    kmsCountedId: s.kmsCountedId,
    kmsCountedName: s.kmsCountedName,
    threshold: s.requiredClientCount,
    protocol: s.protocolVersion,
    isRetail: s.isRetail,
    isPreview: s.isPreview,
    gvlk: s.gvlk,
    gvlkIsGenerated: s.gvlkIsGenerated,
    aliases: s.aliases,
    source: s.source,
    csvlks: defaultCatalog.coveringCsvlks(s.kmsCountedId).map(csvlkRef)
  }
}

/** Every product, or those matching every word of `search`, as rows for a list or JSON. */
export function listProducts(search?: string, catalog: ProductCatalog = defaultCatalog): ProductRow[] {
  return (search === undefined ? [...catalog.skus] : catalog.searchProducts(search)).map(productRow)
}

/** The products page's list: the SKUs matching `search`, and the released host keys that serve each KMS ID in it. */
export function listProductsView(search: string, catalog: ProductCatalog = defaultCatalog): ProductList {
  const products = catalog.searchProducts(search)
  const hostKeys: Record<string, string[]> = {}
  for (const kmsId of new Set(products.map((s) => s.kmsCountedId))) hostKeys[kmsId] = keysServing(kmsId, catalog)
  return { products, defaultSkuId: catalog.defaultProduct().guid, hostKeys }
}
