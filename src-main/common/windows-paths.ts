/**
 * Windows programs KMS Scout runs, by absolute path: a bare name like `powershell.exe` is looked up in the current
 * folder first on Windows, so a file of that name planted there would run instead.
 */
import { win32 } from 'node:path'

/** `%SystemRoot%\System32\WindowsPowerShell\v1.0\powershell.exe` (Windows PowerShell 5.1, on every Windows). */
export function windowsPowerShellPath(env: Readonly<Record<string, string | undefined>>): string {
  const root = env.SystemRoot ?? env.SYSTEMROOT
  // an unset or relative SystemRoot is not trusted: the standard location instead
  const base = root !== undefined && win32.isAbsolute(root) ? root : 'C:\\Windows'
  return win32.join(base, 'System32', 'WindowsPowerShell', 'v1.0', 'powershell.exe')
}
