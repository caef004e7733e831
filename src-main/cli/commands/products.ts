/**
 * `kms-scout products [--search TEXT]`: the SKUs KMS Scout can claim in a query, with the KMS counted ID
 * (product group) each one activates against, its threshold (N_Policy), protocol version, GVLK (the public KMS
 * client setup key) and kind (volume / retail / preview); `--json` adds the host keys (CSVLKs) that activate it.
 */
import { listProducts, productKind, type ProductRow } from '../../service/products'
import { stringOption } from '../args'
import type { CliCommand } from '../commands'
import { EXIT, UsageError } from '../io'

function table(rows: ProductRow[]): string {
  const head = ['Product', 'SKU ID', 'KMS counted ID', 'N', 'Protocol', 'Kind', 'GVLK']
  const cells = rows.map((r) => [
    r.name,
    r.skuId,
    r.kmsCountedName,
    String(r.threshold),
    `v${r.protocol}`,
    productKind(r),
    r.gvlk === null ? '-' : `${r.gvlk}${r.gvlkIsGenerated ? ' (generated)' : ''}`
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)))
  const line = (c: string[]): string =>
    c
      .map((v, i) => (i === 3 ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  return [line(head), ...cells.map(line)].join('\n') + '\n'
}

export const productsCommand: CliCommand = {
  name: 'products',
  usage: 'products [--search TEXT] [--json]',
  help: `Options:
  --search TEXT   only products whose name (or other name, e.g. "Windows 11 Pro"), KMS counted ID, application,
                  SKU GUID or GVLK contain every word of TEXT
  --json          print {"ok":true,"count":N,"products":[…]} on stdout; each product also carries its other
                  names and the host keys (CSVLKs) that activate it

N is the number of clients the KMS host must count before it activates this product (N_Policy).
Kind: volume (a KMS host activates it), retail or preview (a genuine KMS host refuses it).
GVLK: the public KMS client setup key that puts a Windows or Office installation in KMS client mode.
Exit codes: 0 products listed, 1 nothing matched the search, 3 usage error.`,
  options: { search: { type: 'string' } },
  async run(ctx) {
    const { io } = ctx
    if (ctx.positionals.length > 0)
      throw new UsageError(
        `unexpected argument '${ctx.positionals[0]}'`,
        `to search, write: kms-scout products --search "${ctx.positionals.join(' ')}"`
      )
    const search = stringOption(ctx.values, 'search')
    const rows = listProducts(search)
    if (ctx.json) {
      io.stdout(`${JSON.stringify({ ok: true, search: search ?? null, count: rows.length, products: rows }, null, 2)}\n`)
    } else if (rows.length > 0) {
      io.stdout(table(rows))
    }
    if (rows.length === 0) {
      if (!ctx.json)
        io.stderr(`kms-scout products: no product matches '${search ?? ''}'\n  try fewer or shorter words, e.g. --search "server 2019"\n`)
      return EXIT.warning
    }
    return EXIT.ok
  }
}
