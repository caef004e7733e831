import type { CliIo } from '../../src-main/cli/io'

/** An in-process CliIo that records what a command printed. */
export function captureIo(env: NodeJS.ProcessEnv = {}): CliIo & { out: () => string; err: () => string } {
  let out = ''
  let err = ''
  return {
    stdout: (text) => (out += text),
    stderr: (text) => (err += text),
    env,
    waitForInterrupt: () => new Promise<string>(() => {}),
    out: () => out,
    err: () => err
  }
}
