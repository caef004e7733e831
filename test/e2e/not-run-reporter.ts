/**
 * Says which Playwright projects were left out of this run and why, at the start and again under the summary,
 * so a run without an Electron binary reads "electron: not run" instead of the project silently vanishing.
 * playwright.config.ts decides what is left out and passes it here.
 */
import type { Reporter } from '@playwright/test/reporter'

export interface NotRunProject {
  project: string
  reason: string
}

export default class NotRunReporter implements Reporter {
  private readonly notRun: NotRunProject[]

  constructor(options: { notRun?: NotRunProject[] } = {}) {
    this.notRun = options.notRun ?? []
  }

  onBegin(): void {
    this.print()
  }

  onEnd(): void {
    this.print()
  }

  printsToStdio(): boolean {
    return false
  }

  private print(): void {
    for (const { project, reason } of this.notRun) process.stdout.write(`  [${project}] not run: ${reason}\n`)
  }
}
