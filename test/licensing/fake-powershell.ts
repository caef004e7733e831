/**
 * Drives the licensing adapter with the recorded-output stand-in for PowerShell (test/fixtures/licensing/
 * fake-powershell.mjs): a scenario file says what each run prints, a log file records what each run received.
 */
import { copyFile, chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

export const FIXTURES = resolve(import.meta.dirname, '../fixtures/licensing')

export interface ScenarioEntry {
  stdoutFile?: string
  stdout?: string
  stderr?: string
  exitCode?: number
  hang?: boolean
}

export interface FakeRun {
  /** Arguments after the executable. */
  argv: string[]
  /** What the run read from standard input, parsed. */
  request: Record<string, unknown>
  /** The raw standard input. */
  stdin: string
}

export interface FakePowerShell {
  /** The environment that makes the adapter run the stand-in. */
  env: NodeJS.ProcessEnv
  executable: string
  runs(): Promise<FakeRun[]>
  setScenario(scenario: Record<string, ScenarioEntry>): Promise<void>
  cleanup(): Promise<void>
}

/** A private copy of the stand-in (executable, whatever the checkout's file modes) with its scenario and log. */
export async function fakePowerShell(scenario: Record<string, ScenarioEntry>): Promise<FakePowerShell> {
  const dir = await mkdtemp(join(tmpdir(), 'kms-scout-fake-ps-'))
  const executable = join(dir, 'fake-powershell.mjs')
  await copyFile(join(FIXTURES, 'fake-powershell.mjs'), executable)
  await chmod(executable, 0o755)
  const scenarioFile = join(dir, 'scenario.json')
  const log = join(dir, 'runs.jsonl')
  const setScenario = async (next: Record<string, ScenarioEntry>): Promise<void> => {
    // stdoutFile names are fixtures; make them absolute so the scenario can live in the temporary folder.
    const absolute = Object.fromEntries(
      Object.entries(next).map(([key, entry]) => [
        key,
        entry.stdoutFile ? { ...entry, stdoutFile: join(FIXTURES, entry.stdoutFile) } : entry
      ])
    )
    await writeFile(scenarioFile, JSON.stringify(absolute))
  }
  await setScenario(scenario)
  return {
    executable,
    env: { PATH: process.env.PATH, KMS_SCOUT_POWERSHELL: executable, FAKE_PS_SCENARIO: scenarioFile, FAKE_PS_LOG: log },
    setScenario,
    async runs() {
      const text = await readFile(log, 'utf8').catch(() => '')
      return text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => {
          const { argv, stdin } = JSON.parse(line) as { argv: string[]; stdin: string }
          return { argv, stdin, request: JSON.parse(stdin) as Record<string, unknown> }
        })
    },
    cleanup: () => rm(dir, { recursive: true, force: true })
  }
}

/** The script a run was given, decoded from its -EncodedCommand argument. */
export function decodedScript(run: FakeRun): string {
  const at = run.argv.indexOf('-EncodedCommand')
  return Buffer.from(run.argv[at + 1] ?? '', 'base64').toString('utf16le')
}
