/**
 * `kms-scout clear-host` and `kms-scout clear-domain`: forget the KMS host set with set-host (`slmgr /ckms`) or the
 * lookup domain set with set-domain (`slmgr /ckms-domain`). The two differ only in the action they request.
 */
import type { CliCommand } from '../commands'
import { COMPUTER_HELP, COMPUTER_OPTION, ENVIRONMENT_HELP, noPositionals, runActionCommand } from './licensing-output'

function clearCommand(kind: 'clear-host' | 'clear-domain'): CliCommand {
  return {
    name: kind,
    usage: `${kind} [--computer NAME]... [--json]`,
    help: `Options:
${COMPUTER_HELP}

${ENVIRONMENT_HELP}
Needs administrator rights. Exit codes: 0 cleared everywhere, 2 failed somewhere, 3 usage error or not Windows.`,
    options: COMPUTER_OPTION,
    async run(ctx) {
      noPositionals(ctx, kind)
      return runActionCommand(ctx, { kind })
    }
  }
}

export const clearHostCommand = clearCommand('clear-host')
export const clearDomainCommand = clearCommand('clear-domain')
