/**
 * `kms-scout status [--computer NAME]…`: every product with a key, like `slmgr /dlv` but from Windows' licensing
 * API (CIM) instead of its localised text — licence state, reason, time left, channel and GVLK, the KMS host set,
 * the lookup domain, the host found through DNS and its ePID — and the machine's CMID, host caching and, on a KMS
 * host, its count and counters. Exit codes follow the monitoring convention.
 */
import { readLicensingStatus } from '../../service/licensing-service'
import type { CliCommand } from '../commands'
import {
  COMPUTER_HELP,
  COMPUTER_OPTION,
  computerArgs,
  ENVIRONMENT_HELP,
  formatComputerResult,
  licensingHost,
  noPositionals
} from './licensing-output'

export const statusCommand: CliCommand = {
  name: 'status',
  usage: 'status [--computer NAME]... [--json]',
  help: `Options:
${COMPUTER_HELP}

${ENVIRONMENT_HELP}

Exit codes: 0 every product licensed, 1 a product in a grace period, in Notification or unlicensed (or no key
installed), 2 a computer could not be read, 3 usage error or not Windows.`,
  options: COMPUTER_OPTION,
  async run(ctx) {
    noPositionals(ctx, 'status')
    const view = await readLicensingStatus(licensingHost(ctx), computerArgs(ctx))
    if (ctx.json) ctx.io.stdout(`${JSON.stringify({ ok: view.level === 0, ...view }, null, 2)}\n`)
    else ctx.io.stdout(view.results.map(formatComputerResult).join('\n'))
    return view.level
  }
}
