/**
 * Running one of the fixed scripts (scripts.ts): which PowerShell, how it is started (`spawn`, never a shell), the
 * request written to its standard input as JSON, and the limits — a deadline after which the process is killed, and
 * a cap on what it may print.
 *
 * The executable is Windows PowerShell 5.1 by absolute path (`%SystemRoot%\System32\WindowsPowerShell\v1.0\
 * powershell.exe`), so no PATH lookup can pick another program. `KMS_SCOUT_POWERSHELL` names another executable —
 * PowerShell 7's pwsh.exe, or the recorded-output stand-in the tests use on any OS (test/fixtures/licensing).
 */
import { windowsPowerShellPath } from '../common/windows-paths'
import { spawn } from 'node:child_process'
import { isAbsolute, win32 } from 'node:path'
import { LICENSING_DEFAULTS } from '../common/defaults'
import { LicensingError } from './errors'
import { powerShellArguments } from './scripts'

/** The environment variable that names the PowerShell executable to run instead of Windows PowerShell. */
const POWERSHELL_OVERRIDE_VARIABLE = 'KMS_SCOUT_POWERSHELL'

export interface PowerShellHost {
  /** The environment the child gets (PowerShell needs SystemRoot, the tests' stand-in needs PATH). */
  readonly env: NodeJS.ProcessEnv
  /** `process.platform` of this machine. */
  readonly platform: NodeJS.Platform
}

/** The PowerShell executable to run, or a LicensingError('needs-windows') that says why there is none. */
export function locatePowerShell(host: PowerShellHost): string {
  const override = host.env[POWERSHELL_OVERRIDE_VARIABLE]?.trim()
  if (override !== undefined && override !== '') {
    if (!isAbsolute(override) && !win32.isAbsolute(override))
      throw new LicensingError('invalid-input', `${POWERSHELL_OVERRIDE_VARIABLE} '${override}' is not an absolute path`, {
        fix: `give the full path of the PowerShell executable, e.g. C:\\Program Files\\PowerShell\\7\\pwsh.exe, or unset ${POWERSHELL_OVERRIDE_VARIABLE}`
      })
    return override
  }
  if (host.platform !== 'win32')
    throw new LicensingError('needs-windows', "reading and changing Windows' activation state needs Windows", {
      fix: `run KMS Scout on the Windows computer (or on a Windows machine that can reach the others over WinRM); the KMS checks, discovery and the lab host work here`
    })
  return windowsPowerShellPath(host.env)
}

export interface PowerShellRun {
  readonly exitCode: number | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * The request as JSON with every non-ASCII character escaped (`\u00e9`): PowerShell 5.1 reads standard input in the
 * console's code page, and pure ASCII reads the same in every code page.
 */
function requestJson(request: object): string {
  return JSON.stringify(request).replace(/[\u0080-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** Runs `script` with `request` on standard input; rejects with a LicensingError on a timeout or a start failure. */
export function runPowerShell(
  executable: string,
  script: string,
  request: object,
  options: { env: NodeJS.ProcessEnv; timeoutMs: number }
): Promise<PowerShellRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(executable, powerShellArguments(script), {
      env: options.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      shell: false,
      windowsHide: true
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    let size = 0
    let failure: LicensingError | undefined
    let settled = false
    const stop = (error: LicensingError): void => {
      failure ??= error
      child.kill('SIGKILL')
    }
    const timer = setTimeout(
      () =>
        stop(
          new LicensingError('timeout', `PowerShell did not finish within ${Math.round(options.timeoutMs / 1000)} s and was stopped`, {
            fix: 'check that the computer is reachable and the Software Protection service (sppsvc) responds; then try again'
          })
        ),
      options.timeoutMs
    )
    const collect =
      (into: Buffer[]) =>
      (chunk: Buffer): void => {
        size += chunk.length
        if (size > LICENSING_DEFAULTS.maxOutputBytes)
          stop(
            new LicensingError('unreadable', `PowerShell printed more than ${LICENSING_DEFAULTS.maxOutputBytes} bytes`, {
              fix: `check that ${POWERSHELL_OVERRIDE_VARIABLE} (if set) names PowerShell`
            })
          )
        else into.push(chunk)
      }
    child.stdout.on('data', collect(out))
    child.stderr.on('data', collect(err))
    // A child that exits before reading its input closes the pipe; its exit status tells the story, not EPIPE.
    child.stdin.on('error', () => {})
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      if (settled) return
      settled = true
      reject(
        new LicensingError('powershell-failed', `cannot start PowerShell ${executable}: ${error.code ?? error.message}`, {
          fix: `check that the file exists and can be executed, or unset ${POWERSHELL_OVERRIDE_VARIABLE}`
        })
      )
    })
    child.on('close', (exitCode) => {
      clearTimeout(timer)
      if (settled) return
      settled = true
      if (failure !== undefined) reject(failure)
      else resolve({ exitCode, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') })
    })
    child.stdin.end(requestJson(request))
  })
}

/** The per-run deadline in whole seconds, for New-CimSession's OperationTimeoutSec (a little under the process deadline). */
export function cimTimeoutSeconds(timeoutMs: number): number {
  return Math.max(1, Math.floor((timeoutMs * 0.9) / 1000))
}
