// Checks that the repo stands alone: no code, test, benchmark, script or root config file reads a path outside
// the repository, or cites the team's outside reference documents instead of their rewrites in docs/
// (protocol.md, windows-client.md). Test data lives in test/fixtures/. docs/ itself is not checked: its prose may
// say where material came from.
//
// The rule is about where a path lands, not about any one folder's name: a relative path literal is resolved from
// the file's folder, and a join/resolve of the repo root or of the file's folder with literal pieces is resolved
// too; either one landing outside the repository is a finding. Absolute paths into the workspace are findings.
//
// `node scripts/check-standalone.js [REPO]` (default: this repo). Plain Node, no dependencies.
// Exit 0 when clean, 1 with a file:line list otherwise, 2 when the files cannot be listed.
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, isAbsolute, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(process.argv[2] ?? fileURLToPath(new URL('..', import.meta.url)))
/** this file: its rule table names what it looks for */
const SELF = 'scripts/check-standalone.js'
const DIRS = ['src-main/', 'src-renderer/', 'test/', 'bench/', 'scripts/']
// Config files at the repo root (no README prose, no lockfile: neither is read at build, test or run time).
const ROOT_CONFIG = /^[^/]+\.(?:js|cjs|mjs|ts|cts|mts|json)$/
const SKIP_ROOT = new Set(['package-lock.json'])

/** Names of the outside documents, cited where the code should cite docs/. */
const OUTSIDE_DOCUMENTS = [
  { name: 'PROTOCOL.md §', re: /\bPROTOCOL(?:\.md)?\s*§/ },
  { name: 'windows-kms-client.md', re: /windows-kms-client\.md/ }
]
/** An absolute path into the workspace the repository sits in. */
const WORKSPACE_PATH = /['"`]\/work\//
/** A string literal that is a relative path going up (dot-dot, then optionally a separator and more). */
const UP_PATH = /['"`](\.\.(?:[\\/][^'"`\s]*)?)['"`]/g
/** join(BASE, 'a', '..', …) / resolve(BASE, …) with the repo root or the file's folder as BASE, literal pieces after. */
const JOIN_CALL =
  /\b(?:join|resolve)\(\s*(import\.meta\.dirname|__dirname|root|repoRoot|REPO_ROOT)\s*,\s*((?:['"`][^'"`]*['"`]\s*,?\s*)+)\)/g

function isOutside(target) {
  const rel = relative(root, target)
  return rel === '..' || rel.startsWith('../') || rel.startsWith('..\\') || isAbsolute(rel)
}

/** Paths on this line that land outside the repository, as written. */
function pathsLeavingRepo(file, line) {
  const fileDir = dirname(join(root, file))
  const found = []
  for (const m of line.matchAll(UP_PATH)) {
    if (isOutside(resolve(fileDir, m[1]))) found.push(m[1])
  }
  for (const m of line.matchAll(JOIN_CALL)) {
    const base = m[1] === 'import.meta.dirname' || m[1] === '__dirname' ? fileDir : root
    const pieces = [...m[2].matchAll(/['"`]([^'"`]*)['"`]/g)].map((p) => p[1])
    if (isOutside(resolve(base, ...pieces))) found.push(pieces.join(', '))
  }
  if (WORKSPACE_PATH.test(line)) found.push('an absolute path into the workspace')
  return found
}

function listFiles() {
  // Tracked files plus new ones not yet committed (but not ignored), so the check also works before a commit.
  let out
  try {
    out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe']
    })
  } catch (error) {
    console.error(`check-standalone: cannot list the repo's files with git ls-files: ${String(error.stderr ?? error.message).trim()}`)
    process.exit(2)
  }
  const names = new Set(
    out
      .toString('utf8')
      .split('\0')
      .filter((f) => f !== '')
  )
  return [...names]
    .filter((f) => f !== SELF)
    .filter((f) => DIRS.some((d) => f.startsWith(d)) || (ROOT_CONFIG.test(f) && !SKIP_ROOT.has(f)))
    .sort()
}

const findings = []
let checked = 0
for (const file of listFiles()) {
  const path = join(root, file)
  if (!existsSync(path)) continue // deleted in the working tree
  const bytes = readFileSync(path)
  if (bytes.includes(0)) continue // binary
  checked++
  const lines = bytes.toString('utf8').split('\n')
  lines.forEach((line, i) => {
    const hits = [
      ...pathsLeavingRepo(file, line).map((p) => `leaves the repo: ${p}`),
      ...OUTSIDE_DOCUMENTS.filter((rule) => rule.re.test(line)).map((rule) => `cites ${rule.name}`)
    ]
    if (hits.length > 0) findings.push({ where: `${file}:${i + 1}`, rule: hits.join('; '), text: line.trim() })
  })
}

if (findings.length > 0) {
  console.error(`check-standalone: ${findings.length} reference(s) to material outside the repo:`)
  for (const f of findings) {
    const text = f.text.length > 140 ? `${f.text.slice(0, 137)}...` : f.text
    console.error(`  ${f.where}  [${f.rule}]  ${text}`)
  }
  console.error('Copy data into test/fixtures/ (with a note of its origin) and cite docs/protocol.md or docs/windows-client.md.')
  process.exit(1)
}
console.log(`check-standalone: ${checked} files read, none reads or cites material outside the repo`)
