/**
 * Host keys (CSVLKs): which KMS counted IDs a key activates, which host builds it may run on, and how a host's
 * ePID names its key (group ID + key-ID range). Pure functions over catalog data (`src-main/data/catalog.json`,
 * imported from KmsDataBase.xml by `scripts/catalog-import.ts`); `ProductCatalog` wraps them.
 */
import type { Guid } from './guid'

/** One CSVLK (KMS host key) of the catalog. */
export interface Csvlk {
  /** the key's activation ID; null for a placeholder entry of the database that has none (Office 2013 VL [Pre-Release]) */
  id: Guid | null
  name: string
  /** other names the database gives the same key (it lists one key twice under two names) */
  alsoKnownAs: string[]
  /** ePID part 2; null when the database does not know it */
  groupId: number | null
  /** key-ID range (ePID parts 3 and 4 read as one 9-digit number); null when unknown */
  minKeyId: number | null
  maxKeyId: number | null
  /** YYYY-MM-DD; null when the database has no date */
  releaseDateUtc: string | null
  /** Microsoft-internal lab key */
  isLab: boolean
  /** pre-release key */
  isPreview: boolean
  /** vlmcsd ini name ("Windows", "Office2019", …); null when none */
  iniName: string | null
  /** the ePID the database suggests for this key, null when none */
  epid: string | null
  /** KMS counted IDs the key activates, as the database lists them (may name IDs the catalog does not define) */
  activates: Guid[]
  /**
   * Every KMS counted ID a host with this key serves: its own and those of the older keys of its line (a Windows
   * Server key also serves the client editions released up to it), without retail and preview IDs. Computed by the
   * importer (docs/product-catalog.md).
   */
  covers: Guid[]
  /** indexes the database gives in InvalidWinBuild: positions in its list of ePID host builds (ascending build numbers) */
  invalidWinBuild: number[]
  /** host builds (build numbers, newest first) the key may run on: the ePID host builds minus the invalid ones */
  hostBuilds: number[]
}

/** Where a CSVLK sits in a host's ePID: group and key-ID range both match. */
export function csvlkMatchesEpid(c: Csvlk, groupId: number, keyId: number): boolean {
  return c.groupId === groupId && c.minKeyId !== null && c.maxKeyId !== null && keyId >= c.minKeyId && keyId <= c.maxKeyId
}

/** A host holding `c` serves clients of this KMS counted ID. */
export function csvlkActivates(c: Csvlk, kmsCountedId: Guid): boolean {
  return c.covers.includes(kmsCountedId)
}

/** A key that a real, released host can hold: not a lab or pre-release key, with a known ID, group and range. */
export function isProductionCsvlk(c: Csvlk): boolean {
  return !c.isLab && !c.isPreview && c.id !== null && c.groupId !== null && c.minKeyId !== null && c.maxKeyId !== null
}

/**
 * The newest of `candidates` (given in the database's order, which lists every family of keys newest first):
 * the one with the latest release date, unless an undated key is listed before it (Office LTSC 2024 has no date in
 * the database but is listed before Office LTSC 2021) — then the first such undated key.
 */
export function newestOf(candidates: readonly Csvlk[]): Csvlk | undefined {
  let best: { c: Csvlk; at: number } | undefined
  candidates.forEach((c, at) => {
    if (c.releaseDateUtc !== null && (best === undefined || c.releaseDateUtc > best.c.releaseDateUtc!)) best = { c, at }
  })
  if (best === undefined) return candidates[0]
  const before = candidates.slice(0, best.at).find((c) => c.releaseDateUtc === null)
  return before ?? best.c
}

export interface BuildRef {
  buildNumber: number
  releaseDateUtc: string
}

/**
 * The host build a CSVLK most plausibly runs on: among the builds it may run on, the one released closest to the
 * key (ties → the newer build); the newest allowed build for an undated key. 26100 for Windows Server 2025, 20348
 * for Windows Server 2022, 17763 for Windows Server 2019.
 */
export function defaultBuildFor<B extends BuildRef>(c: Csvlk, builds: readonly B[]): B | undefined {
  const allowed = builds.filter((b) => c.hostBuilds.includes(b.buildNumber)).sort((a, b) => b.buildNumber - a.buildNumber)
  if (allowed.length === 0) return undefined
  if (c.releaseDateUtc === null) return allowed[0]
  const key = Date.parse(c.releaseDateUtc)
  let best = allowed[0]!
  for (const b of allowed) if (Math.abs(Date.parse(b.releaseDateUtc) - key) < Math.abs(Date.parse(best.releaseDateUtc) - key)) best = b
  return best
}

/**
 * What the catalog can say about a host whose ePID names group `groupId` and key `keyId`, for one KMS counted ID.
 * `candidates`: the keys with that group and range; `csvlk`: the key when there is exactly one; `covering`: every
 * key of the catalog that activates the KMS ID (what the host would need).
 */
export type HostKeyCoverage =
  /** every candidate key activates the KMS ID */
  | { verdict: 'covered'; csvlk: Csvlk | null; candidates: Csvlk[]; covering: Csvlk[] }
  /** no candidate key activates the KMS ID */
  | { verdict: 'not-covered'; csvlk: Csvlk | null; candidates: Csvlk[]; covering: Csvlk[] }
  /** several keys share the range (Office 2019 VL and Office LTSC 2024 do); some activate the KMS ID, some don't */
  | { verdict: 'ambiguous'; csvlk: null; candidates: Csvlk[]; covering: Csvlk[] }
  /** no known key has this group and key ID (a hand-made or emulated ePID, or a key the database lacks) */
  | { verdict: 'unknown-key'; csvlk: null; candidates: []; covering: Csvlk[] }

export function hostKeyCoverage(all: readonly Csvlk[], groupId: number, keyId: number, kmsCountedId: Guid): HostKeyCoverage {
  const candidates = all.filter((c) => csvlkMatchesEpid(c, groupId, keyId))
  const covering = all.filter((c) => csvlkActivates(c, kmsCountedId))
  if (candidates.length === 0) return { verdict: 'unknown-key', csvlk: null, candidates: [], covering }
  const yes = candidates.filter((c) => csvlkActivates(c, kmsCountedId)).length
  const csvlk = candidates.length === 1 ? candidates[0]! : null
  if (yes === candidates.length) return { verdict: 'covered', csvlk, candidates, covering }
  if (yes === 0) return { verdict: 'not-covered', csvlk, candidates, covering }
  return { verdict: 'ambiguous', csvlk: null, candidates, covering }
}
