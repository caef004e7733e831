// Packs the kms-scout CLI for npm: a package of its own, generated from the root package.json, so that it holds
// exactly the built CLI (out/main/cli.js, the lab-host worker and their shared chunks, in which the product data
// is bundled), its launcher and the docs it cites — no Electron shell, no renderer — and its install brings only
// the root's runtime `dependencies`. The root package stays private: it is the desktop app's build, not a
// package (docs/release.md, "The CLI on npm"). Build first (`npm run build`).
//
//   node scripts/pack-cli.js [--destination DIR]     prints the path of the .tgz it wrote (default DIR: dist/)
import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const { values } = parseArgs({ options: { destination: { type: 'string', default: join(root, 'dist') } } })
const destination = resolve(values.destination)
const staging = join(root, 'out/npm-cli')

const built = join(root, 'out/main/cli.js')
if (!existsSync(built)) {
  process.stderr.write('pack-cli: the CLI is not built (out/main/cli.js is missing)\n  run `npm run build` first\n')
  process.exit(1)
}

const chunks = readdirSync(join(root, 'out/main/chunks'))
  .filter((name) => name.endsWith('.js'))
  .map((name) => `out/main/chunks/${name}`)
/** Everything the package holds besides package.json, at the same paths as in the repo (bin/ imports ../out/main). */
const FILES = [
  'bin/kms-scout.js',
  'out/main/cli.js',
  'out/main/lab-host-worker.js',
  ...chunks,
  'README.md',
  'CHANGELOG.md',
  'docs/lab-host.md'
]

const app = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const manifest = {
  name: app.name,
  version: app.version,
  description: 'The KMS Scout command line: find, query and test Microsoft KMS activation hosts, and run a lab KMS host.',
  homepage: app.homepage,
  author: app.author,
  license: app.license,
  type: 'module',
  bin: { 'kms-scout': 'bin/kms-scout.js' },
  engines: app.engines,
  dependencies: app.dependencies,
  files: [...FILES, 'npm-shrinkwrap.json']
}

rmSync(staging, { recursive: true, force: true })
for (const file of FILES) {
  mkdirSync(dirname(join(staging, file)), { recursive: true })
  copyFileSync(join(root, file), join(staging, file))
}
writeFileSync(join(staging, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`)
writeFileSync(join(staging, 'npm-shrinkwrap.json'), `${JSON.stringify(runtimeShrinkwrap(), null, 2)}\n`)
mkdirSync(destination, { recursive: true })

// Under `npm run`, npm's own script is run with this Node (no shell, so no quoting of the destination: on Windows
// `npm` is npm.cmd, which only a shell could start).
const npmCli = process.env.npm_execpath
const [command, ...prefix] = npmCli ? [process.execPath, npmCli] : ['npm']
const output = execFileSync(command, [...prefix, 'pack', '--json', '--ignore-scripts', '--pack-destination', destination], {
  cwd: staging,
  encoding: 'utf8'
})
const [packed] = JSON.parse(output)
process.stdout.write(`${join(destination, packed.filename)}\n`)

/**
 * The runtime part of the root lock file (every package not marked dev) as the package's npm-shrinkwrap.json: an
 * install gets exactly the versions the tests ran with, and needs no registry metadata — with the tarballs in npm's
 * cache it installs offline.
 */
function runtimeShrinkwrap() {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'))
  const { name, version, license, bin, engines, dependencies } = manifest
  const packages = { '': { name, version, license, dependencies, bin, engines } }
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path !== '' && entry.dev !== true && entry.devOptional !== true) packages[path] = entry
  }
  return { name, version, lockfileVersion: 3, requires: true, packages }
}
