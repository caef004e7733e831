/**
 * The one table of what a DNS server's answer to a dynamic update means and what to do about it: the RCODEs of
 * RFC 2136 §2.2 and the TSIG errors of RFC 8945 §5.3 (carried in the TSIG record of a NOTAUTH answer), plus the
 * outcomes that never reach an RCODE (no answer, an answer whose signature does not verify). The CLI, the app and
 * the lab host's publishing all explain an update through it.
 */

export interface UpdateOutcomeEntry {
  /** `NOERROR`, `REFUSED`, `BADSIG`, … or one of ours in lower case (`timeout`, `network`, `unverified`, `malformed`). */
  readonly code: string
  readonly meaning: string
  readonly fix: string
}

const TABLE: readonly UpdateOutcomeEntry[] = [
  { code: 'NOERROR', meaning: 'the server made the change', fix: 'nothing to fix' },
  {
    code: 'FORMERR',
    meaning: 'the server could not read the update',
    fix: 'the server may not support dynamic update (RFC 2136); add the records by hand with plan-dns'
  },
  {
    code: 'SERVFAIL',
    meaning: 'the server failed while applying the update (it could not write the zone or its journal, or could not forward it)',
    fix: "look in the DNS server's log; on a secondary server, send the update to the zone's primary instead"
  },
  {
    code: 'NXDOMAIN',
    meaning: 'a name the update depends on does not exist',
    fix: 'check the domain; publish into a zone the server holds'
  },
  {
    code: 'NOTIMP',
    meaning: 'the server does not do dynamic updates',
    fix: "send the update to the zone's primary server, or add the records by hand (plan-dns prints them)"
  },
  {
    code: 'REFUSED',
    meaning: 'the server refuses updates to this zone from this client or key',
    fix: 'allow this key (or this address) to update the zone — BIND: allow-update / update-policy; a Windows zone set to "Secure only" accepts only domain members (GSS-TSIG)'
  },
  { code: 'YXDOMAIN', meaning: 'a name that must not exist exists', fix: 'look at the records already in the zone' },
  { code: 'YXRRSET', meaning: 'a record set that must not exist exists', fix: 'look at the records already in the zone' },
  { code: 'NXRRSET', meaning: 'a record set that must exist does not', fix: 'look at the records already in the zone' },
  {
    code: 'NOTAUTH',
    meaning: 'the server is not authoritative for the zone (or did not accept the signature)',
    fix: "send the update to the zone's primary server, and give --zone when the domain lies inside a larger zone"
  },
  {
    code: 'NOTZONE',
    meaning: 'the record is not inside the zone named in the update',
    fix: 'give the zone that holds the domain (--zone), or publish into a domain of that zone'
  },
  {
    code: 'BADSIG',
    meaning: "the signature does not verify: the server's secret for this key name differs from ours",
    fix: 'use the key file the DNS server was configured with (the same secret)'
  },
  {
    code: 'BADKEY',
    meaning: 'the server does not know this key name, or knows it with another algorithm',
    fix: 'use the key file the server was configured with: the key name and algorithm must match its key statement'
  },
  {
    code: 'BADTIME',
    meaning: "the signature's time is too far from the server's clock (more than 5 minutes)",
    fix: 'set the clocks of this machine and the DNS server right (NTP)'
  },
  { code: 'BADTRUNC', meaning: 'the server refused a truncated signature', fix: 'use a key with a full-length MAC' },
  {
    code: 'timeout',
    meaning: 'the DNS server did not answer the update',
    fix: 'check the server address and port, and that a firewall lets DNS (UDP and TCP 53) through'
  },
  {
    code: 'network',
    meaning: 'the DNS server could not be reached',
    fix: 'check the server address and port, and that it runs'
  },
  {
    code: 'unverified',
    meaning: "the server answered, but its answer is not signed with our key, so it may not be the server's",
    fix: 'check that the key file matches the server, and that nothing between here and the server answers DNS in its place'
  },
  {
    code: 'malformed',
    meaning: 'the server sent an answer that could not be read',
    fix: 'check that the address is a DNS server; try another server of the zone'
  }
]

const RCODE_NAMES: Readonly<Record<number, string>> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
  6: 'YXDOMAIN',
  7: 'YXRRSET',
  8: 'NXRRSET',
  9: 'NOTAUTH',
  10: 'NOTZONE',
  16: 'BADSIG',
  17: 'BADKEY',
  18: 'BADTIME',
  22: 'BADTRUNC'
}

/** `REFUSED` for 5, `BADSIG` for 16, `RCODE23` for a value without a name. */
export function updateRcodeName(value: number): string {
  return RCODE_NAMES[value] ?? `RCODE${value}`
}

/** The entry for a code of the table; an unknown RCODE gets a generic one. */
export function explainUpdateOutcome(code: string): UpdateOutcomeEntry {
  return (
    TABLE.find((e) => e.code === code) ?? {
      code,
      meaning: `the server answered ${code}, which dynamic update does not define`,
      fix: "look in the DNS server's log"
    }
  )
}
