/** Public API of the DNS layer (what discovery, the CLI and the service use). */
export { DnsError, isDnsError, type DnsErrorCode, type DnsFailure } from './errors'
export { DEFAULT_DNS_PORT, DnsServerSpecError, formatDnsServer, parseDnsServer, toDnsServer, type DnsServer } from './server-spec'
export { canonicalDnsName, dnsNamesEqual, validateQueryName } from './names'
export type { DnsQueryType, DnsRecord, DnsReplyMessage } from './wire'
export {
  createDnsClient,
  DEFAULT_ATTEMPTS,
  DEFAULT_MAX_TCP_MESSAGE_BYTES,
  DEFAULT_TIMEOUT_MS,
  type DnsAnswer,
  type DnsClient,
  type DnsClientOptions,
  type DnsQueryOptions
} from './client'
export {
  DEFAULT_MAX_CNAME_HOPS,
  KMS_SRV_PREFIX,
  kmsSrvName,
  lookupKmsSrv,
  lookupSrv,
  resolveHostAddresses,
  type AddressLookupOutcome,
  type HostAddressResult,
  type SrvLookupOptions,
  type SrvLookupResult,
  type SrvTargetRecord,
  type TargetAddress
} from './srv-lookup'
export { discardTrace, type DnsTraceEvent, type DnsTransport, type TraceSink } from './trace'
export type { OsResolverConfig } from './os-config/resolver-config'
export { serversForDomain } from './os-config/resolver-config'
export { nodeResolverConfigDeps, readOsResolverConfig, type ResolverConfigDeps } from './os-config/read'
export { parseResolvConf, type ResolvConf } from './os-config/resolv-conf'
export { parseScutilDns, resolverConfigFromScutil, type ScutilDns, type ScutilResolver } from './os-config/scutil'
export {
  parseDnsClientGlobalSettingJson,
  parseDnsClientJson,
  parseDnsClientServerAddressJson,
  parsePrimarySuffixJson,
  windowsResolverConfig,
  WindowsConfigParseError
} from './os-config/windows'
