import { describe, expect, it } from 'vitest'
import { runCli } from '../../src-main/cli/run'
import { captureIo } from '../helpers/cli-io'

describe('kms-scout CLI conventions', () => {
  it('--help prints the usage and exits 0', async () => {
    const io = captureIo()
    expect(await runCli(['--help'], io)).toBe(0)
    expect(io.out()).toContain('Usage: kms-scout <command> [options]')
    expect(io.out()).toContain('Exit codes: 0 OK, 1 warning, 2 critical')
    expect(io.err()).toBe('')
  })

  it('an unknown command is a usage error: one line of cause, one of fix, exit 3', async () => {
    const io = captureIo()
    expect(await runCli(['frobnicate'], io)).toBe(3)
    expect(io.out()).toBe('')
    expect(io.err().trimEnd().split('\n')).toEqual([
      "kms-scout: unknown command 'frobnicate'",
      "  run 'kms-scout --help' to list the commands"
    ])
  })

  it('--version prints the version', async () => {
    const io = captureIo()
    expect(await runCli(['--version'], io)).toBe(0)
    expect(io.out()).toMatch(/^\d+\.\d+\.\d+\n$/)
  })
})
