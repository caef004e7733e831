/**
 * Named verification checks (docs/protocol.md §7.5). Every response verification reports the list of checks it ran with
 * their status, and on failure names the first failing one — so a technician can tell a broken or fake host from a
 * real one ("hmac failed" vs "iv-echo failed" vs "rpc call-id mismatch").
 */

export type CheckName =
  /** RPC PDU sanity: ptype, version 5.0, drep, flags FIRST|LAST only, auth_length 0, cancel_count, reserved */
  | 'pdu'
  /** response call_id equals the request's */
  | 'call-id'
  /** response p_cont_id equals the context the request used */
  | 'context-id'
  /** alloc_hint equals the stub length (or 0, "no hint") */
  | 'alloc-hint'
  /** NDR: size = max_count, referent id 0x20000, zero alignment pad */
  | 'ndr'
  /** the RPC return value after a payload is 0 */
  | 'hresult'
  /** request outer = request inner = response outer = response inner version */
  | 'version'
  /** V5/V6 PKCS#7 padding after decryption */
  | 'padding'
  /** PIDSize even, 2..128 */
  | 'epid-length'
  /** ePID NUL-terminated with no NUL inside */
  | 'epid-nul'
  /** ePID syntax (parts, digits, date) */
  | 'epid-format'
  | 'cmid-echo'
  | 'client-time-echo'
  /** V4 MAC over the base response */
  | 'v4-mac'
  /** V5/V6: SHA-256(RandomXoredIVs ⊕ D(request IV)) = Hash */
  | 'hash'
  /** V5: response wire IV = request IV */
  | 'iv-echo'
  /** V6: XoredIVs = D(request IV) */
  | 'xored-ivs'
  /** V6: HMAC with the key from the echoed ClientTime's slot (±1 slot accepted with a warning) */
  | 'hmac'
  /** V6: response wire IV differs from the request IV (warning only, "emulator using v5 rules") */
  | 'iv-differs'
  /** KMS response length matches the length implied by PIDSize (excess is a warning) */
  | 'length'

export type CheckStatus = 'pass' | 'warn' | 'fail'

export interface CheckResult {
  name: CheckName
  status: CheckStatus
  /** what was found, readable */
  detail: string
}

/** Collects check results; the first failure is the verdict. */
export class CheckList {
  readonly results: CheckResult[] = []

  pass(name: CheckName, detail = 'ok'): void {
    this.results.push({ name, status: 'pass', detail })
  }

  warn(name: CheckName, detail: string): void {
    this.results.push({ name, status: 'warn', detail })
  }

  fail(name: CheckName, detail: string): void {
    this.results.push({ name, status: 'fail', detail })
  }

  /**
   * pass or fail depending on `ok`. A `failDetail` that is costly to build (hex dumps, formatted times) can be
   * given as a function, so the usual passing check does not pay for it.
   */
  check(name: CheckName, ok: boolean, failDetail: string | (() => string), passDetail = 'ok'): boolean {
    if (ok) this.pass(name, passDetail)
    else this.fail(name, typeof failDetail === 'function' ? failDetail() : failDetail)
    return ok
  }

  firstFailure(): CheckResult | undefined {
    return this.results.find((r) => r.status === 'fail')
  }
}
