/**
 * `npm run catalog:import -- PATH [--check]`: reads a KmsDataBase.xml (the public KMS product database kept by
 * py-kms, see src-main/data/README.md) and writes the product catalog `src-main/data/catalog.json`, merged with
 * the older vlmcsd data in `src-main/data/products.json` (kept: its names, vlmcs list numbers, CSVLK groups with
 * default ePIDs, and every SKU / KMS ID the database lacks, marked `source: "legacy"`) and the curated alias
 * names in `src-main/data/catalog-aliases.json`. Prints what changed against the catalog already there.
 *
 * `--check` writes nothing and exits 1 when the catalog would change. A file it does not understand ends the run
 * with one line on stderr (what, where, how to fix) and exit code 2 — never a stack trace.
 *
 * Options for tests and experiments: `--out FILE` (default src-main/data/catalog.json), `--legacy FILE`,
 * `--aliases FILE`.
 */
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import type { Csvlk } from '../src-main/protocol/csvlk'
import { normalizeGuid, type Guid } from '../src-main/protocol/guid'
import type { Application, CatalogData, CsvlkGroup, HostBuild, KmsCountedId, KmsProtocolVersion, Sku } from '../src-main/protocol/products'

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const DEFAULT_OUT = path.join(REPO_ROOT, 'src-main/data/catalog.json')
export const DEFAULT_LEGACY = path.join(REPO_ROOT, 'src-main/data/products.json')
export const DEFAULT_ALIASES = path.join(REPO_ROOT, 'src-main/data/catalog-aliases.json')

/** A problem with an input file; its message is the one line the user sees. */
export class ImportError extends Error {
  override name = 'ImportError'
}

// ── reading the XML ──────────────────────────────────────────────────────────────────────────────────────────

export interface XmlBuild {
  buildNumber: number
  displayName: string
  platformId: number
  releaseDateUtc: string | null
  useForEpid: boolean
  mayBeServer: boolean
  usesNdr64: boolean
}

/** A CSVLK as the database states it: the catalog's fields less those the importer computes, plus the vlmcsd index. */
export type XmlCsvlk = Omit<Csvlk, 'covers' | 'hostBuilds'> & { vlmcsdIndex: number | null }

export interface XmlSku {
  id: Guid
  name: string
  gvlk: string | null
  gvlkIsGenerated: boolean
}

export interface XmlKmsItem {
  id: Guid
  name: string
  isRetail: boolean
  isPreview: boolean
  protocol: KmsProtocolVersion
  nCountPolicy: number
  skus: XmlSku[]
}

export interface XmlApp {
  id: Guid
  name: string
  vlmcsdIndex: number
  minActiveClients: number
  kmsItems: XmlKmsItem[]
}

export interface KmsDatabase {
  version: string | null
  author: string | null
  builds: XmlBuild[]
  csvlks: XmlCsvlk[]
  apps: XmlApp[]
  /** things the reader tolerated (quirks), one line each */
  notes: string[]
}

type XmlNode = Record<string, unknown>

/** Element names that may repeat; the parser gives them as arrays even when there is one. */
const LISTS = new Set(['WinBuild', 'CsvlkItem', 'Activate', 'AppItem', 'KmsItem', 'SkuItem'])

/** The attributes of one element, found by name case-insensitively (the database spells one `DefaultKmsprotocol`). */
class Attrs {
  private readonly byLower = new Map<string, { name: string; value: string }>()

  constructor(
    node: XmlNode,
    readonly where: string,
    private readonly notes: string[]
  ) {
    for (const [k, v] of Object.entries(node)) {
      if (k.startsWith('@') && typeof v === 'string') this.byLower.set(k.slice(1).toLowerCase(), { name: k.slice(1), value: v.trim() })
    }
  }

  /** The value, or undefined when the attribute is absent or empty (the database writes `GroupId=""` for "unknown"). */
  get(name: string): string | undefined {
    const a = this.byLower.get(name.toLowerCase())
    if (a === undefined || a.value === '') return undefined
    if (a.name !== name) this.notes.push(`${this.where}: attribute ${a.name} read as ${name}`)
    return a.value
  }

  required(name: string, example: string): string {
    const v = this.get(name)
    if (v === undefined) throw new ImportError(`${this.where} has no ${name}; add ${name}="${example}"`)
    return v
  }

  guid(name: string): Guid | undefined {
    const v = this.get(name)
    if (v === undefined) return undefined
    const g = normalizeGuid(v)
    if (g === undefined)
      throw new ImportError(
        `${this.where}: ${name}="${v}" is not a GUID; write one like 55c92734-d682-4d71-983e-d6ec3f16059f (braces optional)`
      )
    return g
  }

  requiredGuid(name: string): Guid {
    const g = this.guid(name)
    if (g === undefined) throw new ImportError(`${this.where} has no ${name}; add ${name}="…" with the item's GUID`)
    return g
  }

  int(name: string): number | undefined {
    const v = this.get(name)
    if (v === undefined) return undefined
    if (!/^\d{1,10}$/.test(v) || Number(v) > 0xffffffff)
      throw new ImportError(`${this.where}: ${name}="${v}" is not a whole number; write digits only, e.g. ${name}="206"`)
    return Number(v)
  }

  requiredInt(name: string, example: string): number {
    this.required(name, example)
    return this.int(name)!
  }

  bool(name: string): boolean {
    const v = this.get(name)
    if (v === undefined) return false
    if (/^(true|1)$/i.test(v)) return true
    if (/^(false|0)$/i.test(v)) return false
    throw new ImportError(`${this.where}: ${name}="${v}" is not a boolean; write ${name}="true" or ${name}="false"`)
  }

  date(name: string): string | null {
    const v = this.get(name)
    if (v === undefined) return null
    const m = /^(\d{4}-\d{2}-\d{2})(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/.exec(v)
    if (!m || Number.isNaN(Date.parse(`${m[1]}T00:00:00Z`)) || new Date(`${m[1]}T00:00:00Z`).toISOString().slice(0, 10) !== m[1]) {
      throw new ImportError(`${this.where}: ${name}="${v}" is not a date; write ${name}="2024-11-01T00:00:00Z"`)
    }
    return m[1]!
  }
}

function children(node: XmlNode, name: string): XmlNode[] {
  const v = node[name]
  if (v === undefined) return []
  const list = Array.isArray(v) ? v : [v]
  // `<X/>` and `<X></X>` parse to "", an element with only text to a string: both have no attributes.
  return list.map((x) => (typeof x === 'object' && x !== null ? (x as XmlNode) : {}))
}

function section(root: XmlNode, name: string, item: string): XmlNode[] {
  if (!(name in root))
    throw new ImportError(
      `<KmsData> has no <${name}> section; this does not look like a KmsDataBase.xml (it needs WinBuilds, CsvlkItems and AppItems)`
    )
  const sec = root[name]
  const items = typeof sec === 'object' && sec !== null ? children(sec as XmlNode, item) : []
  if (items.length === 0) throw new ImportError(`<${name}> has no <${item}>; a KmsDataBase.xml lists at least one`)
  return items
}

function label(name: string | undefined): string {
  return name === undefined ? '' : ` "${name}"`
}

const GVLK_RE = /^[0-9A-Z]{5}(-[0-9A-Z]{5}){4}$/
const EPID_RE = /^\d{5}-\d{5}-\d{3}-\d{6}-\d{2}-\d{4,5}-\d{4,5}\.\d{4}-\d{7}$/

function parseInvalidWinBuild(a: Attrs): number[] {
  const v = a.get('InvalidWinBuild')
  if (v === undefined) return []
  const m = /^\[\s*(\d+(\s*,\s*\d+)*)?\s*\]$/.exec(v)
  if (!m) throw new ImportError(`${a.where}: InvalidWinBuild="${v}" is not a list of build indexes; write InvalidWinBuild="[0,1]" or "[]"`)
  return m[1] === undefined ? [] : [...new Set(m[1].split(',').map((x) => Number(x.trim())))].sort((x, y) => x - y)
}

/** Reads the text of a KmsDataBase.xml; throws ImportError (one line: what, where, how to fix) for what it cannot use. */
export function parseKmsDatabase(xml: string): KmsDatabase {
  const text = xml.replace(/^\uFEFF/, '')
  const valid = XMLValidator.validate(text)
  if (valid !== true) {
    const { msg, line, col } = valid.err
    throw new ImportError(
      `not well-formed XML at line ${line}${col === undefined ? '' : `, column ${col}`}: ${msg} — is this a KmsDataBase.xml?`
    )
  }
  const parsed = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@',
    parseAttributeValue: false,
    parseTagValue: false,
    isArray: (name) => LISTS.has(name)
  }).parse(text) as XmlNode
  const rootName = Object.keys(parsed).find((k) => !k.startsWith('?'))
  if (rootName !== 'KmsData')
    throw new ImportError(`the root element is <${rootName ?? 'nothing'}>, not <KmsData>; give the path of a KmsDataBase.xml`)
  const root = (typeof parsed.KmsData === 'object' && parsed.KmsData !== null ? parsed.KmsData : {}) as XmlNode
  const notes: string[] = []
  const rootAttrs = new Attrs(root, '<KmsData>', notes)

  const builds: XmlBuild[] = []
  section(root, 'WinBuilds', 'WinBuild').forEach((node, i) => {
    const pre = new Attrs(node, `WinBuilds/WinBuild[${i + 1}]`, notes)
    const name = pre.get('DisplayName')
    const a = new Attrs(node, `WinBuilds/WinBuild[${i + 1}]${label(name)}`, notes)
    const b: XmlBuild = {
      buildNumber: a.requiredInt('BuildNumber', '26100'),
      displayName: a.required('DisplayName', 'Windows 11 24H2 / Windows Server 2025'),
      platformId: a.requiredInt('PlatformId', '3612'),
      releaseDateUtc: a.date('ReleaseDate'),
      useForEpid: a.bool('UseForEpid'),
      mayBeServer: a.bool('MayBeServer'),
      usesNdr64: a.bool('UsesNDR64')
    }
    if (builds.some((x) => x.buildNumber === b.buildNumber))
      throw new ImportError(`${a.where}: build ${b.buildNumber} is listed twice in <WinBuilds>; remove one`)
    builds.push(b)
  })
  const epidBuildCount = builds.filter((b) => b.useForEpid).length

  const csvlks: XmlCsvlk[] = []
  section(root, 'CsvlkItems', 'CsvlkItem').forEach((node, i) => {
    const name = new Attrs(node, '', notes).get('DisplayName')
    const a = new Attrs(node, `CsvlkItems/CsvlkItem[${i + 1}]${label(name)}`, notes)
    const activates: Guid[] = []
    children(node, 'Activate').forEach((act, j) => {
      const g = new Attrs(act, `${a.where}/Activate[${j + 1}]`, notes).requiredGuid('KmsItem')
      if (!activates.includes(g)) activates.push(g)
    })
    const c: XmlCsvlk = {
      id: a.guid('Id') ?? null,
      name: a.required('DisplayName', 'Windows Server 2025'),
      alsoKnownAs: [],
      groupId: a.int('GroupId') ?? null,
      minKeyId: a.int('MinKeyId') ?? null,
      maxKeyId: a.int('MaxKeyId') ?? null,
      releaseDateUtc: a.date('ReleaseDate'),
      isLab: a.bool('IsLab'),
      isPreview: a.bool('IsPreview'),
      iniName: a.get('IniFileName') ?? null,
      vlmcsdIndex: a.int('VlmcsdIndex') ?? null,
      epid: a.get('EPid') ?? null,
      activates,
      invalidWinBuild: parseInvalidWinBuild(a)
    }
    if (c.id === null) notes.push(`${a.where} has no Id; kept as a placeholder that no ePID can name`)
    if (c.minKeyId !== null && c.maxKeyId !== null && c.minKeyId > c.maxKeyId)
      throw new ImportError(`${a.where}: MinKeyId ${c.minKeyId} is above MaxKeyId ${c.maxKeyId}; swap them`)
    if (c.epid !== null && !EPID_RE.test(c.epid))
      throw new ImportError(
        `${a.where}: EPid="${c.epid}" is not an ePID; write one like 03612-00206-568-381813-03-1033-14393.0000-2702018 or leave it out`
      )
    const bad = c.invalidWinBuild.find((x) => x >= epidBuildCount)
    if (bad !== undefined)
      throw new ImportError(
        `${a.where}: InvalidWinBuild index ${bad} is out of range; <WinBuilds> has ${epidBuildCount} builds with UseForEpid="true" (indexes 0–${epidBuildCount - 1})`
      )
    const twin = c.id === null ? undefined : csvlks.find((x) => x.id === c.id)
    if (twin !== undefined) {
      const same =
        twin.groupId === c.groupId &&
        twin.minKeyId === c.minKeyId &&
        twin.maxKeyId === c.maxKeyId &&
        JSON.stringify([...twin.activates].sort()) === JSON.stringify([...c.activates].sort())
      if (!same)
        throw new ImportError(
          `${a.where}: Id ${c.id} is already used by CsvlkItem "${twin.name}" with a different group, key range or Activate list; give each key its own Id`
        )
      twin.alsoKnownAs.push(c.name)
      notes.push(`${a.where}: same Id, group, range and KMS IDs as "${twin.name}"; merged as another name of it`)
      return
    }
    csvlks.push(c)
  })

  const apps: XmlApp[] = []
  const kmsSeen = new Map<Guid, string>()
  const skuSeen = new Map<Guid, string>()
  section(root, 'AppItems', 'AppItem').forEach((node, i) => {
    const name = new Attrs(node, '', notes).get('DisplayName')
    const a = new Attrs(node, `AppItems/AppItem[${i + 1}]${label(name)}`, notes)
    const app: XmlApp = {
      id: a.requiredGuid('Id'),
      name: a.required('DisplayName', 'Windows'),
      vlmcsdIndex: a.int('VlmcsdIndex') ?? 0,
      minActiveClients: a.int('MinActiveClients') ?? 0,
      kmsItems: []
    }
    if (apps.some((x) => x.id === app.id))
      throw new ImportError(`${a.where}: Id ${app.id} is used by another AppItem; each application is listed once`)
    children(node, 'KmsItem').forEach((kNode, j) => {
      const kName = new Attrs(kNode, '', notes).get('DisplayName')
      const k = new Attrs(kNode, `${a.where}/KmsItem[${j + 1}]${label(kName)}`, notes)
      const protocolText = k.get('DefaultKmsProtocol') ?? '6.0'
      const protocolMatch = /^([456])(\.0)?$/.exec(protocolText)
      if (!protocolMatch)
        throw new ImportError(`${k.where}: DefaultKmsProtocol="${protocolText}" is not a KMS protocol; write "4.0", "5.0" or "6.0"`)
      const item: XmlKmsItem = {
        id: k.requiredGuid('Id'),
        name: k.required('DisplayName', 'Windows Server 2025'),
        isRetail: k.bool('IsRetail'),
        isPreview: k.bool('IsPreview'),
        protocol: Number(protocolMatch[1]) as KmsProtocolVersion,
        nCountPolicy: k.int('NCountPolicy') ?? 25,
        skus: []
      }
      const dup = kmsSeen.get(item.id)
      if (dup !== undefined)
        throw new ImportError(`${k.where}: Id ${item.id} is already the KmsItem at ${dup}; each KMS counted ID is listed once`)
      kmsSeen.set(item.id, k.where)
      children(kNode, 'SkuItem').forEach((sNode, n) => {
        const sName = new Attrs(sNode, '', notes).get('DisplayName')
        const s = new Attrs(sNode, `${k.where}/SkuItem[${n + 1}]${label(sName)}`, notes)
        const gvlk = s.get('Gvlk')?.toUpperCase() ?? null
        if (gvlk !== null && !GVLK_RE.test(gvlk))
          throw new ImportError(
            `${s.where}: Gvlk="${gvlk}" is not a product key; write five groups of five characters, e.g. W269N-WFGWX-YVC9B-4J6C9-T83GX, or leave it out`
          )
        const sku: XmlSku = {
          id: s.requiredGuid('Id'),
          name: s.required('DisplayName', 'Windows 11 Pro'),
          gvlk,
          gvlkIsGenerated: s.bool('IsGeneratedGvlk')
        }
        const dupSku = skuSeen.get(sku.id)
        if (dupSku !== undefined)
          throw new ImportError(`${s.where}: Id ${sku.id} is already the SkuItem at ${dupSku}; each SKU is listed once`)
        skuSeen.set(sku.id, s.where)
        item.skus.push(sku)
      })
      app.kmsItems.push(item)
    })
    apps.push(app)
  })
  return { version: rootAttrs.get('Version') ?? null, author: rootAttrs.get('Author') ?? null, builds, csvlks, apps, notes }
}

// ── merging into the catalog ─────────────────────────────────────────────────────────────────────────────────

/** The older data (`src-main/data/products.json`, vlmcsd's table). */
export interface LegacyData {
  applications: Application[]
  csvlkGroups: CsvlkGroup[]
  hostBuilds: HostBuild[]
  kmsCountedIds: Omit<KmsCountedId, 'aliases' | 'source'>[]
  skus: Omit<Sku, 'gvlk' | 'gvlkIsGenerated' | 'aliases' | 'source'>[]
}

/** `src-main/data/catalog-aliases.json`: extra names per SKU GUID. */
export interface AliasFile {
  skus: Record<string, string[]>
  /** KMS IDs a key also activates, where the database names one it does not define (by CSVLK ID) */
  csvlkActivates?: Record<string, string[]>
}

export interface CatalogFile extends CatalogData {
  _source: Record<string, string>
}

export interface BuildResult {
  catalog: CatalogFile
  notes: string[]
}

function readJson<T>(file: string, what: string): T {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    throw new ImportError(`cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`)
  }
  try {
    return JSON.parse(text) as T
  } catch (e) {
    throw new ImportError(`${what} ${file} is not JSON (${(e as Error).message}); restore it from git`)
  }
}

export function readLegacy(file = DEFAULT_LEGACY): LegacyData {
  const d = readJson<LegacyData>(file, 'legacy data')
  for (const k of ['applications', 'csvlkGroups', 'hostBuilds', 'kmsCountedIds', 'skus'] as const) {
    if (!Array.isArray(d[k])) throw new ImportError(`legacy data ${file} has no ${k} list; restore it from git`)
  }
  return d
}

export function readAliases(file = DEFAULT_ALIASES): AliasFile {
  const d = readJson<AliasFile>(file, 'alias file')
  if (typeof d.skus !== 'object' || d.skus === null) throw new ImportError(`alias file ${file} has no "skus" object; restore it from git`)
  return d
}

function uniqueNames(primary: string, names: readonly string[]): string[] {
  const seen = new Set([primary.toLowerCase()])
  const out: string[] = []
  for (const n of names) {
    const t = n.trim()
    if (t !== '' && !seen.has(t.toLowerCase())) {
      seen.add(t.toLowerCase())
      out.push(t)
    }
  }
  return out
}

/** "Windows 10/11 Pro" → "Windows 10 Pro", "Windows 11 Pro": Windows 10 and 11 share SKU and KMS IDs. */
function windows11Names(name: string): string[] {
  const m = /^Windows 10\/11 (.+)$/.exec(name)
  return m ? [`Windows 10 ${m[1]}`, `Windows 11 ${m[1]}`] : []
}

/** The Windows application ID: its keys split into server and client lines. */
const WINDOWS_APP_ID = '55c92734-d682-4d71-983e-d6ec3f16059f'

const PREVIEW_NAME = /\b(preview|pre-release|beta)\b/i

/** Merges the database with the older data into the catalog. Pure: the same inputs give the same catalog. */
export function buildCatalog(db: KmsDatabase, legacy: LegacyData, aliasFile: AliasFile, source: { sha256: string }): BuildResult {
  const notes = [...db.notes]

  // applications: the older entries (their short names are what code and users search by), new ones from the XML
  const applications: Application[] = []
  for (const app of [...db.apps].sort((x, y) => x.vlmcsdIndex - y.vlmcsdIndex || x.id.localeCompare(y.id))) {
    const old = legacy.applications.find((a) => a.guid === app.id)
    applications.push(
      old
        ? { ...old, displayName: app.name }
        : { guid: app.id, name: app.name, maxClientListSize: app.minActiveClients, csvlkIndex: app.vlmcsdIndex, displayName: app.name }
    )
  }
  for (const old of legacy.applications) if (!applications.some((a) => a.guid === old.guid)) applications.push({ ...old })
  const appName = (id: Guid): string => applications.find((a) => a.guid === id)?.name ?? id

  // Windows builds: every build of the database (newest first), the older flags checked against it; the host
  // builds are those of them that ePIDs use (UseForEpid), as in products.json.
  const windowsBuilds: HostBuild[] = []
  for (const b of db.builds) {
    const old = legacy.hostBuilds.find((h) => h.buildNumber === b.buildNumber)
    const releaseDateUtc = b.releaseDateUtc ?? old?.releaseDateUtc
    if (releaseDateUtc === undefined) {
      notes.push(`WinBuild ${b.buildNumber} "${b.displayName}" has no ReleaseDate; left out (ePIDs need the date)`)
      continue
    }
    const flags = { useNdr64: b.usesNdr64, useForEpid: b.useForEpid, mayBeServer: b.mayBeServer }
    if (old && (old.platformId !== b.platformId || JSON.stringify(old.flags) !== JSON.stringify(flags))) {
      notes.push(`WinBuild ${b.buildNumber}: platform ID or flags differ from products.json; the database's are used`)
    }
    windowsBuilds.push({
      index: 0,
      displayName: b.displayName,
      buildNumber: b.buildNumber,
      platformId: b.platformId,
      releaseDateUtc,
      flags,
      source: 'kms-database'
    })
  }
  for (const old of legacy.hostBuilds)
    if (!windowsBuilds.some((h) => h.buildNumber === old.buildNumber)) windowsBuilds.push({ ...old, source: 'legacy' })
  windowsBuilds.sort((x, y) => y.buildNumber - x.buildNumber).forEach((b, i) => (b.index = i))
  const hostBuilds = windowsBuilds.filter((b) => b.flags.useForEpid).map((b, index) => ({ ...b, index }))

  // InvalidWinBuild indexes count the database's ePID host builds (UseForEpid) in file order: read as all builds,
  // the Windows Server 2019 key could run on Windows 2000 but not on Server 2012 R2, which Microsoft documents.
  const epidBuilds = db.builds.filter((b) => b.useForEpid).map((b) => b.buildNumber)
  const csvlks: Csvlk[] = db.csvlks.map((c) => ({
    id: c.id,
    name: c.name,
    alsoKnownAs: c.alsoKnownAs,
    groupId: c.groupId,
    minKeyId: c.minKeyId,
    maxKeyId: c.maxKeyId,
    releaseDateUtc: c.releaseDateUtc,
    isLab: c.isLab,
    isPreview: c.isPreview,
    iniName: c.iniName,
    epid: c.epid,
    activates: c.activates,
    covers: [],
    invalidWinBuild: c.invalidWinBuild,
    hostBuilds: epidBuilds.filter((_, i) => !c.invalidWinBuild.includes(i)).sort((x, y) => y - x)
  }))

  // KMS counted IDs: the older ones in their order (names, CSVLK group kept), then the database's new ones
  const groupNames = new Set(legacy.csvlkGroups.map((g) => g.iniName))
  const groupFor = (kmsId: Guid, app: XmlApp): string => {
    const named = csvlks.find(
      (c) => !c.isLab && !c.isPreview && c.activates.includes(kmsId) && c.iniName !== null && groupNames.has(c.iniName)
    )
    if (named?.iniName) return named.iniName
    const appGroup = legacy.csvlkGroups.find((g) => g.index === app.vlmcsdIndex) ?? legacy.csvlkGroups.find((g) => g.index === 0)
    return appGroup?.iniName ?? 'Windows'
  }
  const xmlKms = db.apps.flatMap((app) => app.kmsItems.map((k) => ({ app, k })))
  const kmsCountedIds: KmsCountedId[] = []
  for (const old of [...legacy.kmsCountedIds].sort((x, y) => x.index - y.index)) {
    const found = xmlKms.find((x) => x.k.id === old.guid)
    if (!found) {
      kmsCountedIds.push({ ...old, aliases: [], source: 'legacy' })
      continue
    }
    const { app, k } = found
    const merged: KmsCountedId = {
      ...old,
      application: appName(app.id),
      applicationId: app.id,
      requiredClientCount: k.nCountPolicy,
      defaultProtocolVersion: k.protocol,
      isRetail: k.isRetail,
      isPreview: k.isPreview,
      aliases: uniqueNames(old.name, [k.name]),
      source: 'kms-database'
    }
    for (const f of ['requiredClientCount', 'defaultProtocolVersion', 'isRetail', 'isPreview', 'applicationId'] as const) {
      if (merged[f] !== old[f])
        notes.push(`KMS ID ${old.guid} "${old.name}": ${f} ${String(old[f])} in products.json, ${String(merged[f])} in the database (used)`)
    }
    kmsCountedIds.push(merged)
  }
  const appOrder = (id: Guid): number => applications.findIndex((a) => a.guid === id)
  const fresh = xmlKms
    .filter((x) => !legacy.kmsCountedIds.some((o) => o.guid === x.k.id))
    .sort((x, y) => appOrder(x.app.id) - appOrder(y.app.id) || x.k.name.localeCompare(y.k.name) || x.k.id.localeCompare(y.k.id))
  for (const { app, k } of fresh) {
    kmsCountedIds.push({
      index: kmsCountedIds.length,
      guid: k.id,
      name: k.name,
      application: appName(app.id),
      applicationId: app.id,
      requiredClientCount: k.nCountPolicy,
      defaultProtocolVersion: k.protocol,
      isRetail: k.isRetail,
      isPreview: k.isPreview,
      csvlk: groupFor(k.id, app),
      aliases: [],
      source: 'kms-database'
    })
  }
  kmsCountedIds.forEach((k, i) => (k.index = i))
  const kmsById = new Map(kmsCountedIds.map((k) => [k.guid, k]))
  for (const c of csvlks) {
    for (const k of c.activates)
      if (!kmsById.has(k))
        notes.push(`CsvlkItem "${c.name}" activates KMS ID ${k}, which neither the database nor products.json defines (kept in its list)`)
  }

  // Coverage (docs/product-catalog.md, "Which host keys cover what"): the database lists, per key, the KMS IDs that
  // key added; a host with a newer key also serves what the older keys of its line served. Lines: per application;
  // Windows keys split into server keys (a Windows Server host serves servers and clients) and client keys (a
  // Windows client host serves clients only), and the China Government key stands alone. Retail and preview KMS
  // IDs are never served. The hand-kept file may add KMS IDs to a key where the database names one it does not define.
  const kmsAppOf = (kmsId: Guid): Guid | undefined => kmsById.get(kmsId)?.applicationId
  const extraActivates = (c: Csvlk): Guid[] => (c.id === null ? [] : (aliasFile.csvlkActivates?.[c.id] ?? []))
  const lineOf = (c: Csvlk): string => {
    const app = [...c.activates, ...extraActivates(c)].map(kmsAppOf).find((a) => a !== undefined) ?? 'unknown'
    const kind = /china government/i.test(c.name) ? 'china-gov' : /server/i.test(c.name) ? 'server' : 'client'
    return app === WINDOWS_APP_ID ? `windows-${kind}` : app
  }
  const servable = (kmsId: Guid): boolean => {
    const k = kmsById.get(kmsId)
    return k !== undefined && !k.isRetail && !k.isPreview
  }
  // by release date; where a key has none, by the database's order, which lists every line newest first (so
  // between lines, an undated key inherits nothing)
  const olderOrSame = (older: Csvlk, newer: Csvlk, sameLine: boolean): boolean =>
    older.releaseDateUtc !== null && newer.releaseDateUtc !== null
      ? older.releaseDateUtc <= newer.releaseDateUtc
      : sameLine && csvlks.indexOf(older) > csvlks.indexOf(newer)
  for (const c of csvlks) {
    const line = lineOf(c)
    const inherits = (other: Csvlk): boolean =>
      other !== c &&
      !other.isLab &&
      !other.isPreview &&
      (lineOf(other) === line
        ? olderOrSame(other, c, true)
        : line === 'windows-server' && lineOf(other) === 'windows-client' && olderOrSame(other, c, false))
    const covered = new Set<Guid>([...c.activates, ...extraActivates(c)].filter(servable))
    for (const other of csvlks)
      if (inherits(other)) for (const k of [...other.activates, ...extraActivates(other)]) if (servable(k)) covered.add(k)
    c.covers = kmsCountedIds.filter((k) => covered.has(k.guid)).map((k) => k.guid)
  }

  // SKUs: the older ones in vlmcs list order (names kept), then the database's new ones
  const xmlSkus = xmlKms.flatMap(({ k }) => k.skus.map((s) => ({ kmsId: k.id, s })))
  const aliasesFor = (guid: Guid, name: string, xmlName: string | undefined): string[] =>
    uniqueNames(name, [
      ...(xmlName === undefined ? [] : [xmlName]),
      ...windows11Names(name),
      ...windows11Names(xmlName ?? ''),
      ...(aliasFile.skus[guid] ?? [])
    ])
  const skuFrom = (
    base: { guid: Guid; name: string; vlmcsListNumber: number | null; isRetail: boolean; isPreview: boolean },
    kmsId: Guid,
    xml: XmlSku | undefined
  ): Sku => {
    const k = kmsById.get(kmsId)
    if (!k)
      throw new ImportError(
        `SKU ${base.guid} "${base.name}" activates against KMS ID ${kmsId}, which neither the database nor products.json defines`
      )
    return {
      vlmcsListNumber: base.vlmcsListNumber,
      guid: base.guid,
      name: base.name,
      application: k.application,
      kmsCountedId: k.guid,
      kmsCountedName: k.name,
      protocolVersion: k.defaultProtocolVersion,
      requiredClientCount: k.requiredClientCount,
      isRetail: base.isRetail || k.isRetail,
      isPreview: base.isPreview || k.isPreview || PREVIEW_NAME.test(xml?.name ?? ''),
      gvlk: xml?.gvlk ?? null,
      gvlkIsGenerated: xml?.gvlkIsGenerated ?? false,
      aliases: aliasesFor(base.guid, base.name, xml?.name),
      source: xml ? 'kms-database' : 'legacy'
    }
  }
  const skus: Sku[] = []
  for (const old of [...legacy.skus].sort((x, y) => (x.vlmcsListNumber ?? Infinity) - (y.vlmcsListNumber ?? Infinity))) {
    const found = xmlSkus.find((x) => x.s.id === old.guid)
    if (found && found.kmsId !== old.kmsCountedId) {
      notes.push(`SKU ${old.guid} "${old.name}": KMS ID ${old.kmsCountedId} in products.json, ${found.kmsId} in the database (used)`)
    }
    skus.push(skuFrom(old, found?.kmsId ?? old.kmsCountedId, found?.s))
  }
  const kmsOrder = (id: Guid): number => kmsById.get(id)?.index ?? Infinity
  const newSkus = xmlSkus
    .filter((x) => !legacy.skus.some((o) => o.guid === x.s.id))
    .sort((x, y) => kmsOrder(x.kmsId) - kmsOrder(y.kmsId) || x.s.name.localeCompare(y.s.name) || x.s.id.localeCompare(y.s.id))
  for (const { kmsId, s } of newSkus)
    skus.push(skuFrom({ guid: s.id, name: s.name, vlmcsListNumber: null, isRetail: false, isPreview: false }, kmsId, s))
  for (const guid of Object.keys(aliasFile.skus))
    if (!skus.some((s) => s.guid === guid)) notes.push(`catalog-aliases.json names SKU ${guid}, which the catalog does not have`)

  const catalog: CatalogFile = {
    _source: {
      what: 'KMS product catalog: applications, KMS counted IDs, SKUs with GVLKs, host keys (CSVLKs) with the KMS IDs they activate, vlmcsd CSVLK groups, host builds.',
      origin: `Imported by scripts/catalog-import.ts from the KmsDataBase.xml with sha256 ${source.sha256} (py-kms project, public domain${db.author ? `; data by ${db.author}` : ''}; the copy in test/fixtures/catalog has ORIGIN.md), merged with src-main/data/products.json (vlmcsd's table: kept names, vlmcs list numbers, CSVLK groups, and the entries marked source "legacy") and src-main/data/catalog-aliases.json.`,
      refresh: 'npm run catalog:import -- test/fixtures/catalog/KmsDataBase.xml (or a newer KmsDataBase.xml); do not edit by hand.'
    },
    applications,
    csvlkGroups: legacy.csvlkGroups.map((g) => ({ ...g })),
    hostBuilds,
    kmsCountedIds,
    skus,
    csvlks,
    windowsBuilds
  }
  return { catalog, notes }
}

export function serializeCatalog(c: CatalogFile): string {
  return `${JSON.stringify(c, null, 2)}\n`
}

// ── what changed ─────────────────────────────────────────────────────────────────────────────────────────────

export interface ListDiff {
  added: string[]
  removed: string[]
  changed: string[]
  count: number
}

export interface CatalogDiff {
  skus: ListDiff
  kmsCountedIds: ListDiff
  csvlks: ListDiff
  windowsBuilds: ListDiff
  /** anything at all differs, including the header and other tables */
  differs: boolean
}

function diffList<T>(before: readonly T[], after: readonly T[], key: (x: T) => string, show: (x: T) => string): ListDiff {
  const old = new Map(before.map((x) => [key(x), x]))
  const now = new Map(after.map((x) => [key(x), x]))
  return {
    added: after.filter((x) => !old.has(key(x))).map(show),
    removed: before.filter((x) => !now.has(key(x))).map(show),
    changed: after.filter((x) => old.has(key(x)) && JSON.stringify(old.get(key(x))) !== JSON.stringify(x)).map(show),
    count: after.length
  }
}

export function diffCatalogs(before: Partial<CatalogFile> | undefined, after: CatalogFile): CatalogDiff {
  const b = before ?? {}
  const csvlkKey = (c: Csvlk): string => c.id ?? `name:${c.name}`
  return {
    skus: diffList(
      b.skus ?? [],
      after.skus,
      (s) => s.guid,
      (s) => `${s.name} (${s.guid})`
    ),
    kmsCountedIds: diffList(
      b.kmsCountedIds ?? [],
      after.kmsCountedIds,
      (k) => k.guid,
      (k) => `${k.name} (${k.guid})`
    ),
    csvlks: diffList(b.csvlks ?? [], after.csvlks, csvlkKey, (c) => `${c.name} (${c.id ?? 'no Id'})`),
    windowsBuilds: diffList(
      b.windowsBuilds ?? [],
      after.windowsBuilds,
      (h) => String(h.buildNumber),
      (h) => `${h.buildNumber} ${h.displayName}${h.flags.useForEpid ? ' (host build for ePIDs)' : ''}`
    ),
    differs: before === undefined || serializeCatalog(before as CatalogFile) !== serializeCatalog(after)
  }
}

export function formatDiff(d: CatalogDiff): string {
  const lines: string[] = []
  const parts: [string, ListDiff][] = [
    ['SKUs', d.skus],
    ['KMS IDs', d.kmsCountedIds],
    ['CSVLKs', d.csvlks],
    ['builds', d.windowsBuilds]
  ]
  lines.push(parts.map(([n, l]) => `${l.count} ${n} (+${l.added.length} -${l.removed.length} ~${l.changed.length})`).join(', '))
  for (const [n, l] of parts) {
    for (const x of l.added) lines.push(`  + ${n.replace(/s$/, '')} ${x}`)
    for (const x of l.removed) lines.push(`  - ${n.replace(/s$/, '')} ${x}`)
    for (const x of l.changed.slice(0, 20)) lines.push(`  ~ ${n.replace(/s$/, '')} ${x}`)
    if (l.changed.length > 20) lines.push(`  ~ … and ${l.changed.length - 20} more ${n} changed`)
  }
  return `${lines.join('\n')}\n`
}

// ── command line ─────────────────────────────────────────────────────────────────────────────────────────────

export interface ImportIo {
  stdout: (s: string) => void
  stderr: (s: string) => void
}

const USAGE = 'usage: npm run catalog:import -- PATH/TO/KmsDataBase.xml [--check] [--out FILE] [--legacy FILE] [--aliases FILE]'

/** Runs the importer; returns the exit code (0 done / up to date, 1 --check found changes, 2 bad input or usage). */
export function runImport(argv: readonly string[], io: ImportIo): number {
  try {
    const opts = { check: false, out: DEFAULT_OUT, legacy: DEFAULT_LEGACY, aliases: DEFAULT_ALIASES }
    const files: string[] = []
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i]!
      if (arg === '--check') opts.check = true
      else if (arg === '--out' || arg === '--legacy' || arg === '--aliases') {
        const v = argv[++i]
        if (v === undefined) throw new ImportError(`${arg} needs a file; ${USAGE}`)
        opts[arg.slice(2) as 'out' | 'legacy' | 'aliases'] = path.resolve(v)
      } else if (arg.startsWith('-')) throw new ImportError(`unknown option ${arg}; ${USAGE}`)
      else files.push(arg)
    }
    if (files.length !== 1) throw new ImportError(files.length === 0 ? `no input file; ${USAGE}` : `one input file only; ${USAGE}`)
    const input = path.resolve(files[0]!)
    let bytes: Buffer
    try {
      bytes = readFileSync(input)
    } catch (e) {
      throw new ImportError(`cannot read ${input}: ${(e as NodeJS.ErrnoException).code ?? String(e)}; give the path of a KmsDataBase.xml`)
    }
    let db: KmsDatabase
    try {
      db = parseKmsDatabase(bytes.toString('utf8'))
    } catch (e) {
      if (e instanceof ImportError) throw new ImportError(`${path.basename(input)}: ${e.message}`)
      throw e
    }
    const { catalog, notes } = buildCatalog(db, readLegacy(opts.legacy), readAliases(opts.aliases), {
      sha256: createHash('sha256').update(bytes).digest('hex')
    })
    let before: CatalogFile | undefined
    try {
      before = JSON.parse(readFileSync(opts.out, 'utf8')) as CatalogFile
    } catch {
      before = undefined
    }
    for (const n of notes) io.stderr(`note: ${n}\n`)
    const diff = diffCatalogs(before, catalog)
    io.stdout(formatDiff(diff))
    if (opts.check) {
      io.stdout(diff.differs ? `${opts.out} is out of date: run npm run catalog:import -- ${files[0]}\n` : `${opts.out} is up to date\n`)
      return diff.differs ? 1 : 0
    }
    if (diff.differs) writeFileSync(opts.out, serializeCatalog(catalog))
    io.stdout(diff.differs ? `wrote ${opts.out}\n` : `${opts.out} unchanged\n`)
    return 0
  } catch (e) {
    // Only our own, explained errors are expected; anything else still ends in one line (no stack trace).
    const msg = e instanceof Error ? e.message : String(e)
    io.stderr(`catalog-import: ${e instanceof ImportError ? msg : `unexpected error: ${msg}`}\n`)
    return 2
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exitCode = runImport(process.argv.slice(2), { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) })
}
