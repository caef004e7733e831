/**
 * The `kms-scout` command line: subcommand dispatch and the conventions every subcommand shares —
 * `--json` prints one JSON object on stdout and nothing else; human output otherwise; errors go to
 * stderr as one line of cause and one of fix; usage errors exit with 3.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { ApiFailure } from '../api/result'
import { EXIT, UsageError, type CliIo } from './io'
import { commands, type CliCommand, type CommandEntry } from './commands'
// The one version: package.json's, inlined by the bundler (only this field, not the whole file).
import { version as CLI_VERSION } from '../../package.json'

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length))
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`)
  return [
    'KMS Scout — find, query and test Microsoft KMS activation hosts.',
    '',
    'Usage: kms-scout <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Common options:',
    '  --json       print one JSON object on stdout (nothing else)',
    '  -h, --help   show help for a command',
    '  --version    print the version',
    '',
    'Exit codes: 0 OK, 1 warning, 2 critical (no host / no verified answer), 3 usage or configuration error.',
    'Run `kms-scout <command> --help` for the options of a command.'
  ].join('\n')
}

function commandHelp(entry: CommandEntry, command: CliCommand): string {
  return [`Usage: kms-scout ${command.usage}`, '', entry.summary, '', command.help].join('\n').trimEnd()
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    const topic = name === 'help' ? commands.find((c) => c.name === rest[0]) : undefined
    io.stdout(`${topic ? commandHelp(topic, await topic.load()) : usage()}\n`)
    return EXIT.ok
  }
  if (name === '--version' || name === '-V') {
    io.stdout(`${CLI_VERSION}\n`)
    return EXIT.ok
  }
  const entry = commands.find((c) => c.name === name)
  if (entry === undefined) {
    return reportUsageError(io, new UsageError(`unknown command '${name}'`, `run 'kms-scout --help' to list the commands`))
  }
  // only the command that runs is loaded (commands.ts)
  const command = await entry.load()
  const json = rest.includes('--json')
  try {
    refuseNegativeValues(rest, command)
    const parsed = parseArgs({
      args: rest,
      options: { ...command.options, help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' } },
      allowPositionals: true,
      strict: true
    } satisfies ParseArgsConfig)
    if (parsed.values.help === true) {
      io.stdout(`${commandHelp(entry, command)}\n`)
      return EXIT.ok
    }
    return await command.run({ values: parsed.values, positionals: parsed.positionals, json, io })
  } catch (error) {
    if (error instanceof UsageError) return reportUsageError(io, error, json)
    // The service refuses bad input and bad configuration with a cause and a fix: a usage error here.
    if (error instanceof ApiFailure) return reportUsageError(io, new UsageError(error.message, error.hint), json)
    if (isParseArgsError(error)) {
      return reportUsageError(io, new UsageError(error.message, `run 'kms-scout ${command.name} --help' for the options`), json)
    }
    const message = error instanceof Error ? error.message : String(error)
    if (json) io.stdout(`${JSON.stringify({ ok: false, error: { code: 'internal', message } })}\n`)
    io.stderr(`kms-scout ${command.name}: unexpected error: ${message}\n`)
    io.stderr('  this is a bug in KMS Scout; please report it with the command you ran\n')
    return EXIT.critical
  }
}

function reportUsageError(io: CliIo, error: UsageError, json = false): number {
  if (json) {
    io.stdout(`${JSON.stringify({ ok: false, error: { code: 'usage', message: error.message, hint: error.hint } })}\n`)
  }
  io.stderr(`kms-scout: ${error.message}\n`)
  if (error.hint !== undefined) io.stderr(`  ${error.hint}\n`)
  return EXIT.usage
}

function isParseArgsError(error: unknown): error is Error & { code: string } {
  const code = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')
}

/**
 * `--timeout -5`: parseArgs reads "-5" as an option and answers with its own "ambiguous" wording; no option of
 * KMS Scout takes a negative number, so say that in the house's words instead.
 */
function refuseNegativeValues(args: readonly string[], command: CliCommand): void {
  args.forEach((arg, i) => {
    const name = arg.startsWith('--') ? arg.slice(2) : undefined
    const next = args[i + 1]
    if (name === undefined || next === undefined || !/^-\d/.test(next)) return
    if (command.options[name]?.type !== 'string') return
    throw new UsageError(
      `--${name} '${next}' is negative; ${name} takes a value of 0 or more`,
      `run 'kms-scout ${command.name} --help' for what --${name} accepts`
    )
  })
}
