import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

// `npm run lint:standalone` (scripts/check-standalone.js) run on a scratch git repository. The fixture lines are
// assembled from pieces so that this file does not itself contain a path leaving the repository.
const checker = fileURLToPath(new URL('../scripts/check-standalone.js', import.meta.url))
const UP = '..'
const q = (text: string): string => `'${text}'`

let repo: string

async function put(file: string, text: string): Promise<void> {
  await mkdir(dirname(join(repo, file)), { recursive: true })
  await writeFile(join(repo, file), text)
}

function check(): { status: number | null; output: string } {
  const run = spawnSync(process.execPath, [checker, repo], { encoding: 'utf8' })
  return { status: run.status, output: run.stdout + run.stderr }
}

beforeAll(async () => {
  repo = await mkdtemp(join(tmpdir(), 'kms-scout-standalone-'))
  execFileSync('git', ['init', '-q'], { cwd: repo })
})

afterAll(async () => {
  await rm(repo, { recursive: true, force: true })
})

describe('check-standalone', () => {
  it('passes paths that stay inside the repository', async () => {
    await put(
      'test/inside.ts',
      [`const root = resolve(import.meta.dirname, ${q(UP)})`, `read(${q(`${UP}/fixtures/a.bin`)})`, ''].join('\n')
    )
    await put('src-main/deep/x.ts', `const up = join(__dirname, ${q(UP)}, ${q(UP)}, 'data')\n`)
    expect(check()).toMatchObject({ status: 0 })
  })

  it('reports a relative path, a join from the repo root and an absolute workspace path that leave it', async () => {
    await put('test/relative.ts', `read(${q(`${UP}/${UP}/elsewhere/vectors.bin`)})\n`)
    await put('scripts/joined.ts', ['', `const p = join(root, ${q(UP)}, 'elsewhere')`, ''].join('\n'))
    await put('bench/absolute.ts', `const p = '${'/'}work/elsewhere/x'\n`)
    await put('README.md', `prose may say ${q(`${UP}/${UP}/anything`)}\n`)
    const { status, output } = check()
    expect(status).toBe(1)
    expect(output).toContain('3 reference(s)')
    expect(output).toContain('test/relative.ts:1')
    expect(output).toContain('scripts/joined.ts:2')
    expect(output).toContain('bench/absolute.ts:1')
    expect(output).not.toContain('README.md')
  })

  it('reports a citation of the outside protocol document instead of docs/', async () => {
    await rm(join(repo, 'test/relative.ts'))
    await rm(join(repo, 'scripts/joined.ts'))
    await rm(join(repo, 'bench/absolute.ts'))
    await put('src-main/cite.ts', `// see ${'PROTOCOL'}.md § 4\n`)
    const { status, output } = check()
    expect(status).toBe(1)
    expect(output).toContain('src-main/cite.ts:1')
  })
})
