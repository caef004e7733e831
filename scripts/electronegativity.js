// Security scan of the Electron app with electronegativity, as part of `npm run lint`.
// It scans the *built* main and preload bundles plus the renderer's index.html (for its CSP meta
// tag) together, so the global checks (navigation limits, permission handler, CSP) see the whole
// app. electronegativity cannot parse Svelte output, and it only recognises webPreferences written
// inline in `new BrowserWindow({...})`, which is how src-main/electron/main.ts writes them.
// The scan fails on any high or medium finding, and on any bundle it could not parse (a file it
// skips would otherwise pass silently).
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const inputs = ['out/main', 'out/preload', 'out/renderer/index.html']
for (const input of inputs) {
  if (!existsSync(input)) {
    console.error(`electronegativity: ${input} is missing; run \`npm run build\` first`)
    process.exit(1)
  }
}

const electronVersion = JSON.parse(readFileSync('node_modules/electron/package.json', 'utf8')).version
const work = mkdtempSync(join(tmpdir(), 'kms-scout-electronegativity-'))
try {
  const scanned = join(work, 'app')
  mkdirSync(join(scanned, 'renderer'), { recursive: true })
  cpSync('out/main', join(scanned, 'main'), { recursive: true })
  cpSync('out/preload', join(scanned, 'preload'), { recursive: true })
  cpSync('out/renderer/index.html', join(scanned, 'renderer/index.html'))
  const report = join(work, 'report.csv')
  const run = spawnSync(
    process.execPath,
    ['node_modules/@doyensec/electronegativity/dist/index.js', '-i', scanned, '-o', report, '-r', '-v', 'false', '-e', electronVersion],
    { encoding: 'utf8' }
  )
  const output = `${run.stdout}\n${run.stderr}`
  const parseErrors = output.split('\n').filter((line) => line.startsWith('Error parsing'))
  if (run.status !== 0 || !existsSync(report) || parseErrors.length > 0) {
    console.error('electronegativity could not scan the whole build:')
    console.error(parseErrors.length > 0 ? parseErrors.join('\n') : output)
    process.exit(1)
  }
  const rows = readFileSync(report, 'utf8').trim().split('\n').slice(1).filter(Boolean)
  const serious = rows.filter((row) => /,"?(HIGH|MEDIUM)"?,/i.test(row))
  console.log(`electronegativity: ${rows.length} finding(s), ${serious.length} high/medium`)
  for (const row of rows) console.log(`  ${row}`)
  process.exit(serious.length > 0 ? 1 : 0)
} finally {
  rmSync(work, { recursive: true, force: true })
}
