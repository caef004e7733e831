/**
 * The names of other computers a technician may give: a DNS name (`pc01.corp.example`), a NetBIOS name (`PC01`) or
 * an IP literal (`10.0.0.5`, `fd00::5`). They travel to PowerShell as data anyway; checking them here turns a typo
 * or a pasted fragment of a command into a clear refusal before anything runs. NetBIOS names are limited here to
 * letters, digits, `-` and `_` (the characters Windows' setup allows), which is what a DNS label allows too.
 */
import { isIP } from 'node:net'
import { isHostName } from '../common/host-port'
import { LicensingError } from './errors'

/** NetBIOS computer names are at most 15 characters; a longer single label can only be a DNS name. */
const MAX_NAME_LENGTH = 253

/** The name, trimmed (IPv6 brackets removed), or a LicensingError('invalid-input') with the fix. */
export function checkComputerName(text: string): string {
  const trimmed = text.trim()
  const bare = trimmed.startsWith('[') && trimmed.endsWith(']') ? trimmed.slice(1, -1) : trimmed
  const shown = JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text)
  if (bare === '')
    throw new LicensingError('invalid-input', 'a computer name is empty', {
      fix: 'give a DNS name, NetBIOS name or IP address, e.g. pc01.corp.example'
    })
  if (isIP(bare) !== 0) return bare
  if (bare.length <= MAX_NAME_LENGTH && isHostName(bare) && !bare.endsWith('.')) return bare
  throw new LicensingError('invalid-input', `computer ${shown} is not a DNS name, NetBIOS name or IP address`, {
    fix: 'use letters, digits, - and . only (e.g. pc01 or pc01.corp.example), or an IP address; one computer per entry'
  })
}
