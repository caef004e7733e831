/**
 * The Windows error codes a technician sees on a KMS client (slmgr, events 12288/12289, the activation UI) and on
 * the host, each with a one-line meaning and the usual fix — the ONE table KMS Scout uses to explain an outcome,
 * so the CLI's `query` and `check`, the app and the reports say the same thing for the same failure. Collected in
 * docs/windows-client.md (from Microsoft's "Resolve Windows activation error codes" and KMS troubleshooting
 * pages); entries marked `source: 'win32'` are plain Win32 RPC errors those pages do not list.
 *
 * Which code stands for which outcome of our own flow is decided in discovery/error-map.ts.
 */

export interface WindowsCodeEntry {
  /** `0xC004F074` — upper-case hex, as slmgr prints it. */
  readonly code: string
  readonly value: number
  /** Symbolic name where Microsoft's headers give one we are sure of. */
  readonly symbol?: string
  /** The words people search for. */
  readonly summary: string
  /** One line: what it means for KMS activation. */
  readonly meaning: string
  /** The usual fix. */
  readonly fix: string
  /** 'research': the research file's table (Microsoft pages); 'win32': a standard Win32 error, not on those pages. */
  readonly source: 'research' | 'win32'
}

function entry(
  value: number,
  fields: Omit<WindowsCodeEntry, 'code' | 'value' | 'source'> & { source?: WindowsCodeEntry['source'] }
): WindowsCodeEntry {
  return { code: formatCode(value), value: value >>> 0, source: 'research', ...fields }
}

/** `0xC004F074`: upper-case hex, eight digits, as slmgr prints it. */
export function formatCode(value: number): string {
  return `0x${(value >>> 0).toString(16).toUpperCase().padStart(8, '0')}`
}

export const WINDOWS_CODE = {
  dnsNameDoesNotExist: 0x8007232b,
  dnsNoRecords: 0x8007251d,
  dnsServerFailure: 0x8007232a,
  invalidName: 0x8007007b,
  noKmsContacted: 0xc004f074,
  countInsufficient: 0xc004f038,
  kmsNotResponding: 0xc004f039,
  kmsHostNotActivated: 0xc004f041,
  kmsCannotBeUsed: 0xc004f042,
  invalidTimestamp: 0xc004f06c,
  invalidData: 0x8007000d,
  rpcServerUnavailable: 0x800706ba,
  rpcCallFailed: 0x800706be,
  clientTableFull: 0xc004d104,
  accessDenied: 0x80070005,
  graceExpired: 0xc004f009,
  winrmCannotConnect: 0x80338012,
  kerberosNoCredentials: 0x8009030e
} as const

/** The table. Order: discovery, contact, host answers, then the rest of the research file's list. */
export const WINDOWS_ERROR_TABLE: readonly WindowsCodeEntry[] = [
  entry(WINDOWS_CODE.dnsNameDoesNotExist, {
    symbol: 'DNS_ERROR_RCODE_NAME_ERROR',
    summary: 'DNS name does not exist',
    meaning: 'No _vlmcs._tcp SRV record was found: the name does not exist (NXDOMAIN) in any DNS domain the client searched.',
    fix: "Check that the KMS host is installed and publishes its SRV record (event 12294 on the host) in a domain on the client's DNS suffix search list, or set the host directly (slmgr /skms host:port)."
  }),
  entry(0x80092328, {
    summary: 'DNS name does not exist',
    meaning: "Same as 0x8007232B: no KMS SRV record was found for the client's domain.",
    fix: "Verify the KMS host publishes _vlmcs._tcp in the client's domain, or set the host with slmgr /skms."
  }),
  entry(WINDOWS_CODE.dnsNoRecords, {
    symbol: 'DNS_INFO_NO_RECORDS',
    summary: 'No records found for given DNS query',
    meaning: 'The _vlmcs._tcp name exists but holds no usable SRV record (or only the "not available" target ".").',
    fix: 'Create the SRV record (_vlmcs._tcp, priority 0, weight 0, port 1688, target = KMS host FQDN) or re-enable DNS publishing on the KMS host; meanwhile use slmgr /skms.'
  }),
  entry(WINDOWS_CODE.dnsServerFailure, {
    symbol: 'DNS_ERROR_RCODE_SERVER_FAILURE',
    summary: 'DNS server failure',
    meaning: 'The DNS servers failed, refused or did not answer the SRV query, so the client could not look for KMS hosts.',
    fix: 'Check the network path to the DNS servers, or ask the server that holds the zone (--dns-server IP[:PORT]).'
  }),
  entry(WINDOWS_CODE.invalidName, {
    symbol: 'ERROR_INVALID_NAME',
    summary: 'The filename, directory name, or volume label syntax is incorrect',
    meaning: 'No DNS domain to search: the client has no primary DNS suffix and no suffix search list (seen on stand-alone clients).',
    fix: 'Give the machine a primary DNS suffix or search list, set a lookup domain (slmgr /skms-domain, --domain), or set the host (slmgr /skms, --host).'
  }),
  entry(WINDOWS_CODE.noKmsContacted, {
    summary: 'No Key Management Service (KMS) could be contacted',
    meaning: 'Every KMS host the client tried failed or returned an error; the attempts show why for each host.',
    fix: 'Check each attempt (on Windows: event 12288): KMS service (sppsvc) running on the host, TCP 1688 open (Test-NetConnection -Port 1688), stale _VLMCS SRV or A records; also host/client version mismatch or >4 h clock skew (inner 0xC004F06C).'
  }),
  entry(WINDOWS_CODE.countInsufficient, {
    symbol: 'SL_E_VL_NOT_ENOUGH_COUNT',
    summary: 'The count reported by your Key Management Service (KMS) is insufficient',
    meaning: "The host answered, but its count is below the product's threshold, so a client would not activate.",
    fix: 'More clients must contact the host (25 for Windows client editions, 5 for Windows Server and Office); check the count with slmgr /dli on the host. A count stuck low means cloned machines with duplicate CMIDs (sysprep /generalize).'
  }),
  entry(WINDOWS_CODE.kmsNotResponding, {
    summary: 'The Key Management Service (KMS) is not enabled / did not respond',
    meaning: 'The KMS host did not respond to the request.',
    fix: 'Check the network path and anything filtering TCP 1688 between client and host.'
  }),
  entry(WINDOWS_CODE.kmsHostNotActivated, {
    summary: 'The Key Management Service (KMS) is not activated',
    meaning: 'The KMS host itself is not activated, so it cannot activate clients.',
    fix: 'Activate the KMS host (its CSVLK) online or by phone.'
  }),
  entry(WINDOWS_CODE.kmsCannotBeUsed, {
    symbol: 'SL_E_VL_KEY_MANAGEMENT_SERVICE_ID_MISMATCH',
    summary: 'The specified Key Management Service (KMS) cannot be used',
    meaning: "The host refuses this product: its host key (CSVLK) does not cover this product's KMS ID.",
    fix: 'Point the client at a host with the right CSVLK, or install the CSVLK / updates that add this product on the host.'
  }),
  entry(WINDOWS_CODE.invalidTimestamp, {
    symbol: 'SL_E_VL_INVALID_TIMESTAMP',
    summary: 'The activation request timestamp is invalid',
    meaning: 'Client and host clocks differ by more than 4 hours (UTC; the time zone does not matter).',
    fix: "Synchronise the client's and the host's clocks (NTP / domain time)."
  }),
  entry(WINDOWS_CODE.invalidData, {
    symbol: 'ERROR_INVALID_DATA',
    summary: 'The data is invalid (host rejected the request)',
    meaning: 'The host rejected the KMS request as invalid data, usually because it does not support this KMS protocol version.',
    fix: 'Update the KMS host for this product (newer OS/CSVLK), or check with --protocol 5 / 4 what it supports; a KMS emulator on the same machine also causes this.'
  }),
  entry(WINDOWS_CODE.rpcServerUnavailable, {
    symbol: 'RPC_S_SERVER_UNAVAILABLE',
    summary: 'The RPC server is unavailable',
    meaning: 'No TCP connection to the KMS port: refused, unreachable or no reply to the connection attempt.',
    fix: 'Open TCP 1688 on the KMS host (firewall exception for the Key Management Service), check the host and its service are up, remove stale SRV records of retired hosts.'
  }),
  entry(WINDOWS_CODE.rpcCallFailed, {
    symbol: 'RPC_S_CALL_FAILED',
    summary: 'The remote procedure call failed',
    meaning: 'The connection was made, but the RPC exchange broke off: reset, closed, faulted, or no reply in time.',
    fix: 'Check the KMS service on the host and anything in between (proxy, IPS, load balancer) that cuts or holds TCP 1688 connections.',
    source: 'win32'
  }),
  entry(WINDOWS_CODE.clientTableFull, {
    symbol: 'SL_REMAPPING_SP_STATUS_INVALIDARG',
    summary: 'Host reported invalid data / client table full',
    meaning: 'The host refused the request with an invalid-argument status (emulators send it when their client table is full).',
    fix: "Check the host's configuration and logs."
  }),
  entry(0xc004f035, {
    summary: 'Invalid Volume License Key',
    meaning: 'The computer lacks the BIOS Windows marker a volume upgrade license needs.',
    fix: 'Use a MAK or retail key, or activate by phone.'
  }),
  entry(0xc004f050, {
    summary: 'The product key is invalid',
    meaning: 'The key is wrong for this edition (typos, look-alike characters).',
    fix: 'Install the right key (GVLK for KMS) for this edition.'
  }),
  entry(0xc004f014, {
    summary: 'The product key is not available',
    meaning: 'No product key is installed.',
    fix: 'Install a GVLK (for KMS) or a MAK.'
  }),
  entry(0xc004f00f, {
    summary: 'Hardware ID binding is beyond tolerance',
    meaning: 'The hardware changed too much since activation.',
    fix: 'For KMS clients: restart, or run slmgr /ato.'
  }),
  entry(0xc004f009, {
    summary: 'The grace period expired',
    meaning: 'The client is in the Notification state.',
    fix: 'Activate the client.'
  }),
  entry(0xc004c008, {
    summary: 'The activation server determined that the specified product key could not be used',
    meaning: 'The KMS host key (CSVLK) exceeded its activation limit (10 activations on up to six computers).',
    fix: 'Contact the Microsoft activation center.'
  }),
  entry(WINDOWS_CODE.accessDenied, {
    symbol: 'E_ACCESSDENIED',
    summary: 'Access denied',
    meaning: 'The command needs administrative rights.',
    fix: 'Run KMS Scout as administrator (an elevated prompt for the CLI, "Run as administrator" for the app).'
  }),
  // Codes a licensing read reports as LicenseStatusReason (docs/licensing.md §3), or a remote read over WinRM fails
  // with (docs/licensing.md §5). Their meaning and fix are written for that use.
  entry(0xc004f056, {
    symbol: 'SL_E_VL_MACHINE_NOT_BOUND',
    summary: 'Seen on KMS clients in the Notification state',
    meaning:
      'Reported by KMS clients (GVLK installed) that are not activated; its exact meaning is not confirmed on a Microsoft page, the name suggests the machine is not bound to a KMS activation.',
    fix: 'Activate the client against a KMS host (kms-scout activate, slmgr /ato) and check the host it uses with the cross-check.'
  }),
  entry(0xc004f200, {
    summary: 'Non-genuine',
    meaning: 'Windows considers the installation non-genuine, which puts it in the non-genuine grace or Notification state.',
    fix: 'Reinstall a genuine key for this edition (for KMS, the GVLK) and activate.'
  }),
  entry(WINDOWS_CODE.winrmCannotConnect, {
    summary: 'The client cannot connect to the destination specified in the request (WinRM)',
    meaning:
      'The computer answered, but nothing accepts WinRM (WS-Management) requests there: the WinRM service is stopped or has no listener.',
    fix: "On that computer run 'winrm quickconfig' (or Enable-PSRemoting) as administrator, and allow WinRM (TCP 5985) through its firewall.",
    source: 'win32'
  }),
  entry(WINDOWS_CODE.kerberosNoCredentials, {
    symbol: 'SEC_E_NO_CREDENTIALS',
    summary: 'WinRM cannot process the request: Kerberos authentication failed',
    meaning:
      'WinRM could not authenticate to the computer with Kerberos: not in the same (or a trusted) domain, or a name without an SPN, such as an IP address.',
    fix: "Use the computer's domain name from a domain account, or add it to WinRM TrustedHosts on this machine and use HTTPS.",
    source: 'win32'
  })
]

const byValue = new Map(WINDOWS_ERROR_TABLE.map((e) => [e.value, e]))

/** The entry for a code given as a number or as text (`0xC004F074`, `C004F074`, case-insensitive). */
export function lookupWindowsCode(code: number | string): WindowsCodeEntry | undefined {
  let value: number
  if (typeof code === 'number') value = code >>> 0
  else {
    const text = code.trim().replace(/^0x/i, '')
    if (!/^[0-9a-f]{1,8}$/i.test(text)) return undefined
    value = Number.parseInt(text, 16) >>> 0
  }
  return byValue.get(value)
}

/** Like {@link lookupWindowsCode} but never undefined: an unknown code is shown in hex with a generic line. */
export function explainWindowsCode(value: number): WindowsCodeEntry {
  return (
    lookupWindowsCode(value) ??
    entry(value, {
      summary: `Error ${formatCode(value)}`,
      meaning: `The host or the client reported ${formatCode(value)}, which KMS Scout has no explanation for.`,
      fix: "Search for the code in Microsoft's activation error list and check the KMS host's event log (Key Management Service log, event 12290)."
    })
  )
}
