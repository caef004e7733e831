/** `kms-scout clear-host`: forget the KMS host set with set-host, like `slmgr /ckms`. */
import type { CliCommand } from '../commands'
import { COMPUTER_HELP, COMPUTER_OPTION, ENVIRONMENT_HELP, noPositionals, runActionCommand } from './licensing-output'

export const clearHostCommand: CliCommand = {
  name: 'clear-host',
  usage: 'clear-host [--computer NAME]... [--json]',
  help: `Options:
${COMPUTER_HELP}

${ENVIRONMENT_HELP}
Needs administrator rights. Exit codes: 0 cleared everywhere, 2 failed somewhere, 3 usage error or not Windows.`,
  options: COMPUTER_OPTION,
  async run(ctx) {
    noPositionals(ctx, 'clear-host')
    return runActionCommand(ctx, { kind: 'clear-host' })
  }
}
