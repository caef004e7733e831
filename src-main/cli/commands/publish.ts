/**
 * `kms-scout publish`: writes one KMS host's `_vlmcs._tcp` SRV record at a DNS server by dynamic update (RFC 2136),
 * TSIG-signed with a BIND-style key file or unsigned — what a KMS host does for itself. The server's answer is
 * explained (NOERROR, REFUSED, NOTAUTH, BADSIG, BADKEY …). `unpublish` (./unpublish.ts) shares all of this.
 */
import { describeUpdate, updateKmsSrvRecord, KMS_SRV_DEFAULTS, type SrvUpdateResult } from '../../service/dns-publish-service'
import type { LabHostPublishing } from '../../service/lab-host-service'
import { parseWholeNumber } from '../../service/inputs'
import { inert } from '../../service/presentation'
import { optional, stringOption, stringOptions } from '../args'
import type { CliCommand, CommandContext } from '../commands'
import { EXIT, UsageError } from '../io'

const OPTIONS: CliCommand['options'] = {
  domain: { type: 'string', multiple: true },
  name: { type: 'string' },
  'dns-server': { type: 'string' },
  port: { type: 'string' },
  priority: { type: 'string' },
  weight: { type: 'string' },
  ttl: { type: 'string' },
  zone: { type: 'string' },
  'tsig-key': { type: 'string' }
}

function help(action: 'publish' | 'unpublish'): string {
  const lines = [
    'Options:',
    '  --domain D              publish into _vlmcs._tcp.D; repeat for several domains (like DnsDomainPublishList)',
    '  --name NAME             the KMS host’s DNS name (the SRV target)',
    '  --dns-server IP[:PORT]  the DNS server that takes the update: the zone’s primary (never a public resolver)',
    '  --tsig-key FILE         sign the update with this key, a file as tsig-keygen writes it; unsigned without it',
    '  --zone Z                the zone holding the domain (default: found from the server’s SOA answer)'
  ]
  if (action === 'publish') {
    lines.push(
      '  --port N                the KMS port (default 1688)',
      `  --priority N            SRV priority, 0–65535, lower is tried first (default ${KMS_SRV_DEFAULTS.priority})`,
      `  --weight N              SRV weight within a priority, 0–65535 (default ${KMS_SRV_DEFAULTS.weight}, as Windows publishes)`,
      `  --ttl S                 TTL in seconds (default ${KMS_SRV_DEFAULTS.ttlS})`,
      '',
      'Records already published for this host name (any port, priority or weight) are replaced in the same update.'
    )
  } else lines.push('', 'Removes every record of this host name (any port, priority or weight) from _vlmcs._tcp.D.')
  lines.push('Exit codes: 0 done, 2 the server did not make the change (its answer is explained), 3 usage or configuration error.')
  return lines.join('\n')
}

/** The CLI command for `publish` or `unpublish`. */
export function srvUpdateCommand(action: 'publish' | 'unpublish'): CliCommand {
  return {
    name: action,
    usage: `${action} --domain D... --name NAME --dns-server IP[:PORT] [--tsig-key FILE]${action === 'publish' ? ' [--port N] [--priority N] [--weight N] [--ttl S]' : ''} [--zone Z] [--json]`,
    help: help(action),
    options:
      action === 'publish'
        ? OPTIONS
        : {
            domain: OPTIONS.domain!,
            name: OPTIONS.name!,
            'dns-server': OPTIONS['dns-server']!,
            zone: OPTIONS.zone!,
            'tsig-key': OPTIONS['tsig-key']!
          },
    run: (ctx) => runUpdate(action, ctx)
  }
}

export const publishCommand = srvUpdateCommand('publish')

async function runUpdate(action: 'publish' | 'unpublish', { values, positionals, json, io }: CommandContext): Promise<number> {
  if (positionals.length > 0)
    throw new UsageError(`unexpected argument '${positionals[0]}'`, `run 'kms-scout ${action} --help' for the options`)
  const domains = stringOptions(values, 'domain')
  const name = stringOption(values, 'name')
  const server = stringOption(values, 'dns-server')
  if (domains.length === 0)
    throw new UsageError(`${action} needs --domain D`, 'give the DNS domain clients search, e.g. --domain corp.example')
  if (name === undefined)
    throw new UsageError(`${action} needs --name NAME`, 'give the KMS host’s DNS name, e.g. --name kms01.corp.example')
  if (server === undefined)
    throw new UsageError(`${action} needs --dns-server IP[:PORT]`, 'give the primary DNS server of the zone, e.g. --dns-server 10.0.0.2')
  const whole = (option: string, range: { min: number; max: number }, unit: string, example: number): number | undefined =>
    optional(values, option, (text, label) => parseWholeNumber(text, label, range, unit, example))
  const fields = {
    server,
    target: name,
    port: whole('port', { min: 1, max: 65_535 }, 'port', 1688),
    priority: whole('priority', { min: 0, max: 65_535 }, 'priority', 0),
    weight: whole('weight', { min: 0, max: 65_535 }, 'weight', 100),
    ttl: whole('ttl', { min: 1, max: 2_147_483_647 }, 'seconds', KMS_SRV_DEFAULTS.ttlS),
    zone: stringOption(values, 'zone'),
    tsigKeyFile: stringOption(values, 'tsig-key')
  }
  const results: SrvUpdateResult[] = []
  for (const domain of domains) results.push(await updateKmsSrvRecord(action, { ...fields, domain }))
  const ok = results.every((r) => r.ok)
  if (json) io.stdout(`${JSON.stringify({ ok, results }, null, 2)}\n`)
  else {
    for (const r of results) {
      io.stdout(`${inert(describeUpdate(r), 1024)}\n`)
      for (const old of r.removed) {
        const same = r.added.some((a) => a.port === old.port && a.priority === old.priority && a.weight === old.weight)
        if (r.ok && !(action === 'publish' && same))
          io.stdout(
            `  ${action === 'publish' ? 'replaced' : 'removed'} ${inert(`${old.priority} ${old.weight} ${old.port} ${old.target}`, 300)}\n`
          )
      }
      if (r.ok && action === 'unpublish' && r.removed.length === 0) io.stdout('  nothing was published for this host\n')
      if (r.lookupProblem) io.stdout(`  note: the current records could not be read (${inert(r.lookupProblem, 300)})\n`)
    }
  }
  for (const r of results.filter((x) => !x.ok)) {
    io.stderr(`kms-scout ${action}: ${r.name} at ${r.server}: ${r.code}: ${r.meaning}\n  fix: ${r.fix}\n`)
  }
  return ok ? EXIT.ok : EXIT.critical
}

/** `serve`'s publishing flags, in its option table. */
export const SERVE_PUBLISH_OPTIONS: CliCommand['options'] = {
  publish: { type: 'string', multiple: true },
  'publish-server': { type: 'string' },
  'publish-name': { type: 'string' },
  priority: { type: 'string' },
  weight: { type: 'string' },
  ttl: { type: 'string' },
  'tsig-key': { type: 'string' }
}

export const SERVE_PUBLISH_HELP = [
  '  --publish DOMAIN          publish the host’s _vlmcs._tcp SRV record in DOMAIN while it listens (removed when it',
  '                            stops, also on Ctrl-C/SIGTERM); repeat for several domains, like DnsDomainPublishList',
  '  --publish-server IP[:PORT] the DNS server that takes the updates (the zone’s primary); needed with --publish',
  '  --publish-name NAME       the SRV target (default: this machine’s name, qualified with the first domain)',
  `  --priority N, --weight N  SRV priority and weight (default ${KMS_SRV_DEFAULTS.priority} and ${KMS_SRV_DEFAULTS.weight}, as Windows publishes)`,
  `  --ttl S                   TTL of the record in seconds (default ${KMS_SRV_DEFAULTS.ttlS})`,
  '  --tsig-key FILE           sign the updates with this key (a file as tsig-keygen writes it)'
]

/** `--publish DOMAIN… --publish-server …` as the lab host's publishing, or undefined without --publish. */
export function servePublishing(values: CommandContext['values']): LabHostPublishing | undefined {
  const domains = stringOptions(values, 'publish')
  const server = stringOption(values, 'publish-server')
  const others = ['publish-name', 'priority', 'weight', 'ttl', 'tsig-key'].filter((o) => values[o] !== undefined)
  if (domains.length === 0) {
    if (server !== undefined || others.length > 0) {
      throw new UsageError(
        `--${server !== undefined ? 'publish-server' : others[0]} needs --publish DOMAIN`,
        'give the domain to publish the lab host in, e.g. --publish corp.example'
      )
    }
    return undefined
  }
  if (server === undefined)
    throw new UsageError(
      '--publish needs --publish-server IP[:PORT]',
      'give the primary DNS server of the zone, e.g. --publish-server 10.0.0.2'
    )
  const whole = (option: string, range: { min: number; max: number }, unit: string, example: number): number | undefined =>
    optional(values, option, (text, label) => parseWholeNumber(text, label, range, unit, example))
  return {
    domains,
    server,
    name: stringOption(values, 'publish-name'),
    priority: whole('priority', { min: 0, max: 65_535 }, 'priority', 0),
    weight: whole('weight', { min: 0, max: 65_535 }, 'weight', 100),
    ttl: whole('ttl', { min: 1, max: 2_147_483_647 }, 'seconds', KMS_SRV_DEFAULTS.ttlS),
    tsigKeyFile: stringOption(values, 'tsig-key')
  }
}
