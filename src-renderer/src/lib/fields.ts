/** The optional discovery overrides of a form, as the API expects them (empty fields are left out). */
export function discoveryOverrides(domain: string, dnsServer: string): { domains?: string[]; dnsServer?: string } {
  const domains = domain.split(/[\s,]+/).filter(Boolean)
  return {
    ...(domains.length > 0 ? { domains } : {}),
    ...(dnsServer.trim() ? { dnsServer: dnsServer.trim() } : {})
  }
}
