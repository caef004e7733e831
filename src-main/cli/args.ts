/**
 * Parsers for the arguments several commands share (host, product, protocol, timeout, GUID, workstation
 * name). Each either returns the value or throws a UsageError: one line saying what is wrong, one hint saying
 * how to write it — the CLI prints both and exits 3.
 */
import { normalizeGuid, productCatalog as defaultCatalog, type Guid, type KmsProtocolVersion, type ProductCatalog, type Sku } from '../protocol'
import { parseEndpoint, type KmsEndpoint } from '../common/host-port'
import { WORKSTATION_NAME_MAX } from '../kms-client/workstation'
import type { CommandContext } from './commands'
import { UsageError } from './io'

/** The last value of a string option (parseArgs gives arrays only for `multiple` options). */
export function stringOption(values: CommandContext['values'], name: string): string | undefined {
  const v = values[name]
  if (Array.isArray(v)) {
    const last = v[v.length - 1]
    return typeof last === 'string' ? last : undefined
  }
  return typeof v === 'string' ? v : undefined
}

export function booleanOption(values: CommandContext['values'], name: string): boolean {
  return values[name] === true
}

/** HOST[:PORT] or [IPv6]:PORT, default port 1688. */
export function parseHostArg(text: string): KmsEndpoint {
  const parsed = parseEndpoint(text)
  if (!parsed.ok) throw new UsageError(parsed.error.message, parsed.error.hint)
  return parsed.endpoint
}

/** A GUID in canonical form (braces allowed), lower-cased. */
export function parseGuidArg(text: string, option: string): Guid {
  const guid = normalizeGuid(text)
  if (guid === undefined) {
    throw new UsageError(`${option} '${text}' is not a GUID`, `write it as 8-4-4-4-12 hex digits, e.g. ${option} 2de67392-b7a7-462a-b1ca-108dd189f588`)
  }
  return guid
}

export function parseProtocolArg(text: string): KmsProtocolVersion {
  const t = text.trim().replace(/^v/i, '')
  if (t === '4' || t === '5' || t === '6') return Number(t) as KmsProtocolVersion
  throw new UsageError(`--protocol '${text}' is not a KMS protocol version`, 'use 4 (Vista, 7, Server 2008/R2, Office 2010), 5 (Windows 8, Server 2012, Office 2013) or 6 (Windows 8.1 and later, Office 2016 and later)')
}

export const TIMEOUT_MIN_MS = 100
export const TIMEOUT_MAX_MS = 120_000

export function parseTimeoutArg(text: string): number {
  const ms = /^[0-9]+$/.test(text.trim()) ? Number(text.trim()) : NaN
  if (!Number.isInteger(ms) || ms < TIMEOUT_MIN_MS || ms > TIMEOUT_MAX_MS) {
    throw new UsageError(`--timeout '${text}' is not a time in milliseconds between ${TIMEOUT_MIN_MS} and ${TIMEOUT_MAX_MS}`, 'e.g. --timeout 3000 for three seconds per phase')
  }
  return ms
}

export function parseWorkstationArg(text: string): string {
  const name = text.trim()
  if (name === '') throw new UsageError('--workstation is empty', 'give the name this monitor should show on the KMS host, e.g. --workstation monitor01.corp.example')
  if (name.length > WORKSTATION_NAME_MAX) {
    throw new UsageError(`--workstation is ${name.length} characters long; the KMS request carries at most ${WORKSTATION_NAME_MAX}`, 'use a shorter name, e.g. the host name without its domain')
  }
  if (name.includes('\0')) throw new UsageError('--workstation contains a NUL character', 'use a plain host name')
  return name
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

/**
 * The SKU named by `--product NAME` (exact name, a unique part of a name, or a GUID) or `--sku GUID`; undefined
 * when neither is given.
 */
export function parseProductArgs(product: string | undefined, sku: string | undefined, catalog: ProductCatalog = defaultCatalog): Sku | undefined {
  if (product !== undefined && sku !== undefined) throw new UsageError('--product and --sku both name a product', 'give one of them')
  if (sku !== undefined) {
    const guid = parseGuidArg(sku, '--sku')
    const found = catalog.skuById(guid)
    if (!found) throw new UsageError(`--sku ${guid} is not a known SKU (activation) ID`, "run 'kms-scout products --search TEXT' to find the product and its SKU GUID")
    return found
  }
  if (product === undefined) return undefined
  if (product.trim() === '') throw new UsageError('--product is empty', "run 'kms-scout products' to list the product names")
  const found = catalog.findProduct(product)
  switch (found.kind) {
    case 'found':
      return found.sku
    case 'ambiguous':
      throw new UsageError(
        `--product '${product}' matches ${found.candidates.length} products: ${candidateList(found.candidates)}`,
        `give the full name or --sku GUID; 'kms-scout products --search "${product.trim()}"' lists them with their GUIDs`
      )
    case 'not-found':
      throw new UsageError(`--product '${product}' matches no known product`, "run 'kms-scout products --search TEXT' to find the name (e.g. --search \"server 2019\")")
  }
}
