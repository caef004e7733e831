/**
 * The CLI from npm: `npm run pack:cli` (scripts/pack-cli.js) packs a package holding exactly the built CLI, its
 * launcher and its docs; installed OFFLINE from npm's cache into a temporary folder it brings only the runtime
 * dependencies of the root lock file (no Electron, no build tools), and its `kms-scout` answers --version,
 * products and a query against a lab host on 127.0.0.1. Requires a build (`npm run build`).
 */
import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { useLabHosts } from '../helpers/lab-host-fixture'
import { repoRoot } from '../e2e/bridge-page'

// tar is given the bare file name (cwd = its folder): GNU tar, first on PATH in Git Bash, reads 'C:' as a remote host.
const run = promisify(execFile)
const rootManifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  version: string
  devDependencies: Record<string, string>
}
const rootLock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { dev?: boolean; devOptional?: boolean }>
}
const labHosts = useLabHosts()
let work: string
let tarball: string
let app: string

/** npm itself, run by this Node (under `npm test`/`npx` its path is in npm_execpath; no shell either way). */
function npm(args: string[], cwd: string): Promise<{ stdout: string; stderr: string }> {
  const npmCli = process.env.npm_execpath
  return npmCli ? run(process.execPath, [npmCli, ...args], { cwd }) : run('npm', args, { cwd })
}

beforeAll(async () => {
  if (!existsSync(join(repoRoot, 'out/main/cli.js'))) throw new Error('out/main/cli.js is missing: run `npm run build` first')
  work = await mkdtemp(join(tmpdir(), 'kms-scout-packed-'))
  const packed = await run(process.execPath, [join(repoRoot, 'scripts/pack-cli.js'), '--destination', work], { cwd: repoRoot })
  tarball = packed.stdout.trim()
  // The install an offline jump host does: the package and the lock its own npm-shrinkwrap.json pins, from the cache.
  app = join(work, 'app')
  const shrinkwrap = JSON.parse(
    (await run('tar', ['-xzf', basename(tarball), '-O', 'package/npm-shrinkwrap.json'], { cwd: work, maxBuffer: 1 << 20 })).stdout
  ) as { packages: Record<string, Record<string, unknown>> }
  const { '': self, ...runtime } = shrinkwrap.packages
  const dependency = `file:${tarball}`
  await mkdir(app)
  await writeFile(
    join(app, 'package.json'),
    JSON.stringify({ name: 'jump-host', private: true, dependencies: { 'kms-scout': dependency } })
  )
  await writeFile(
    join(app, 'package-lock.json'),
    JSON.stringify({
      name: 'jump-host',
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: 'jump-host', dependencies: { 'kms-scout': dependency } },
        'node_modules/kms-scout': { ...self, resolved: dependency },
        ...runtime
      }
    })
  )
  await npm(['install', '--offline', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], app)
})

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true })
})

async function kmsScout(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = join(app, 'node_modules/kms-scout/bin/kms-scout.js')
  const env = { ...process.env, KMS_SCOUT_CONFIG_DIR: join(work, 'config') }
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { cwd: app, env })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string }
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr }
  }
}

describe('the CLI from npm', () => {
  it('holds exactly the built CLI, its launcher, the docs and the dependency pins', async () => {
    const listed = (await run('tar', ['-tzf', basename(tarball)], { cwd: work })).stdout.trim().split('\n').sort()
    const chunks = readdirSync(join(repoRoot, 'out/main/chunks')).map((name) => `package/out/main/chunks/${name}`)
    expect(listed).toEqual(
      [
        'package/package.json',
        'package/npm-shrinkwrap.json',
        'package/README.md',
        'package/CHANGELOG.md',
        'package/docs/lab-host.md',
        'package/bin/kms-scout.js',
        'package/out/main/cli.js',
        'package/out/main/lab-host-worker.js',
        ...chunks
      ].sort()
    )
  })

  it('installs offline with only the runtime dependencies of the root lock file', async () => {
    const installed = readdirSync(join(app, 'node_modules'))
      .filter((name) => !name.startsWith('.'))
      .flatMap((name) => (name.startsWith('@') ? readdirSync(join(app, 'node_modules', name)).map((inner) => `${name}/${inner}`) : [name]))
      .sort()
    const runtime = Object.entries(rootLock.packages)
      .filter(([path, entry]) => path.startsWith('node_modules/') && entry.dev !== true && entry.devOptional !== true)
      .map(([path]) => path.slice('node_modules/'.length))
    expect(installed).toEqual(['kms-scout', ...runtime].sort())
    for (const dev of Object.keys(rootManifest.devDependencies)) expect(installed).not.toContain(dev)
    const lock = JSON.parse(await readFile(join(app, 'package-lock.json'), 'utf8')) as { packages: Record<string, unknown> }
    expect(Object.keys(lock.packages).some((path) => path.endsWith('/electron'))).toBe(false)
  })

  it('kms-scout --version prints the version of package.json', async () => {
    expect(await kmsScout(['--version'])).toEqual({ code: 0, stdout: `${rootManifest.version}\n`, stderr: '' })
    if (process.platform !== 'win32') {
      const { stdout } = await run(join(app, 'node_modules/.bin/kms-scout'), ['--version'])
      expect(stdout).toBe(`${rootManifest.version}\n`)
    }
  })

  it('kms-scout products lists the bundled product data', async () => {
    const r = await kmsScout(['products', '--search', 'Windows 10 Professional', '--json'])
    expect(r.code).toBe(0)
    const listing = JSON.parse(r.stdout) as { products: Array<{ name: string }> }
    expect(listing.products.map((p) => p.name)).toContain('Windows 10 Professional')
  })

  it('kms-scout query gets a verified answer from a lab host on 127.0.0.1', async () => {
    const { port } = await labHosts.start({ countMode: { fixed: 50 } })
    const r = await kmsScout(['query', `127.0.0.1:${port}`])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(new RegExp(`^KMS host +127\\.0\\.0\\.1:${port} answered — response verified$`, 'm'))
  })
})
