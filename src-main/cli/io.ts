/**
 * What a CLI command may touch of the outside world. Tests pass their own so every command runs
 * in-process, with captured output and an injected environment.
 */
export interface CliIo {
  stdout: (text: string) => void
  stderr: (text: string) => void
  env: NodeJS.ProcessEnv
  /**
   * Resolves when the user asks to stop (Ctrl-C / SIGTERM). Only long-running commands (`serve`)
   * call it: the signal handlers are installed on the first call, so a short command still dies
   * on Ctrl-C the ordinary way.
   */
  waitForInterrupt: () => Promise<string>
  /**
   * How to start a lab-host worker process (`serve --workers N`): the built `lab-host-worker.js` next to the CLI
   * bundle, set by the CLI's entry point. Absent: --workers is refused.
   */
  labHostWorker?: { script: string; execArgv?: string[] }
}

/** Exit codes follow the monitoring-plugin convention so `check` drops into Nagios/Icinga. */
export const EXIT = { ok: 0, warning: 1, critical: 2, usage: 3 } as const

/** A usage or configuration error: one line of cause, one line of fix, exit code 3. */
export class UsageError extends Error {
  readonly hint: string | undefined
  constructor(message: string, hint?: string) {
    super(message)
    this.name = 'UsageError'
    this.hint = hint
  }
}
