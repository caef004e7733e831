/**
 * DNS name helpers: validation of names we send, and comparison of names we receive.
 *
 * DNS compares names ASCII-case-insensitively (RFC 4343); only A-Z/a-z fold, nothing else. We keep names
 * without the trailing root dot internally.
 */
import { domainToASCII } from 'node:url'
import { DnsError } from './errors'

const MAX_NAME_LENGTH = 253
const MAX_LABEL_LENGTH = 63
/** Letters, digits, hyphen and underscore (service labels such as `_vlmcs` need the underscore). */
const LABEL_PATTERN = /^[A-Za-z0-9_-]+$/

/** Lower-cases A-Z only (RFC 4343) and strips one trailing dot. */
export function canonicalDnsName(name: string): string {
  const trimmed = name.endsWith('.') && name !== '.' ? name.slice(0, -1) : name
  return trimmed.replace(/[A-Z]/g, (c) => c.toLowerCase())
}

export function dnsNamesEqual(a: string, b: string): boolean {
  return canonicalDnsName(a) === canonicalDnsName(b)
}

/**
 * Checks a name we are about to put on the wire and returns its canonical ASCII form. Internationalised names
 * are converted to their `xn--` form. Throws {@link DnsError} code 'invalid-name' saying what is wrong.
 */
export function validateQueryName(input: string): string {
  let name = input.trim()
  if (name.endsWith('.')) name = name.slice(0, -1)
  if (name === '') throw new DnsError('invalid-name', `"${input}" is not a DNS name: it is empty`)
  // dns-packet writes labels without checking their length, so an over-long label would corrupt the query:
  // everything is checked here first.
  if (/[^\x20-\x7e]/.test(name)) {
    const ascii = domainToASCII(name)
    if (ascii === '')
      throw new DnsError(
        'invalid-name',
        `"${input}" is not a DNS name: it contains characters that cannot be converted to an ASCII (IDNA) name`
      )
    name = ascii
  }
  if (name.length > MAX_NAME_LENGTH) {
    throw new DnsError(
      'invalid-name',
      `"${input}" is not a DNS name: it is ${name.length} characters long, the limit is ${MAX_NAME_LENGTH}`
    )
  }
  for (const label of name.split('.')) {
    if (label === '')
      throw new DnsError('invalid-name', `"${input}" is not a DNS name: it has an empty label (two dots in a row or a leading dot)`)
    if (label.length > MAX_LABEL_LENGTH) {
      throw new DnsError(
        'invalid-name',
        `"${input}" is not a DNS name: the label "${label.slice(0, 20)}…" is ${label.length} characters long, the limit is ${MAX_LABEL_LENGTH}`
      )
    }
    if (!LABEL_PATTERN.test(label)) {
      throw new DnsError('invalid-name', `"${input}" is not a DNS name: the label "${label}" may contain only letters, digits, "-" and "_"`)
    }
  }
  return canonicalDnsName(name)
}
