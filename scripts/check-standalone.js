// Checks that the repo stands alone: no code, test, benchmark, script or root config file reads or cites the
// team's reference material outside the repo (../shared, /work/shared, shared/kms/…, its PROTOCOL.md or its
// research/windows-kms-client.md). Test data lives in test/fixtures/, the cited documents in docs/ (protocol.md,
// windows-client.md). docs/ itself is not checked: its prose may say where material came from.
// Plain Node, no dependencies. Exit 0 when clean, 1 with a file:line list otherwise.
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const SELF = 'scripts/check-standalone.js'
const DIRS = ['src-main/', 'src-renderer/', 'test/', 'bench/', 'scripts/']
// Config files at the repo root (no README prose, no lockfile: neither is read at build, test or run time).
const ROOT_CONFIG = /^[^/]+\.(?:js|cjs|mjs|ts|cts|mts|json)$/
const SKIP_ROOT = new Set(['package-lock.json'])

/** What counts as reading or citing the outside material, with a name for the report. */
const RULES = [
  { name: '../shared', re: /\.\.[\\/]shared\b/ },
  { name: '/work/shared', re: /\/work\/shared\b/ },
  { name: 'shared/kms', re: /\bshared[\\/]kms\b/ },
  { name: "'..', 'shared'", re: /['"`]\.\.['"`]\s*,\s*['"`]shared['"`]/ },
  { name: 'PROTOCOL.md §', re: /\bPROTOCOL(?:\.md)?\s*§/ },
  { name: 'windows-kms-client.md', re: /windows-kms-client\.md/ }
]

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
    const hits = RULES.filter((rule) => rule.re.test(line)).map((rule) => rule.name)
    if (hits.length > 0) findings.push({ where: `${file}:${i + 1}`, rule: hits.join(', '), text: line.trim() })
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
