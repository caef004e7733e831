/** `kms-scout set-host HOST[:PORT]`: the KMS host Windows uses, like `slmgr /skms`. */
import { parseKmsHost } from '../../service/inputs'
import type { CliCommand } from '../commands'
import { UsageError } from '../io'
import { COMPUTER_HELP, COMPUTER_OPTION, ENVIRONMENT_HELP, runActionCommand } from './licensing-output'

export const setHostCommand: CliCommand = {
  name: 'set-host',
  usage: 'set-host HOST[:PORT] [--computer NAME]... [--json]',
  help: `Options:
  HOST[:PORT]       KMS host name or IP address; IPv6 with a port as [2001:db8::10]:1688 (default port 1688)
${COMPUTER_HELP}

${ENVIRONMENT_HELP}
Needs administrator rights. Exit codes: 0 set everywhere, 2 failed somewhere, 3 usage error or not Windows.`,
  options: COMPUTER_OPTION,
  async run(ctx) {
    if (ctx.positionals.length !== 1)
      throw new UsageError('set-host takes one HOST[:PORT]', 'e.g. kms-scout set-host kms01.corp.example:1688')
    const { host, port } = parseKmsHost(ctx.positionals[0]!)
    return runActionCommand(ctx, { kind: 'set-host', host, port })
  }
}
