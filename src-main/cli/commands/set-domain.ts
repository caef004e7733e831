/** `kms-scout set-domain DOMAIN`: the DNS domain Windows looks for KMS hosts in, like `slmgr /skms-domain`. */
import { parseLookupDomain } from '../../service/inputs'
import type { CliCommand } from '../commands'
import { UsageError } from '../io'
import { COMPUTER_HELP, COMPUTER_OPTION, ENVIRONMENT_HELP, runActionCommand } from './licensing-output'

export const setDomainCommand: CliCommand = {
  name: 'set-domain',
  usage: 'set-domain DOMAIN [--computer NAME]... [--json]',
  help: `Options:
  DOMAIN            the DNS domain that holds the _vlmcs._tcp records, e.g. corp.example
${COMPUTER_HELP}

${ENVIRONMENT_HELP}
A host set with set-host takes precedence. Needs administrator rights.
Exit codes: 0 set everywhere, 2 failed somewhere, 3 usage error or not Windows.`,
  options: COMPUTER_OPTION,
  async run(ctx) {
    if (ctx.positionals.length !== 1) throw new UsageError('set-domain takes one DOMAIN', 'e.g. kms-scout set-domain corp.example')
    const domain = parseLookupDomain(ctx.positionals[0]!, 'DOMAIN')
    return runActionCommand(ctx, { kind: 'set-domain', domain })
  }
}
