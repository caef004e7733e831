/** Entry point of the `kms-scout` binary (bundled to out/main/cli.js). */
import { fileURLToPath } from 'node:url'
import { runCli } from './run'

let interrupted: Promise<string> | undefined
const waitForInterrupt = (): Promise<string> =>
  (interrupted ??= new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'))
    process.once('SIGTERM', () => resolve('SIGTERM'))
  }))

const code = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  waitForInterrupt,
  // the worker entry is bundled next to this file (electron.vite.config.ts)
  labHostWorker: { script: fileURLToPath(new URL('./lab-host-worker.js', import.meta.url)) }
})
process.exitCode = code
// Commands close their own sockets and servers; exit explicitly so a stray handle can't keep the CLI alive.
process.stdout.write('', () => process.exit(code))
