/**
 * `/etc/resolv.conf` (Linux, and macOS's compatibility copy), read the way glibc's resolver reads it
 * (resolv.conf(5)):
 *  - `nameserver ADDR` lines in order (glibc uses at most 3 — MAXNS; we keep all and warn);
 *  - `search a b c` and `domain d` are alternatives: the last of them in the file wins;
 *  - with neither, glibc uses the local host name's domain (text after the first dot), which the reader
 *    supplies; with no nameserver at all glibc asks 127.0.0.1.
 * Comments start with `#` or `;` (at line start; we also cut them mid-line — no domain contains them).
 */
import { isIP } from 'node:net'

export interface ResolvConf {
  readonly nameservers: readonly string[]
  /** The effective search list (from the last `search` or `domain` line). */
  readonly search: readonly string[]
  /** Which keyword produced `search`, or 'none'. */
  readonly searchFrom: 'search' | 'domain' | 'none'
  readonly options: readonly string[]
  readonly warnings: readonly string[]
}

const GLIBC_MAX_NAMESERVERS = 3

export function parseResolvConf(text: string): ResolvConf {
  const nameservers: string[] = []
  let search: string[] = []
  let searchFrom: ResolvConf['searchFrom'] = 'none'
  const options: string[] = []
  const warnings: string[] = []

  text.split(/\r?\n/).forEach((rawLine, index) => {
    const line = rawLine.replace(/[#;].*$/, '').trim()
    if (line === '') return
    const [keyword, ...values] = line.split(/\s+/)
    const where = `line ${index + 1}`
    switch (keyword) {
      case 'nameserver': {
        const address = values[0]
        if (address === undefined) {
          warnings.push(`${where}: "nameserver" without an address, ignored`)
        } else if (isIP(address) === 0) {
          warnings.push(`${where}: "${address}" is not an IP address, nameserver ignored`)
        } else {
          nameservers.push(address)
        }
        break
      }
      case 'search':
        search = values
        searchFrom = 'search'
        break
      case 'domain':
        search = values.slice(0, 1)
        searchFrom = values.length > 0 ? 'domain' : 'none'
        break
      case 'options':
        options.push(...values)
        break
      case 'sortlist':
        break
      default:
        warnings.push(`${where}: unknown keyword "${keyword}", ignored`)
    }
  })

  if (nameservers.length > GLIBC_MAX_NAMESERVERS) {
    warnings.push(
      `${nameservers.length} nameservers listed; glibc uses only the first ${GLIBC_MAX_NAMESERVERS} (KMS Scout tries all, in order)`
    )
  }
  return { nameservers, search, searchFrom, options, warnings }
}
