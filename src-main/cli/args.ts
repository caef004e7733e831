/**
 * Reading parseArgs' values, and the flags several commands share. The checks themselves (what a host, a GUID or
 * a product name must look like, and the words for each problem) are the service's (service/inputs.ts), so the
 * CLI and the app refuse the same input with the same sentence; a refusal ends the command with exit 3.
 */
import type { HostPort } from '../common/host-port'
import type { KmsProtocolVersion, Sku } from '../protocol'
import {
  CLIENT_TIMEOUT_RANGE_MS,
  parseDnsServerInput,
  parseKmsHost,
  parseLookupDomain,
  parseProtocolVersion,
  parseWholeNumber,
  parseWorkstationName
} from '../service/inputs'
import { chooseProduct } from '../service/products'
import type { CommandContext } from './commands'

/** The last value of a string option (parseArgs gives arrays only for `multiple` options). */
export function stringOption(values: CommandContext['values'], name: string): string | undefined {
  const v = values[name]
  if (Array.isArray(v)) {
    const last = v[v.length - 1]
    return typeof last === 'string' ? last : undefined
  }
  return typeof v === 'string' ? v : undefined
}

/** Every value of a repeatable string option. */
export function stringOptions(values: CommandContext['values'], name: string): string[] {
  const v = values[name]
  if (v === undefined) return []
  return (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string')
}

export function booleanOption(values: CommandContext['values'], name: string): boolean {
  return values[name] === true
}

/** Applies `parse` to the option's value when it is given. */
export function optional<T>(values: CommandContext['values'], name: string, parse: (text: string, label: string) => T): T | undefined {
  const text = stringOption(values, name)
  return text === undefined ? undefined : parse(text, `--${name}`)
}

/** HOST[:PORT] or [IPv6]:PORT, default port 1688. */
export function parseHostArg(text: string, onNote?: (note: string) => void): HostPort {
  return parseKmsHost(text, onNote)
}

/** `--product NAME` / `--sku GUID`; undefined when neither is given. */
export function productArgs(values: CommandContext['values']): Sku | undefined {
  return chooseProduct({ name: stringOption(values, 'product'), skuId: stringOption(values, 'sku') }, { name: '--product', skuId: '--sku' })
}

export function protocolArg(values: CommandContext['values']): KmsProtocolVersion | undefined {
  return optional(values, 'protocol', parseProtocolVersion)
}

/** `--timeout MS`: one limit for every phase. */
export function timeoutArg(values: CommandContext['values']): number | undefined {
  return optional(values, 'timeout', (text, label) => parseWholeNumber(text, label, CLIENT_TIMEOUT_RANGE_MS, 'milliseconds', 3000))
}

export function workstationArg(values: CommandContext['values']): string | undefined {
  return optional(values, 'workstation', parseWorkstationName)
}

/** `--domain D`, repeatable, each checked. */
export function domainArgs(values: CommandContext['values']): string[] | undefined {
  const list = stringOptions(values, 'domain')
  return list.length === 0 ? undefined : list.map((domain) => parseLookupDomain(domain, '--domain'))
}

/** `--dns-server IP[:PORT]`, as its canonical text. */
export function dnsServerArg(values: CommandContext['values']): string | undefined {
  return optional(values, 'dns-server', parseDnsServerInput)
}
