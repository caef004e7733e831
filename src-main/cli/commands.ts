/**
 * The table of subcommands. Each lives in its own module under ./commands/ and is loaded only when it runs: a
 * monitoring system may start `kms-scout check` for many hosts every minute, and none of them should pay for
 * loading the licensing, DNS-publishing or lab-host code (bench/cli.ts measures the start). The name and the
 * one-line summary are here, so `kms-scout --help` lists every command without loading any.
 */
import type { ParseArgsConfig } from 'node:util'
import type { CliIo } from './io'

export interface CommandContext {
  values: Record<string, string | boolean | Array<string | boolean> | undefined>
  positionals: string[]
  json: boolean
  io: CliIo
}

export interface CliCommand {
  name: string
  /** The synopsis after `kms-scout `. */
  usage: string
  /** Option descriptions, one per line, for `--help`. */
  help: string
  options: NonNullable<ParseArgsConfig['options']>
  run(context: CommandContext): Promise<number>
}

export interface CommandEntry {
  name: string
  /** One line for `kms-scout --help` and the command's own help. */
  summary: string
  load: () => Promise<CliCommand>
}

export const commands: readonly CommandEntry[] = [
  {
    name: 'query',
    summary: "ask one KMS host for its count with this installation's stable client identity, and verify the answer",
    load: () => import('./commands/query').then((m) => m.queryCommand)
  },
  {
    name: 'products',
    summary: 'list the products (SKUs) a query can claim, with threshold and protocol',
    load: () => import('./commands/products').then((m) => m.productsCommand)
  },
  {
    name: 'discover',
    summary: 'list the KMS hosts DNS publishes (_vlmcs._tcp SRV records) in selection order, with addresses',
    load: () => import('./commands/discover').then((m) => m.discoverCommand)
  },
  {
    name: 'check',
    summary: 'find a KMS host the way a Windows client does (manual → cached → DNS) and check it like a monitoring plugin',
    load: () => import('./commands/check').then((m) => m.checkCommand)
  },
  {
    name: 'serve',
    summary: 'run the lab KMS host (test fixture; loopback only unless told otherwise)',
    load: () => import('./commands/serve').then((m) => m.serveCommand)
  },
  {
    name: 'publish',
    summary: 'publish a KMS host’s _vlmcs._tcp SRV record by dynamic update (RFC 2136, TSIG-signed)',
    load: () => import('./commands/publish').then((m) => m.publishCommand)
  },
  {
    name: 'unpublish',
    summary: 'remove a KMS host’s _vlmcs._tcp SRV record by dynamic update',
    load: () => import('./commands/unpublish').then((m) => m.unpublishCommand)
  },
  {
    name: 'plan-dns',
    summary: 'plan a site’s _vlmcs._tcp records: checks, zone-file lines, PowerShell, dnscmd, nsupdate, DnsDomainPublishList',
    load: () => import('./commands/plan-dns').then((m) => m.planDnsCommand)
  },
  {
    name: 'audit-dns',
    summary: 'audit the _vlmcs._tcp records: probe every target, flag stale, duplicate, starved and unreachable records',
    load: () => import('./commands/audit-dns').then((m) => m.auditDnsCommand)
  },
  {
    name: 'status',
    summary: "Windows' activation state of this computer or others: every product, the KMS host it uses, time left",
    load: () => import('./commands/status').then((m) => m.statusCommand)
  },
  {
    name: 'activate',
    summary: 'activate now (slmgr /ato): every installed KMS client product, or the ones named',
    load: () => import('./commands/activate').then((m) => m.activateCommand)
  },
  {
    name: 'set-host',
    summary: 'set the KMS host Windows uses (slmgr /skms); DNS discovery stops while it is set',
    load: () => import('./commands/set-host').then((m) => m.setHostCommand)
  },
  {
    name: 'clear-host',
    summary: 'clear the KMS host Windows uses (slmgr /ckms); Windows finds hosts through DNS again',
    load: () => import('./commands/clear-setting').then((m) => m.clearHostCommand)
  },
  {
    name: 'set-domain',
    summary: 'set the DNS domain Windows searches for KMS hosts (slmgr /skms-domain)',
    load: () => import('./commands/set-domain').then((m) => m.setDomainCommand)
  },
  {
    name: 'clear-domain',
    summary: 'clear the DNS domain Windows searches for KMS hosts (slmgr /ckms-domain)',
    load: () => import('./commands/clear-setting').then((m) => m.clearDomainCommand)
  },
  {
    name: 'host-caching',
    summary: 'turn KMS host caching on (slmgr /skhc) or off (slmgr /ckhc)',
    load: () => import('./commands/host-caching').then((m) => m.hostCachingCommand)
  },
  {
    name: 'install-gvlk',
    summary: "install the catalog's GVLK for this edition (slmgr /ipk with a KMS client setup key)",
    load: () => import('./commands/install-gvlk').then((m) => m.installGvlkCommand)
  },
  {
    name: 'cache',
    summary: 'show or clear the cached KMS host per application (clear: like the cache part of slmgr /ckhc)',
    load: () => import('./commands/cache').then((m) => m.cacheCommand)
  }
]
