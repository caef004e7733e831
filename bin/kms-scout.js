#!/usr/bin/env node
// Launcher for the bundled CLI. Build first with `npm run build`.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const bundle = new URL('../out/main/cli.js', import.meta.url)
if (!existsSync(fileURLToPath(bundle))) {
  process.stderr.write('kms-scout: the CLI is not built yet\n  run `npm run build` in the KMS Scout folder first\n')
  process.exit(3)
}
await import(bundle.href)
