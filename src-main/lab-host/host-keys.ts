/**
 * The host keys (CSVLKs) the lab host holds — one per application it serves — and what a real host with those keys
 * answers: a request whose KMS counted ID the key of its application serves gets that key's ePID; any other
 * request is refused with 0xC004F042 (SL_E_VL_KEY_MANAGEMENT_SERVICE_ID_MISMATCH), as a Windows KMS host refuses a
 * product its key does not cover (docs/lab-host.md, "Host keys"). By default the host holds the newest released key
 * of every application (Windows Server 2025, Office LTSC 2024, Office 2010 VL); `--csvlk` picks others.
 *
 * Pure: catalog data in, decisions out.
 */
import { HRESULT, normalizeGuid, type Csvlk, type Guid, type ProductCatalog } from '../protocol/index'

/** One key the host holds, with the ePID it answers every product of that key with. */
export interface HostKey {
  readonly csvlk: Csvlk
  readonly epid: string
}

export type HostKeyDecision =
  { readonly serve: true; readonly key: HostKey } | { readonly serve: false; readonly hresult: number; readonly reason: string }

/** The newest released key of every application of the catalog. */
export function defaultHostKeys(catalog: ProductCatalog): Csvlk[] {
  const keys: Csvlk[] = []
  for (const app of catalog.applications) {
    const key = catalog.newestCsvlk(app.guid)
    if (key && !keys.includes(key)) keys.push(key)
  }
  return keys
}

/** A key by its activation ID, its name or another name (case-insensitive), or a unique part of its name. */
function findHostKey(catalog: ProductCatalog, text: string): Csvlk | { problem: string; hint: string } {
  const wanted = text.trim()
  const byId = catalog.csvlkByActivationId(wanted)
  if (byId) return byId
  const all = catalog.csvlks().filter((c) => c.id !== null)
  const lower = wanted.toLowerCase()
  const names = (c: Csvlk): string[] => [c.name, ...c.alsoKnownAs].map((n) => n.toLowerCase())
  const exact = all.filter((c) => names(c).includes(lower))
  if (exact.length === 1) return exact[0]!
  const partial = exact.length > 1 ? exact : all.filter((c) => names(c).some((n) => n.includes(lower)))
  if (partial.length === 1) return partial[0]!
  const list = (cs: readonly Csvlk[]): string =>
    cs
      .slice(0, 8)
      .map((c) => `"${c.name}"`)
      .join(', ') + (cs.length > 8 ? ', …' : '')
  if (partial.length === 0) {
    const production = all.filter((c) => !c.isLab && !c.isPreview)
    return { problem: `no host key (CSVLK) is called '${wanted}'`, hint: `known keys include ${list(production)}` }
  }
  return { problem: `'${wanted}' names ${partial.length} host keys: ${list(partial)}`, hint: 'give the full name or the key ID' }
}

/**
 * The keys the host holds: the defaults, with each chosen key replacing the default of the applications it serves.
 * Throws RangeError (with the hint after a newline) for a name that is unknown or ambiguous.
 */
export function chooseHostKeys(catalog: ProductCatalog, chosen: readonly string[]): Csvlk[] {
  let keys = defaultHostKeys(catalog)
  for (const text of chosen) {
    const key = findHostKey(catalog, text)
    if ('problem' in key) throw new RangeError(`${key.problem}\n${key.hint}`)
    const apps = new Set(catalog.csvlkApplicationIds(key))
    if (apps.size === 0) throw new RangeError(`the host key "${key.name}" serves no product of the catalog\nchoose a released key`)
    keys = keys.filter((k) => !catalog.csvlkApplicationIds(k).some((a) => apps.has(a)))
    keys.push(key)
  }
  return keys
}

/** Pairs of IDs whose decision is remembered; far more than the catalog's products, so only junk IDs cycle out. */
const MAX_CACHED_DECISIONS = 4096

/** What the host answers for each request: its key for the request's application, or a refusal. */
export class HostKeyRing {
  private readonly byApplication = new Map<Guid, HostKey>()
  /**
   * decide() by "application|KMS counted ID" as the request carried them: the catalog lookups normalise each GUID
   * with a regular expression, which showed in host profiles (~3 µs a request). Bounded: clients choose these IDs.
   */
  private readonly decisions = new Map<string, HostKeyDecision>()

  constructor(
    readonly keys: readonly HostKey[],
    private readonly catalog: ProductCatalog
  ) {
    if (keys.length === 0) throw new RangeError('the lab host holds no host key')
    for (const key of keys) for (const app of catalog.csvlkApplicationIds(key.csvlk)) this.byApplication.set(app, key)
  }

  /** The key serving an application (by GUID), if the host holds one. */
  private keyFor(applicationId: string): HostKey | undefined {
    const app = normalizeGuid(applicationId)
    return app === undefined ? undefined : this.byApplication.get(app)
  }

  decide(applicationId: string, kmsCountedId: string): HostKeyDecision {
    const cacheKey = `${applicationId}|${kmsCountedId}`
    let decision = this.decisions.get(cacheKey)
    if (decision === undefined) {
      decision = this.decideNow(applicationId, kmsCountedId)
      if (this.decisions.size >= MAX_CACHED_DECISIONS) this.decisions.clear()
      this.decisions.set(cacheKey, decision)
    }
    return decision
  }

  private decideNow(applicationId: string, kmsCountedId: string): HostKeyDecision {
    const key = this.keyFor(applicationId)
    const kmsId = normalizeGuid(kmsCountedId) ?? kmsCountedId
    const product = this.catalog.kmsCountedIdById(kmsId)?.name ?? `KMS ID ${kmsId}`
    if (key === undefined) {
      return { serve: false, hresult: HRESULT.kmsIdMismatch, reason: `no host key for application ${applicationId} (${product})` }
    }
    if (!this.catalog.covers(key.csvlk, kmsId)) {
      return { serve: false, hresult: HRESULT.kmsIdMismatch, reason: `the host key "${key.csvlk.name}" does not serve ${product}` }
    }
    return { serve: true, key }
  }
}
