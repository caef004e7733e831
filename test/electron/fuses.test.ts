/**
 * The Electron fuses electron-builder flips in the packaged app: what the shell never needs is switched off
 * (checked here because the packaged app cannot be built on this machine; the release workflow builds it).
 */
import fs from 'node:fs'
import { describe, expect, it } from 'vitest'

const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  build: { electronFuses: Record<string, boolean> }
}

describe('Electron fuses', () => {
  it('switch off what the app never uses: file:// privileges, run-as-node, NODE_OPTIONS, inspector arguments', () => {
    expect(pkg.build.electronFuses).toMatchObject({
      // the app loads only its own kms-scout:// scheme, never file://
      grantFileProtocolExtraPrivileges: false,
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true
    })
  })
})
