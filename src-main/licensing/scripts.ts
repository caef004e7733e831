/**
 * The two PowerShell scripts of the activation manager — fixed text shipped with the app, never built from input.
 * Everything a user gives (a computer name, a KMS host, a domain, a GVLK, product IDs) reaches them as data: one
 * JSON object on standard input, read with `[Console]::In.ReadToEnd() | ConvertFrom-Json`. PowerShell gets the
 * script itself through `-EncodedCommand` (UTF-16LE, base64), which leaves standard input free for that data and
 * needs no script file on disk (so no execution policy applies).
 *
 * Both print one JSON object (`ConvertTo-Json -Depth 4`); on a terminating error the `trap` prints
 * `{"error":{…}}` instead and exits with 1. The properties and methods are listed in docs/licensing.md §2–§4.
 */

/** Shared by both scripts: UTF-8 output, stop at the first error, and report it as JSON. */
const PREAMBLE = String.raw`$ErrorActionPreference = 'Stop'
[Console]::OutputEncoding = [System.Text.UTF8Encoding]::new($false)
trap {
  [pscustomobject]@{ error = [pscustomobject]@{
    message = $_.Exception.Message; errorId = $_.FullyQualifiedErrorId; category = [string]$_.CategoryInfo.Category
    hresult = $_.Exception.HResult; cimCode = $_.Exception.ErrorData.error_Code; nativeCode = [string]$_.Exception.NativeErrorCode
  } } | ConvertTo-Json -Depth 4
  exit 1
}
$request = [Console]::In.ReadToEnd() | ConvertFrom-Json
$cim = @{}
if ($request.computer) { $cim.CimSession = New-CimSession -ComputerName $request.computer -OperationTimeoutSec $request.timeoutSec }
`

/** Read: one pipeline per class (docs/licensing.md §2). Office 2010's classes exist only where it is installed. */
export const READ_SCRIPT = `# KMS Scout: read the licensing state through CIM (root\\cimv2)
${PREAMBLE}$products = Get-CimInstance @cim -ClassName SoftwareLicensingProduct -Filter 'PartialProductKey IS NOT NULL' |
  Select-Object ID, ApplicationID, Name, Description, ProductKeyChannel, PartialProductKey, LicenseStatus, LicenseStatusReason,
    GracePeriodRemaining, EvaluationEndDate, VLActivationInterval, VLRenewalInterval, VLActivationType, VLActivationTypeEnabled,
    KeyManagementServiceMachine, KeyManagementServicePort, KeyManagementServiceLookupDomain,
    DiscoveredKeyManagementServiceMachineName, DiscoveredKeyManagementServiceMachinePort,
    DiscoveredKeyManagementServiceMachineIpAddress, KeyManagementServiceProductKeyID, IsKeyManagementServiceMachine
$service = Get-CimInstance @cim -ClassName SoftwareLicensingService |
  Select-Object Version, ClientMachineID, KeyManagementServiceHostCaching, KeyManagementServiceListeningPort,
    KeyManagementServiceDnsPublishing, KeyManagementServiceLowPriority, KeyManagementServiceCurrentCount, RequiredClientCount,
    KeyManagementServiceTotalRequests, KeyManagementServiceFailedRequests, KeyManagementServiceUnlicensedRequests,
    KeyManagementServiceLicensedRequests, KeyManagementServiceOOBGraceRequests, KeyManagementServiceOOTGraceRequests,
    KeyManagementServiceNonGenuineGraceRequests, KeyManagementServiceNotificationRequests
$officeProducts = Get-CimInstance @cim -ClassName OfficeSoftwareProtectionProduct -Filter 'PartialProductKey IS NOT NULL' -ErrorAction SilentlyContinue |
  Select-Object ID, ApplicationID, Name, Description, PartialProductKey, LicenseStatus, LicenseStatusReason, GracePeriodRemaining,
    VLActivationInterval, VLRenewalInterval, KeyManagementServiceMachine, KeyManagementServicePort,
    DiscoveredKeyManagementServiceMachineName, DiscoveredKeyManagementServiceMachinePort, KeyManagementServiceProductKeyID
$officeService = Get-CimInstance @cim -ClassName OfficeSoftwareProtectionService -ErrorAction SilentlyContinue |
  Select-Object Version, ClientMachineID, KeyManagementServiceHostCaching
$elevated = if ($request.computer) { $null } else {
  ([Security.Principal.WindowsPrincipal][Security.Principal.WindowsIdentity]::GetCurrent()).IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator) }
[pscustomobject]@{ schema = 1; readAt = [DateTime]::UtcNow.ToString('o'); powershell = $PSVersionTable.PSVersion.ToString(); elevated = $elevated
  service = $service; products = $products; officeService = $officeService; officeProducts = $officeProducts } | ConvertTo-Json -Depth 4
`

/**
 * Change: the CIM methods slmgr calls for /skms, /ckms, /skms-domain, /ckms-domain, /skhc, /ckhc, /ipk, /ato
 * (docs/licensing.md §4). `Invoke-CimMethod` returns each method's ReturnValue; they are printed so a non-zero one
 * is not lost.
 */
export const ACTION_SCRIPT = `# KMS Scout: one licensing action through CIM (root\\cimv2)
${PREAMBLE}$service = Get-CimInstance @cim -ClassName SoftwareLicensingService
$returns = @(switch ($request.action) {
  'set-host' {
    $service | Invoke-CimMethod -MethodName SetKeyManagementServiceMachine -Arguments @{ MachineName = [string]$request.host }
    $service | Invoke-CimMethod -MethodName SetKeyManagementServicePort -Arguments @{ PortNumber = [uint32]$request.port } }
  'clear-host' {
    $service | Invoke-CimMethod -MethodName ClearKeyManagementServiceMachine
    $service | Invoke-CimMethod -MethodName ClearKeyManagementServicePort }
  'set-domain' { $service | Invoke-CimMethod -MethodName SetKeyManagementServiceLookupDomain -Arguments @{ LookupDomain = [string]$request.domain } }
  'clear-domain' { $service | Invoke-CimMethod -MethodName ClearKeyManagementServiceLookupDomain }
  'host-caching' { $service | Invoke-CimMethod -MethodName DisableKeyManagementServiceHostCaching -Arguments @{ DisableCaching = -not [bool]$request.enabled } }
  'install-gvlk' {
    $service | Invoke-CimMethod -MethodName InstallProductKey -Arguments @{ ProductKey = [string]$request.productKey }
    $service | Invoke-CimMethod -MethodName RefreshLicenseStatus }
  'activate' {
    Get-CimInstance @cim -ClassName SoftwareLicensingProduct -Filter 'PartialProductKey IS NOT NULL' |
      Where-Object { $request.productIds -contains $_.ID } | Invoke-CimMethod -MethodName Activate
    $service | Invoke-CimMethod -MethodName RefreshLicenseStatus }
  'refresh' { $service | Invoke-CimMethod -MethodName RefreshLicenseStatus }
  default { throw "unknown action" }
})
[pscustomobject]@{ schema = 1; action = [string]$request.action; returnValues = @($returns | ForEach-Object { $_.ReturnValue }) } | ConvertTo-Json -Depth 4
`

/** The script as `-EncodedCommand` wants it: base64 of its UTF-16LE bytes. */
function encodeScript(script: string): string {
  return Buffer.from(script, 'utf16le').toString('base64')
}

/** The arguments PowerShell is started with (no profile, no prompts, no banner); the script travels encoded. */
export function powerShellArguments(script: string): string[] {
  return ['-NoLogo', '-NoProfile', '-NonInteractive', '-EncodedCommand', encodeScript(script)]
}
