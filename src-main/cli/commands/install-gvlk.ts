/**
 * `kms-scout install-gvlk [--product NAME]`: install the catalog's GVLK (KMS client setup key), like `slmgr /ipk`
 * with a GVLK — for the installed Windows edition, or the product named. KMS Scout never takes another key.
 */
import type { CliCommand } from '../commands'
import { productArgs } from '../args'
import { COMPUTER_HELP, COMPUTER_OPTION, ENVIRONMENT_HELP, noPositionals, runActionCommand } from './licensing-output'

export const installGvlkCommand: CliCommand = {
  name: 'install-gvlk',
  usage: 'install-gvlk [--product NAME | --sku GUID] [--computer NAME]... [--json]',
  help: `Options:
  --product NAME    the product whose GVLK to install (see 'kms-scout products'); default: the installed Windows edition
  --sku GUID        the product by SKU (activation) ID
${COMPUTER_HELP}

${ENVIRONMENT_HELP}
Only the public GVLKs of the catalog are installed. Needs administrator rights.
Exit codes: 0 installed everywhere, 2 failed somewhere, 3 usage error or not Windows.`,
  options: { ...COMPUTER_OPTION, product: { type: 'string' }, sku: { type: 'string' } },
  async run(ctx) {
    noPositionals(ctx, 'install-gvlk')
    const product = productArgs(ctx.values)
    return runActionCommand(ctx, { kind: 'install-gvlk', productSkuId: product?.guid })
  }
}
