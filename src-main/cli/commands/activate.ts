/** `kms-scout activate`: activate now, like `slmgr /ato` (every installed KMS client product, or those named). */
import { parseGuid } from '../../service/inputs'
import { stringOptions } from '../args'
import type { CliCommand } from '../commands'
import { COMPUTER_HELP, COMPUTER_OPTION, ENVIRONMENT_HELP, noPositionals, runActionCommand } from './licensing-output'

export const activateCommand: CliCommand = {
  name: 'activate',
  usage: 'activate [--product-id GUID]... [--computer NAME]... [--json]',
  help: `Options:
  --product-id GUID  the activation ID of an installed product (see 'kms-scout status'); repeatable;
                     default: every installed KMS client (GVLK) product
${COMPUTER_HELP}

${ENVIRONMENT_HELP}
Activation needs no administrator rights. Exit codes: 0 activated everywhere, 2 failed somewhere (the Windows
code, its meaning and fix are printed), 3 usage error or not Windows.`,
  options: { ...COMPUTER_OPTION, 'product-id': { type: 'string', multiple: true } },
  async run(ctx) {
    noPositionals(ctx, 'activate')
    const productIds = stringOptions(ctx.values, 'product-id').map((id) => parseGuid(id, '--product-id'))
    return runActionCommand(ctx, { kind: 'activate', productIds })
  }
}
