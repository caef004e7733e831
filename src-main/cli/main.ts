/**
 * Entry point of the `kms-scout` binary (bundled to out/main/cli.js). It imports nothing at the top but the version
 * string (inlined by the bundler): `--version` answers before any other module loads, and every other command
 * loads the command table and what the command needs only now (a monitoring system may start the CLI for many
 * hosts every minute; bench/cli.ts measures the start).
 */
import { fileURLToPath } from 'node:url'
// The one version: package.json's, inlined by the bundler (only this field, not the whole file).
import { version as CLI_VERSION } from '../../package.json'

const argv = process.argv.slice(2)
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  process.stdout.write(`${CLI_VERSION}\n`, () => process.exit(0))
} else {
  const { runCli } = await import('./run')
  let interrupted: Promise<string> | undefined
  const waitForInterrupt = (): Promise<string> =>
    (interrupted ??= new Promise<string>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'))
      process.once('SIGTERM', () => resolve('SIGTERM'))
    }))

  const code = await runCli(argv, {
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
}
