// `npm run bench`: runs every benchmark in bench/ (or the ones named: `npm run bench -- protocol`)
// one after another with tsx, so their numbers don't compete for the two cores. Everything from the first
// argument starting with `-` goes to the benchmarks: `npm run bench:host -- --seconds 10 --workers 2`.
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'

const args = process.argv.slice(2)
const firstOption = args.findIndex((arg) => arg.startsWith('-'))
const wanted = firstOption === -1 ? args : args.slice(0, firstOption)
const passed = firstOption === -1 ? [] : args.slice(firstOption)
const all = readdirSync('bench')
  .filter((name) => name.endsWith('.ts') && !name.startsWith('_'))
  .map((name) => name.slice(0, -3))
  .sort()
const selected = wanted.length > 0 ? all.filter((name) => wanted.includes(name)) : all
if (selected.length === 0) {
  console.error(`no benchmark matches ${wanted.join(', ')}; available: ${all.join(', ')}`)
  process.exit(3)
}
let failed = 0
for (const name of selected) {
  console.log(`\n=== bench/${name}.ts ===`)
  const run = spawnSync(process.execPath, ['--import', 'tsx', `bench/${name}.ts`, ...passed], { stdio: 'inherit' })
  if (run.status !== 0) failed += 1
}
process.exit(failed > 0 ? 1 : 0)
