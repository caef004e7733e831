/** Public API of discovery: SRV selection, the client flow, `check` and `discover` for the CLI and the app service. */
export { createSeededRandom, randomIntFromFloat, uniformInt, type RandomInt, type SeededRandom } from './srv-prng'
export {
  createSrvPicker,
  firstPickProbabilities,
  orderSrvRecords,
  type SrvCandidate,
  type SrvDrawEvent,
  type SrvPicker,
  type SrvRemoveEvent,
  type SrvSelectionMode,
  type SrvSelectionOptions,
  type SrvSelectionTraceEvent
} from './srv-selection'
export { formatHostPort, type Probe, type ProbeFailure, type ProbeFailureCode, type ProbeOutcome, type ProbeTarget, type ProbeVerified } from './probe'
export {
  explainWindowsCode,
  formatCode,
  lookupWindowsCode,
  WINDOWS_CODE,
  WINDOWS_ERROR_TABLE,
  windowsCodeForDiscoveryFailure,
  windowsCodeForProbeFailure,
  type WindowsCodeEntry
} from './error-map'
export { createTraceRecorder, formatTraceEntry, type CandidateSource, type FlowEvent, type TraceEntry, type TraceInput, type TraceRecorder } from './trace'
export { checkDnsServer, checkLookupDomain, DiscoveryConfigError, planDnsServers, planDomains, type DomainPlan, type ServerPlan } from './domains'
export {
  DEFAULT_ABORT_GRACE_MS,
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_STAGGER_MS,
  runFailover,
  type AttemptRecord,
  type CandidateSupply,
  type FailoverCandidate,
  type FailoverMode,
  type FailoverOptions,
  type FailoverResult
} from './failover'
export {
  runClientFlow,
  type AnsweredHost,
  type CacheSummary,
  type ClientFlowDeps,
  type ClientFlowOptions,
  type ClientFlowResult,
  type DiscoverySummary,
  type DomainResultView,
  type FlowError,
  type HostCacheLike,
  type SrvRecordView
} from './client-flow'
export { createKmsProbe, probeFailureOf, type KmsAnswerSummary, type KmsProbeOptions } from './kms-probe'
export { CHECK_EXIT, judge, resolveCheckProduct, runCheck, type CheckDeps, type CheckOptions, type CheckProductView, type CheckReport, type CheckStatus } from './run-check'
export { runDiscovery, type DiscoveryDeps, type DiscoveryOptions, type DiscoveryReport, type DomainDiscovery, type RankedRecord } from './run-discovery'
