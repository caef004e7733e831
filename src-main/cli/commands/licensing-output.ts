/**
 * What the activation-manager commands share: `--computer NAME` (repeatable), the licensing host of this process
 * (its environment, so `KMS_SCOUT_POWERSHELL` works, and its platform), the human form of a computer's state (like
 * `slmgr /dlv`, from Windows' own licensing API rather than its localised text), and the run of one action: the
 * plan printed before anything changes, the outcome with the error table's meaning and fix, the state read again.
 *
 * Every value Windows or a remote computer reported is made inert before it reaches the terminal.
 */
import {
  runLicensingActionOn,
  type ActionResultView,
  type ComputerResult,
  type LicensingActionRequest,
  type LicensingHost,
  type MachineReport
} from '../../service/licensing-service'
import { inert } from '../../service/presentation'
import { stringOptions } from '../args'
import type { CommandContext } from '../commands'
import { EXIT, UsageError } from '../io'

export const COMPUTER_OPTION = { computer: { type: 'string', multiple: true } } as const

export const COMPUTER_HELP = `  --computer NAME   a remote computer (DNS name, NetBIOS name or IP address) read and changed over WinRM (CIM);
                    repeat it for several; default: this computer
  --json            print one JSON object on stdout (nothing else)`

export const ENVIRONMENT_HELP = `Runs Windows PowerShell (%SystemRoot%\\System32\\WindowsPowerShell\\v1.0\\powershell.exe) with a fixed script;
KMS_SCOUT_POWERSHELL names another executable (PowerShell 7's pwsh.exe). On other systems it exits 3.`

export function licensingHost(ctx: CommandContext): LicensingHost {
  return { env: ctx.io.env, platform: process.platform }
}

export function computerArgs(ctx: CommandContext): string[] {
  return stringOptions(ctx.values, 'computer')
}

export function noPositionals(ctx: CommandContext, command: string): void {
  if (ctx.positionals.length > 0)
    throw new UsageError(`unexpected argument '${ctx.positionals[0]}'`, `run 'kms-scout ${command} --help' for the options`)
}

const onOff = (value: boolean | null): string => (value === null ? 'not reported' : value ? 'on' : 'off')

function rows(lines: [string, string][], indent: string): string {
  const width = Math.max(...lines.map(([label]) => label.length)) + 2
  return lines.map(([label, value]) => `${indent}${label.padEnd(width)}${inert(value, 1024)}`).join('\n')
}

/** The human form of one computer's state: the machine, then every product. */
function formatMachine(state: MachineReport): string {
  const out: string[] = [`${inert(state.computer ?? 'This computer')} — ${inert(state.summary, 1024)}`]
  const machine: [string, string][] = [
    ['CMID', state.cmid ?? 'not reported'],
    ['Host caching', onOff(state.hostCaching)]
  ]
  if (state.elevated === false) machine.push(['Elevated', 'no — actions other than activate need KMS Scout run as administrator'])
  const host = state.kmsHost
  if (host !== null) {
    machine.push([
      'KMS host',
      `count ${host.currentCount ?? '?'} (needs ${host.requiredCount ?? '?'}), port ${host.listeningPort ?? '?'}, DNS publishing ${onOff(host.dnsPublishing)}, priority ${host.lowPriority ? 'low' : 'normal'}`
    ])
    const r = host.requests
    machine.push([
      '',
      `requests: ${r.total ?? '?'} total, ${r.failed ?? '?'} failed, ${r.licensed ?? '?'} licensed, ${r.unlicensed ?? '?'} unlicensed, ${r.initialGrace ?? '?'} initial grace, ${r.expiredOrHardwareOutOfTolerance ?? '?'} expired/out of tolerance, ${r.nonGenuineGrace ?? '?'} non-genuine, ${r.notification ?? '?'} notification`
    ])
  }
  if (state.office2010 !== null)
    machine.push(['Office 2010', `CMID ${state.office2010.cmid ?? 'not reported'}, host caching ${onOff(state.office2010.hostCaching)}`])
  out.push(rows(machine, '  '))
  for (const p of state.products) {
    out.push('', `  ${inert(p.name)}${p.source === 'ospp' ? ' (Office 2010 licensing service)' : ''}`)
    const lines: [string, string][] = []
    const remaining =
      p.remaining === null
        ? p.status.name === 'licensed'
          ? ' — no expiry reported (permanent activation)'
          : ''
        : ` — ${p.remaining.kind === 'validity' ? 'volume activation valid' : 'grace left'} ${p.remaining.days} day(s) (${p.remaining.text}), until ${p.remaining.until.slice(0, 16).replace('T', ' ')} UTC`
    lines.push(['Status', `${p.status.text}${remaining}`])
    if (p.reason !== null) lines.push(['Reason', `${p.reason.code} ${p.reason.summary}: ${p.reason.meaning}`], ['Fix', p.reason.fix])
    lines.push([
      'Channel',
      `${p.channel ?? 'not reported'}${p.keyChannel === null ? '' : ` (${p.keyChannel})`}, key …${p.partialKey ?? '?'} — ${p.gvlk.text}`
    ])
    lines.push(['Activation ID', `${p.activationId ?? 'not reported'} (${p.application.name})`])
    if (p.kms.configuredHost !== null) lines.push(['KMS host', `${p.kms.configuredHost.endpoint} (set with /skms; DNS is not used)`])
    if (p.kms.lookupDomain !== null) lines.push(['Lookup domain', p.kms.lookupDomain])
    if (p.kms.discovered !== null)
      lines.push(['From DNS', `${p.kms.discovered.endpoint}${p.kms.discovered.ip === null ? '' : ` (${p.kms.discovered.ip})`}`])
    if (p.kms.hostEpid !== null) {
      lines.push(['Host ePID', p.kms.hostEpid.value], ['', p.kms.hostEpid.meaning])
      if (p.kms.hostEpid.hostKey !== null) lines.push(['', p.kms.hostEpid.hostKey.text])
    }
    if (p.intervals.text !== null) lines.push(['Intervals', p.intervals.text])
    if (p.kms.lastActivationType !== null || p.kms.configuredActivationType !== null)
      lines.push([
        'Activation',
        `last by ${p.kms.lastActivationType ?? 'none yet'}; allowed: ${p.kms.configuredActivationType ?? 'not reported'}`
      ])
    if (p.evaluationEnd !== null) lines.push(['Evaluation end', p.evaluationEnd])
    out.push(rows(lines, '    '))
  }
  return `${out.join('\n')}\n`
}

/** A computer that could not be read: the reason, and its fix. */
export function formatComputerResult(result: ComputerResult): string {
  if (result.ok) return formatMachine(result.state)
  const f = result.failure
  const code = f.windowsCode === null ? '' : ` (${f.windowsCode.code})`
  return `${inert(result.computer ?? 'This computer')} — could not be read: ${inert(f.message, 1024)}${code}\n  fix: ${inert(f.fix, 1024)}\n`
}

function formatActionResult(result: ActionResultView): string {
  const where = inert(result.computer ?? 'This computer')
  const lines = [`${where} — ${inert(result.outcome, 1024)}`]
  if (result.failure !== null) {
    if (result.failure.windowsCode !== null) lines.push(`  meaning: ${result.failure.windowsCode.meaning}`)
    else lines.push(`  cause: ${inert(result.failure.message, 1024)}`)
    lines.push(`  fix: ${inert(result.failure.fix, 1024)}`)
  }
  if (result.after !== null)
    lines.push(
      result.after.ok
        ? `  now: ${inert(result.after.state.summary, 1024)}`
        : `  now: could not be read again (${inert(result.after.failure.message)})`
    )
  return `${lines.join('\n')}\n`
}

/** Says what will be done, does it on every computer, reads the state again; exit 0 when it worked everywhere. */
export async function runActionCommand(ctx: CommandContext, request: LicensingActionRequest): Promise<number> {
  const { io } = ctx
  const { results, ok } = await runLicensingActionOn(licensingHost(ctx), request, computerArgs(ctx), {
    onPlan: (plan) => {
      if (ctx.json) return
      io.stdout(`${inert(plan.computer ?? 'This computer')}: ${plan.text}\n`)
      for (const warning of plan.warnings) io.stderr(`kms-scout ${request.kind}: warning: ${inert(warning, 1024)}\n`)
    }
  })
  if (ctx.json) io.stdout(`${JSON.stringify({ ok, action: request.kind, results }, null, 2)}\n`)
  else for (const result of results) io.stdout(formatActionResult(result))
  return ok ? EXIT.ok : EXIT.critical
}
