/** `kms-scout clear-domain`: forget the lookup domain, like `slmgr /ckms-domain`. */
import type { CliCommand } from '../commands'
import { COMPUTER_HELP, COMPUTER_OPTION, ENVIRONMENT_HELP, noPositionals, runActionCommand } from './licensing-output'

export const clearDomainCommand: CliCommand = {
  name: 'clear-domain',
  usage: 'clear-domain [--computer NAME]... [--json]',
  help: `Options:
${COMPUTER_HELP}

${ENVIRONMENT_HELP}
Needs administrator rights. Exit codes: 0 cleared everywhere, 2 failed somewhere, 3 usage error or not Windows.`,
  options: COMPUTER_OPTION,
  async run(ctx) {
    noPositionals(ctx, 'clear-domain')
    return runActionCommand(ctx, { kind: 'clear-domain' })
  }
}
