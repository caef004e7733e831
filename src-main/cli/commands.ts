/** The table of subcommands; each lives in its own module under ./commands/. */
import type { ParseArgsConfig } from 'node:util'
import type { CliIo } from './io'
import { checkCommand } from './commands/check'
import { discoverCommand } from './commands/discover'
import { productsCommand } from './commands/products'
import { queryCommand } from './commands/query'
import { serveCommand } from './commands/serve'

export interface CommandContext {
  values: Record<string, string | boolean | Array<string | boolean> | undefined>
  positionals: string[]
  json: boolean
  io: CliIo
}

export interface CliCommand {
  name: string
  summary: string
  /** The synopsis after `kms-scout `. */
  usage: string
  /** Option descriptions, one per line, for `--help`. */
  help: string
  options: NonNullable<ParseArgsConfig['options']>
  run(context: CommandContext): Promise<number>
}

export const commands: CliCommand[] = [queryCommand, productsCommand, discoverCommand, checkCommand, serveCommand]
