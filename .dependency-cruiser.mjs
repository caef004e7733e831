// dependency-cruiser configuration: the layering of src-main, enforced.
//
// The allowed arrows between the top-level folders of src-main are written once, as data, in
// architecture.json; every layer rule below is generated from it (scripts/architecture.js prints
// the README picture from the same file). `npm run lint:deps` runs this; test/architecture.test.ts
// runs it through the API and proves on a fixture tree that the rules bite.
import { readFileSync } from 'node:fs'

const architecture = JSON.parse(readFileSync(new URL('./architecture.json', import.meta.url), 'utf8'))

const { root, arrows, typeOnlyAnywhere, renderer } = architecture
const folders = Object.keys(arrows)

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
const anyOf = (names) => `(${names.map(escape).join('|')})`

assertArchitecture()

/** One rule per folder: it may import only itself and its allowed folders. */
const layerRules = folders.map((folder) => {
  const allowed = arrows[folder]
  const typeOnlyExempt = typeOnlyAnywhere.includes(folder)
  return {
    name: `layer-${folder}`,
    comment:
      `${root}/${folder} may import only ${allowed.length ? allowed.join(', ') : 'nothing else in ' + root}` +
      (typeOnlyExempt ? ' (type-only imports are exempt)' : '') +
      ' — see architecture.json',
    severity: 'error',
    from: { path: `^${root}/${escape(folder)}/` },
    to: {
      path: `^${root}/`,
      pathNot: `^${root}/${anyOf([folder, ...allowed])}/`,
      ...(typeOnlyExempt ? { dependencyTypesNot: ['type-only'] } : {})
    }
  }
})

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    ...layerRules,
    {
      name: 'folder-not-in-architecture',
      comment: `every top-level folder of ${root} that imports from ${root} needs its arrows in architecture.json`,
      severity: 'error',
      from: { path: `^${root}/`, pathNot: `^${root}/${anyOf(folders)}/` },
      to: { path: `^${root}/` }
    },
    {
      name: 'no-circular-between-folders',
      comment: `an import cycle that leaves its top-level folder of ${root} (cycles inside one folder are not this rule's business)`,
      severity: 'error',
      from: { path: `^${root}/([^/]+)/` },
      to: { circular: true, via: { pathNot: `^${root}/$1/` } }
    },
    {
      name: 'main-not-to-outside',
      comment: `${root} is the core: it never imports the renderer, tests, benchmarks or scripts`,
      severity: 'error',
      from: { path: `^${root}/` },
      to: { path: `^(${escape(renderer.root)}|test|bench|scripts)/` }
    },
    {
      name: 'renderer-only-api',
      comment: `${renderer.root} may import from ${root} only ${renderer.allowed.map((f) => root + '/' + f).join(', ')}`,
      severity: 'error',
      from: { path: `^${escape(renderer.root)}/` },
      to: { path: `^${root}/`, pathNot: `^${root}/${anyOf(renderer.allowed)}/` }
    },
    {
      name: 'renderer-api-values-only-from-contract',
      comment: `${renderer.root} imports types from ${root}/api; values only from ${root}/${renderer.valuesOnlyFrom}`,
      severity: 'error',
      from: { path: `^${escape(renderer.root)}/` },
      to: {
        path: `^${root}/${anyOf(renderer.allowed)}/`,
        pathNot: `^${root}/${escape(renderer.valuesOnlyFrom)}$`,
        dependencyTypesNot: ['type-only']
      }
    },
    {
      name: 'not-to-unresolvable',
      comment: 'an import that cannot be resolved would slip past every rule above',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true }
    }
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // See `import type` (erased by compilation) so that type-only imports count as arrows too.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // .svelte files are compiled with svelte/compiler (Svelte 5 understands <script lang="ts">);
    // their `import type`s are erased by that, so only their value imports are checked.
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.svelte', '.json']
    },
    reporterOptions: {
      text: { highlightFocused: true }
    }
  }
}

/** Fail loudly on a broken architecture.json rather than generating rules that allow too much. */
function assertArchitecture() {
  const problems = []
  for (const [folder, allowed] of Object.entries(arrows)) {
    for (const target of allowed) {
      if (!folders.includes(target)) problems.push(`${folder} → ${target}: ${target} is not a folder in arrows`)
      if (target === folder) problems.push(`${folder} → ${folder}: a folder may always import itself; remove the arrow`)
    }
  }
  for (const folder of typeOnlyAnywhere) if (!folders.includes(folder)) problems.push(`typeOnlyAnywhere: unknown folder ${folder}`)
  for (const folder of renderer.allowed) if (!folders.includes(folder)) problems.push(`renderer.allowed: unknown folder ${folder}`)
  for (const folder of folders) if (!architecture.about[folder]) problems.push(`about: no line for ${folder}`)
  // The arrows must form a DAG, so the folders cannot import each other in a circle.
  const state = new Map()
  const visit = (folder, trail) => {
    if (state.get(folder) === 'done') return
    if (state.get(folder) === 'visiting') {
      problems.push(`cycle in arrows: ${[...trail.slice(trail.indexOf(folder)), folder].join(' → ')}`)
      return
    }
    state.set(folder, 'visiting')
    for (const target of arrows[folder] ?? []) visit(target, [...trail, folder])
    state.set(folder, 'done')
  }
  for (const folder of folders) visit(folder, [])
  if (problems.length) throw new Error(`architecture.json:\n  ${problems.join('\n  ')}`)
}
