#!/usr/bin/env node
// Prints the architecture picture of README.md from architecture.json — the same arrows that
// .dependency-cruiser.mjs turns into rules — so the picture cannot drift from what lint enforces.
//
//   node scripts/architecture.js                    print the block to paste into README.md
//   node scripts/architecture.js --check README.md  exit 1 if README's block differs from it
//
// The block is what sits between `<!-- architecture:start -->` and `<!-- architecture:end -->`.
import { readFileSync } from 'node:fs'

const START = '<!-- architecture:start -->'
const END = '<!-- architecture:end -->'

const architecture = JSON.parse(readFileSync(new URL('../architecture.json', import.meta.url), 'utf8'))

/** Layer of a folder: 0 if it imports no other folder, else one above the highest folder it may import. */
function layers({ arrows }) {
  const layer = new Map()
  const visit = (folder, trail) => {
    if (layer.has(folder)) return layer.get(folder)
    // .dependency-cruiser.mjs rejects such an architecture.json too; say it here rather than recurse forever.
    if (trail.includes(folder)) throw new Error(`architecture.json: cycle in arrows: ${[...trail, folder].join(' → ')}`)
    const below = arrows[folder].map((target) => visit(target, [...trail, folder]))
    const own = below.length ? Math.max(...below) + 1 : 0
    layer.set(folder, own)
    return own
  }
  for (const folder of Object.keys(arrows)) visit(folder, [])
  return layer
}

function picture() {
  const { root, arrows, about, typeOnlyAnywhere, renderer } = architecture
  const layer = layers(architecture)
  const order = Object.keys(arrows)
  // Highest layer first; within a layer, and in each arrow list, the order of architecture.json.
  const byLayer = (a, b) => layer.get(b) - layer.get(a) || order.indexOf(a) - order.indexOf(b)
  const nameWidth = Math.max(renderer.root.length, ...order.map((folder) => folder.length)) + 2
  const indent = ' '.repeat(9 + nameWidth)
  const lines = [
    `${root}/ — each folder imports only the folders after its →`,
    `(generated from architecture.json by scripts/architecture.js; enforced by npm run lint:deps)`,
    '',
    `${'renderer'.padEnd(9)}${renderer.root.padEnd(nameWidth)}${renderer.about}`,
    `${indent}→ ${renderer.allowed.map((folder) => `${root}/${folder}`).join(', ')} (types; values only from ${root}/${renderer.valuesOnlyFrom})`
  ]
  let previous
  for (const folder of [...order].sort(byLayer)) {
    const level = layer.get(folder)
    if (level !== previous) lines.push('')
    const label = level !== previous ? `layer ${level}` : ''
    previous = level
    const targets = [...arrows[folder]].sort(byLayer)
    const exempt = typeOnlyAnywhere.includes(folder) ? ' (+ types from any folder)' : ''
    lines.push(`${label.padEnd(9)}${folder.padEnd(nameWidth)}${about[folder]}`)
    lines.push(`${indent}→ ${targets.length ? targets.join(', ') : '(nothing)'}${exempt}`)
  }
  return ['```text', ...lines, '```'].join('\n')
}

/** The text between the markers, without the newlines right after START and before END. */
function readmeBlock(text) {
  const start = text.indexOf(START)
  const end = text.indexOf(END)
  if (start < 0 || end < start) return undefined
  return text
    .slice(start + START.length, end)
    .replace(/^\r?\n/, '')
    .replace(/\r?\n$/, '')
    .replace(/\r\n/g, '\n')
}

function main(args) {
  if (args.length === 0) {
    console.log(picture())
    return 0
  }
  if (args[0] === '--check' && args.length === 2) {
    const file = args[1]
    const block = readmeBlock(readFileSync(file, 'utf8'))
    if (block === undefined) {
      console.error(`${file}: no ${START} … ${END} block`)
      console.error(`fix: put the output of \`node scripts/architecture.js\` between those two markers`)
      return 1
    }
    if (block !== picture()) {
      console.error(`${file}: the architecture picture differs from architecture.json`)
      console.error(`fix: replace the block between the markers with the output of \`node scripts/architecture.js\``)
      return 1
    }
    return 0
  }
  console.error('usage: node scripts/architecture.js [--check README.md]')
  return 2
}

process.exitCode = main(process.argv.slice(2))
