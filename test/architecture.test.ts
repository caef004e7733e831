import { describe, it, expect } from 'vitest'
import { fileURLToPath } from 'node:url'
import { cruise, type ICruiseOptions, type ICruiseResult } from 'dependency-cruiser'
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options'
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config'

// The layering of src-main (architecture.json → .dependency-cruiser.mjs), run through
// dependency-cruiser's API the way `npm run lint:deps` runs it through the CLI.
const repoRoot = fileURLToPath(new URL('..', import.meta.url))
const configFile = fileURLToPath(new URL('../.dependency-cruiser.mjs', import.meta.url))
const tsConfigFile = fileURLToPath(new URL('../tsconfig.json', import.meta.url))
const fixtureRoot = fileURLToPath(new URL('./fixtures/architecture/', import.meta.url))

/** Cruises `paths` (relative to `baseDir`) with the repo's rule set; returns "rule: from → to" lines. */
async function violations(paths: string[], baseDir: string): Promise<string[]> {
  const options: ICruiseOptions = {
    ...(await extractDepcruiseOptions(configFile)),
    baseDir,
    tsConfig: { fileName: tsConfigFile }
  }
  const { output } = await cruise(paths, options, {}, { tsConfig: extractTSConfig(tsConfigFile) })
  const result = output as ICruiseResult
  return result.summary.violations.map((violation) => `${violation.rule.name}: ${violation.from} → ${violation.to}`)
}

describe('architecture (architecture.json, enforced by dependency-cruiser)', () => {
  it('src-main and src-renderer import only along the allowed arrows', async () => {
    expect(await violations(['src-main', 'src-renderer'], repoRoot)).toEqual([])
  })

  it('reports an import along an arrow that architecture.json does not allow, and exempts type-only imports from cli', async () => {
    // fixtures/architecture/src-main: protocol/x.ts imports a value from storage/y.ts (protocol may
    // import only common and data); cli/z.ts imports only a type from storage/y.ts (allowed for cli).
    expect(await violations(['src-main'], fixtureRoot)).toEqual(['layer-protocol: src-main/protocol/x.ts → src-main/storage/y.ts'])
  })
})
