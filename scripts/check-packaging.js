// Validates the electron-builder configuration in package.json against electron-builder's own
// schema, offline. Installers themselves need the Electron zip and tool bundles, which are
// downloaded: build them with `npm run dist:*` on a machine with internet.
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'

const require = createRequire(import.meta.url)
const { validateConfiguration } = require('app-builder-lib/out/util/config/config.js')
// Only `isEnabled` is read when the logger is off.
const quietLogger = { isEnabled: false, add() {} }

const pkg = JSON.parse(readFileSync('package.json', 'utf8'))
try {
  await validateConfiguration(pkg.build, quietLogger)
} catch (error) {
  console.error(`electron-builder configuration is invalid:\n${error.message}`)
  process.exit(1)
}
const problems = []
if (!pkg.homepage) problems.push('package.json needs "homepage" for the deb target')
if (!pkg.author?.includes('<')) problems.push('package.json "author" needs an e-mail for the deb maintainer field')
if (!pkg.build.files.includes('out/**/*')) problems.push('build.files must include the electron-vite output (out/**/*)')
if (problems.length > 0) {
  console.error(problems.join('\n'))
  process.exit(1)
}
console.log('electron-builder configuration is valid (targets: nsis + portable, AppImage + deb, dmg)')
