/** `kms-scout host-caching on|off`: KMS host caching, like `slmgr /skhc` and `/ckhc`. */
import type { CliCommand } from '../commands'
import { UsageError } from '../io'
import { COMPUTER_HELP, COMPUTER_OPTION, ENVIRONMENT_HELP, runActionCommand } from './licensing-output'

export const hostCachingCommand: CliCommand = {
  name: 'host-caching',
  usage: 'host-caching on|off [--computer NAME]... [--json]',
  help: `Options:
  on|off            on: keep using the host that last answered (the default); off: ask DNS every time, so SRV
                    priority and weight apply
${COMPUTER_HELP}

${ENVIRONMENT_HELP}
Needs administrator rights. Exit codes: 0 changed everywhere, 2 failed somewhere, 3 usage error or not Windows.`,
  options: COMPUTER_OPTION,
  async run(ctx) {
    const [value, ...rest] = ctx.positionals
    if ((value !== 'on' && value !== 'off') || rest.length > 0)
      throw new UsageError('host-caching takes on or off', 'e.g. kms-scout host-caching off')
    return runActionCommand(ctx, { kind: 'host-caching', enabled: value === 'on' })
  }
}
