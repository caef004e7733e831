/** The table of subcommands; each lives in its own module under ./commands/. */
import type { ParseArgsConfig } from 'node:util'
import type { CliIo } from './io'
import { checkCommand } from './commands/check'
import { discoverCommand } from './commands/discover'
import { productsCommand } from './commands/products'
import { queryCommand } from './commands/query'
import { serveCommand } from './commands/serve'
import { publishCommand } from './commands/publish'
import { unpublishCommand } from './commands/unpublish'
import { planDnsCommand } from './commands/plan-dns'
import { auditDnsCommand } from './commands/audit-dns'
import { activateCommand } from './commands/activate'
import { clearDomainCommand } from './commands/clear-domain'
import { clearHostCommand } from './commands/clear-host'
import { hostCachingCommand } from './commands/host-caching'
import { installGvlkCommand } from './commands/install-gvlk'
import { setDomainCommand } from './commands/set-domain'
import { setHostCommand } from './commands/set-host'
import { statusCommand } from './commands/status'
import { cacheCommand } from './commands/cache'

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

export const commands: CliCommand[] = [
  queryCommand,
  productsCommand,
  discoverCommand,
  checkCommand,
  serveCommand,
  publishCommand,
  unpublishCommand,
  planDnsCommand,
  auditDnsCommand,
  statusCommand,
  activateCommand,
  setHostCommand,
  clearHostCommand,
  setDomainCommand,
  clearDomainCommand,
  hostCachingCommand,
  installGvlkCommand,
  cacheCommand
]
