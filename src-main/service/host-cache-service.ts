/**
 * The KMS host cache shown and cleared, for the Settings page and `kms-scout cache show|clear`. Clearing removes
 * the cached host, which is what `slmgr /ckhc` does to the cache on Windows (docs/windows-client.md §1.4): the
 * next check discovers again. (It does not turn caching off; that is the settings' host caching.)
 */
import type { HostCacheView } from '../api/contract'
import { productCatalog } from '../protocol'
import type { AppContext } from './app-context'

export async function showHostCache(ctx: AppContext): Promise<HostCacheView> {
  const entries = await ctx.hostCache.all()
  return {
    enabled: ctx.settings.current().client.hostCaching,
    file: ctx.paths.hostCache,
    entries: Object.entries(entries)
      .map(([applicationId, entry]) => ({
        applicationId,
        application: productCatalog.applicationById(applicationId)?.name ?? applicationId,
        host: entry.host,
        port: entry.port,
        ...(entry.address !== undefined ? { address: entry.address } : {}),
        cachedAt: entry.cachedAt,
        lastSuccessAt: entry.lastSuccessAt,
        ...(entry.origin !== undefined ? { origin: entry.origin } : {})
      }))
      .sort((a, b) => a.application.localeCompare(b.application))
  }
}

/** Clears one application's entry, or all of them; returns what is left. */
export async function clearHostCache(ctx: AppContext, applicationId?: string): Promise<HostCacheView> {
  if (applicationId === undefined) await ctx.hostCache.clearAll()
  else await ctx.hostCache.clear(applicationId)
  return showHostCache(ctx)
}
