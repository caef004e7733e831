/**
 * CLI start-up: how long `kms-scout` takes and how much memory it peaks at, each as a ratio to a bare Node start
 * (`node -e 0`) measured in the same run — a monitoring system may run `check` for many hosts every minute.
 *
 *   npm run bench:cli -- [--runs 15]
 *
 * Measured, interleaved run by run: `node -e 0`, `kms-scout --version`, `kms-scout products --json` and
 * `kms-scout query 127.0.0.1:PORT` against a lab host this process serves on loopback. Wall time is the median of
 * the runs; peak RSS comes from separate runs that report `process.resourceUsage().maxRSS` at exit (the reporting
 * hook is loaded into the bare Node start too, so the ratios stay fair). Runs the built CLI (out/main/cli.js, the
 * same file `npx kms-scout` runs): build first with `npm run build`.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { LabHost } from '../src-main/lab-host/lab-host'
import { LAB_HOST_IDENTITY_FILE, loadLabHostIdentity } from '../src-main/lab-host/identity'

const { values } = parseArgs({ options: { runs: { type: 'string', default: '15' } } })
const runs = Number(values.runs)
if (!(runs >= 1 && runs <= 200)) throw new RangeError('--runs: 1–200')

const cli = fileURLToPath(new URL('../bin/kms-scout.js', import.meta.url))
if (!fs.existsSync(fileURLToPath(new URL('../out/main/cli.js', import.meta.url)))) {
  console.error('bench/cli.ts: the CLI is not built\n  run `npm run build` first')
  process.exit(3)
}

/** Loaded with --import into every measured start for the memory runs: prints the peak RSS at exit. */
const REPORT_RSS = `data:text/javascript,process.on('exit',()=>process.stderr.write('\\nmaxrss '+process.resourceUsage().maxRSS+'\\n'))`

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kms-scout-bench-cli-'))
const { identity } = await loadLabHostIdentity({
  file: path.join(dir, LAB_HOST_IDENTITY_FILE),
  random: (n) => randomBytes(n),
  now: () => new Date()
})
const host = new LabHost({ listen: ['127.0.0.1:0'], dbPath: path.join(dir, 'client-log.sqlite'), identity })
const [address] = await host.start()
// the CLI's own config folder (its identity.json, settings), so the run touches nothing of the user's
const env = { ...process.env, KMS_SCOUT_CONFIG_DIR: path.join(dir, 'config') }

const cases: Array<{ label: string; args: string[] }> = [
  { label: 'node -e 0 (bare Node start)', args: ['-e', '0'] },
  { label: 'kms-scout --version', args: [cli, '--version'] },
  { label: 'kms-scout products --json', args: [cli, 'products', '--json'] },
  { label: `kms-scout query ${address!.text}`, args: [cli, 'query', address!.text] }
]

/** One start: wall time in ms, and the peak RSS in KiB when measured. */
function run(args: string[], measureRss: boolean): Promise<{ ms: number; maxRssKiB?: number }> {
  const t0 = performance.now()
  const child = spawn(process.execPath, measureRss ? ['--import', REPORT_RSS, ...args] : args, {
    env,
    stdio: ['ignore', 'ignore', 'pipe']
  })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => {
      const ms = performance.now() - t0
      // query exits 1 here (the new lab host's count is below the product's threshold); anything else is a failure
      if (code !== 0 && code !== 1) {
        reject(new Error(`${args.join(' ')} exited with ${code}: ${stderr.trim()}`))
        return
      }
      const m = /maxrss (\d+)/.exec(stderr)
      resolve({ ms, maxRssKiB: m ? Number(m[1]) : undefined })
    })
  })
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!

const times = cases.map(() => [] as number[])
const rss = cases.map(() => [] as number[])
for (const c of cases) await run(c.args, false) // warm the file cache
for (let i = 0; i < runs; i++) {
  for (const [k, c] of cases.entries()) times[k]!.push((await run(c.args, false)).ms)
  for (const [k, c] of cases.entries()) rss[k]!.push((await run(c.args, true)).maxRssKiB ?? NaN)
}
await host.stop()
fs.rmSync(dir, { recursive: true, force: true })

console.log(
  `CLI start-up — Node ${process.version}, ${os.cpus().length} CPU(s), load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`
)
console.log(`${runs} interleaved runs each, medians; ratios to the bare Node start of the same run`)
console.log('command                                    wall ms  × node  peak RSS MB  × node')
const baseMs = median(times[0]!)
const baseRss = median(rss[0]!)
for (const [k, c] of cases.entries()) {
  const ms = median(times[k]!)
  const kib = median(rss[k]!)
  console.log(
    c.label.padEnd(41) +
      ms.toFixed(0).padStart(8) +
      (ms / baseMs).toFixed(2).padStart(8) +
      (kib / 1024).toFixed(1).padStart(13) +
      (kib / baseRss).toFixed(2).padStart(8)
  )
}
