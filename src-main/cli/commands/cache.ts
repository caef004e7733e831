/**
 * `kms-scout cache show|clear`: the KMS host cache the app and the CLI share (host-cache.json in the config folder).
 * `clear` removes the cached host — what `slmgr /ckhc` does to the cache — so the next check discovers again;
 * whether hosts are cached at all is the settings' host caching.
 */
import { openAppContext } from '../../service/app-context'
import { clearHostCache, showHostCache } from '../../service/host-cache-service'
import { inert } from '../../service/presentation'
import { stringOption } from '../args'
import type { CliCommand } from '../commands'
import { UsageError } from '../io'
import type { HostCacheView } from '../../api/contract'

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/

export const cacheCommand: CliCommand = {
  name: 'cache',
  usage: 'cache show|clear [--application NAME|GUID] [--json]',
  help: `Options:
  show                     list the cached host of each KMS application: host, port, address, since when
  clear                    remove the cached hosts, so the next check discovers again
  --application NAME|GUID  clear only this application's entry (Windows, Office2010, Office2013+, or its ID)

Exit codes: 0 done, 3 usage or configuration error.`,
  options: { application: { type: 'string' } },
  async run(ctx) {
    const { io } = ctx
    const [action, ...rest] = ctx.positionals
    if ((action !== 'show' && action !== 'clear') || rest.length > 0)
      throw new UsageError('cache takes show or clear', 'e.g. kms-scout cache show, or kms-scout cache clear')
    const application = stringOption(ctx.values, 'application')
    if (application !== undefined && action !== 'clear')
      throw new UsageError('--application goes with clear', 'e.g. kms-scout cache clear --application Windows')
    const app = await openAppContext({ env: io.env, onWarning: (message) => io.stderr(`kms-scout cache: warning: ${message}\n`) })
    let view: HostCacheView
    if (action === 'show') view = await showHostCache(app)
    else {
      const before = await showHostCache(app)
      let applicationId: string | undefined
      if (application !== undefined) {
        const entry = before.entries.find(
          (e) => e.application.toLowerCase() === application.toLowerCase() || e.applicationId === application.toLowerCase()
        )
        if (entry === undefined && !GUID.test(application))
          throw new UsageError(
            `no cached host for application '${application}'`,
            `cached: ${before.entries.map((e) => e.application).join(', ') || 'none'}; run kms-scout cache show`
          )
        applicationId = entry?.applicationId ?? application.toLowerCase()
      }
      view = await clearHostCache(app, applicationId)
      if (!ctx.json) io.stdout(`cleared ${before.entries.length - view.entries.length} cached host(s)\n`)
    }
    if (ctx.json) io.stdout(`${JSON.stringify(view, null, 2)}\n`)
    else if (action === 'show') io.stdout(formatCache(view))
    return 0
  }
}

function formatCache(view: HostCacheView): string {
  const lines = [`Host caching ${view.enabled ? 'on' : 'off (checks neither read nor write the cache)'}; file ${view.file}`]
  if (view.entries.length === 0) lines.push('No cached host: the next check discovers through DNS.')
  for (const e of view.entries) {
    const address = e.address !== undefined && e.address !== e.host ? ` (${e.address})` : ''
    const from = e.origin ? `, from _vlmcs._tcp.${e.origin.domain} (priority ${e.origin.priority}, weight ${e.origin.weight})` : ''
    lines.push(
      `${e.application.padEnd(12)} ${e.host}:${e.port}${address}, cached since ${e.cachedAt}, last answer ${e.lastSuccessAt}${from}`
    )
  }
  // host names come from DNS answers: inert before the terminal
  return `${lines.map((line) => inert(line, 1024)).join('\n')}\n`
}
