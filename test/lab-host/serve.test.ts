/**
 * `kms-scout serve` in-process: settings from the config directory, flags overriding them, the notice, the
 * addresses printed, a client answered, a graceful stop on the interrupt injected through CliIo, usage errors
 * (exit 3 with a hint).
 */
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { runCli } from '../../src-main/cli/run'
import type { CliIo } from '../../src-main/cli/io'
import { formatHwid } from '../../src-main/protocol/index'
import { baseFor, expectResponse, kmsExchange, PRODUCT_BY_PROTOCOL } from '../helpers/lab-host-client'
import { useLabHosts } from '../helpers/lab-host-fixture'

const labs = useLabHosts()

interface ServeIo extends CliIo {
  out: () => string
  err: () => string
  /** resolves with the first `host:port` printed after "listening on" */
  listening: Promise<string>
  interrupt: (signal?: string) => void
}

function serveIo(configDir: string): ServeIo {
  let out = ''
  let err = ''
  let onListen: (address: string) => void = () => undefined
  const listening = new Promise<string>((resolve) => (onListen = resolve))
  let interrupt: (signal: string) => void = () => undefined
  const interrupted = new Promise<string>((resolve) => (interrupt = resolve))
  const scan = (text: string): void => {
    const m = /listening on (\S+)/.exec(text) ?? /"event":"started","address":"([^"]+)"/.exec(text)
    if (m) onListen(m[1]!)
  }
  return {
    stdout: (text) => {
      out += text
      scan(text)
    },
    stderr: (text) => {
      err += text
      scan(text)
    },
    env: { KMS_SCOUT_CONFIG_DIR: configDir },
    waitForInterrupt: () => interrupted,
    out: () => out,
    err: () => err,
    listening,
    interrupt: (signal = 'SIGINT') => interrupt(signal)
  }
}

const workerScript = fileURLToPath(new URL('../../src-main/lab-host/worker.ts', import.meta.url))

function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(':') + 1))
}

describe('kms-scout serve', () => {
  it('starts, prints the notice and its address, answers a client, and stops gracefully on interrupt', async () => {
    const dir = labs.tempDir()
    const io = serveIo(dir)
    const exit = runCli(
      ['serve', '--listen', '127.0.0.1:0', '--count', '7', '--activation-interval', '60', '--hwid', '0102030405060708'],
      io
    )
    const address = await io.listening
    expect(address).toMatch(/^127\.0\.0\.1:\d+$/)
    expect(io.out()).toContain('a test fixture')
    expect(io.out()).toContain('0x8007000D')

    const r = expectResponse(await kmsExchange(portOf(address), baseFor(PRODUCT_BY_PROTOCOL[6])))
    expect(r.response.base.count).toBe(7)
    expect(r.response.base.activationInterval).toBe(60)
    expect(r.response.base.renewalInterval).toBe(10080)
    expect(formatHwid(r.response.hwid!)).toBe('0102030405060708')

    io.interrupt('SIGTERM')
    expect(await exit).toBe(0)
    expect(io.out()).toMatch(/v6\.0 ndr32 ok: count 7 \(N 25\) Windows 10 Professional/)
    expect(io.out()).toMatch(/SIGTERM: stopping/)
    expect(io.out()).toMatch(/stopped \(all exchanges finished\): 1 requests/)
    // the default files in the config directory
    expect(fs.existsSync(path.join(dir, 'client-log.sqlite'))).toBe(true)
    expect(fs.existsSync(path.join(dir, 'lab-host-identity.json'))).toBe(true)
    // and the port is free again
    await new Promise<void>((resolve, reject) => {
      const probe = net.connect({ port: portOf(address), host: '127.0.0.1' })
      probe.on('connect', () => reject(new Error('still listening')))
      probe.on('error', () => resolve())
    })
  })

  it('--workers 1: serves through a worker process too, and its summary counts every process', async () => {
    const io = { ...serveIo(labs.tempDir()), labHostWorker: { script: workerScript, execArgv: ['--import', 'tsx'] } }
    const exit = runCli(['serve', '--listen', '127.0.0.1:0', '--workers', '1', '--json'], io)
    const address = await io.listening
    for (let i = 0; i < 6; i++) expectResponse(await kmsExchange(portOf(address), baseFor(PRODUCT_BY_PROTOCOL[6])))
    io.interrupt()
    expect(await exit).toBe(0)
    expect(io.err()).toMatch(/worker processes: 1 \(pid \d+\)/)
    const summary = JSON.parse(io.out()) as { counters: { requests: { v6: { ok: number } }; connections: { accepted: number } } }
    expect(summary.counters.requests.v6.ok).toBe(6)
    expect(summary.counters.connections.accepted).toBe(6)
  })

  it('--workers auto starts one worker per further core', async () => {
    const io = { ...serveIo(labs.tempDir()), labHostWorker: { script: workerScript, execArgv: ['--import', 'tsx'] } }
    const exit = runCli(['serve', '--listen', '127.0.0.1:0', '--workers', 'auto'], io)
    const address = await io.listening
    expectResponse(await kmsExchange(portOf(address), baseFor(PRODUCT_BY_PROTOCOL[6])))
    io.interrupt()
    expect(await exit).toBe(0)
    const expected = Math.min(64, os.availableParallelism() - 1)
    if (expected > 0) expect(io.out()).toContain(`worker processes: ${expected} (pid`)
    else expect(io.out()).not.toContain('worker processes')
  })

  it('takes its defaults from settings.json and lets flags override them; --json-log prints JSON lines', async () => {
    const dir = labs.tempDir()
    const epid = '03612-00206-567-887631-03-2074-14393.0000-0092024'
    fs.writeFileSync(
      path.join(dir, 'settings.json'),
      JSON.stringify({
        labHost: { listen: ['127.0.0.1:0'], countMode: { fixed: 5 }, renewalInterval: 1000, epids: { Windows: epid }, dbPath: 'lab.sqlite' }
      })
    )
    const io = serveIo(dir)
    const exit = runCli(['serve', '--count', 'real', '--json-log'], io)
    const address = await io.listening
    const r = expectResponse(await kmsExchange(portOf(address), baseFor(PRODUCT_BY_PROTOCOL[6])))
    expect(r.response.base.count).toBe(1) // --count real beat the settings' fixed 5
    expect(r.response.base.renewalInterval).toBe(1000)
    expect(r.response.base.epid).toBe(epid)
    io.interrupt()
    expect(await exit).toBe(0)
    const lines = io
      .out()
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { event: string; count?: number; message?: string })
    expect(lines.map((l) => l.event)).toEqual(['notice', 'notice', 'started', 'request', 'stopping', 'stopped'])
    expect(lines[0]!.message).toMatch(/test fixture/)
    expect(lines[3]!.count).toBe(1)
    expect(fs.existsSync(path.join(dir, 'lab.sqlite'))).toBe(true) // relative dbPath: in the config directory
  })

  it('--json keeps stdout for one JSON summary; log lines go to stderr', async () => {
    const dir = labs.tempDir()
    const io = serveIo(dir)
    const exit = runCli(['serve', '--listen', '[::1]:0', '--json'], io)
    const address = await io.listening
    expect(address).toMatch(/^\[::1\]:\d+$/)
    expectResponse(await kmsExchange(portOf(address), baseFor(PRODUCT_BY_PROTOCOL[5], { protocol: 5 }), '::1'))
    io.interrupt()
    expect(await exit).toBe(0)
    const summary = JSON.parse(io.out()) as { ok: boolean; addresses: string[]; counters: { requests: { v5: { ok: number } } } }
    expect(summary.ok).toBe(true)
    expect(summary.addresses).toEqual([address])
    expect(summary.counters.requests.v5.ok).toBe(1)
    expect(io.err()).toContain('listening on')
  })

  it.each([
    [['--listen', 'localhost:1688'], /--listen: listen address 'localhost:1688': "localhost" is a host name, not an IP address/],
    [['--listen', '127.0.0.1:70000'], /--listen: listen address '127.0.0.1:70000': port 70000 is out of range/],
    [['--count', 'lots'], /--count 'lots'/],
    [['--epid', 'nonsense'], /--epid 'nonsense'/],
    [['--epid', 'Office2099=03612-00206-567-887631-03-2074-14393.0000-0092024'], /unknown CSVLK group 'Office2099'/],
    [['--hwid', '123'], /--hwid '123' is not 16 hex digits/],
    [['--activation-interval', '14'], /--activation-interval '14'/],
    [['--renewal-interval', '50000'], /--renewal-interval '50000'/],
    [['--max-connections', '0'], /--max-connections '0'/],
    [['--timeout', '1.5'], /--timeout '1.5'/],
    [['--workers', '65'], /--workers '65' is not a whole number of processes from 0 to 64/],
    [['--workers', '1'], /--workers needs the built CLI/],
    [['--workers', 'many'], /--workers 'many' is not a whole number of processes/],
    [['--frobnicate'], /Unknown option '--frobnicate'/],
    [['extra'], /serve takes no arguments/]
  ])('rejects %j with exit 3 and a hint', async (args, message) => {
    const dir = labs.tempDir()
    const io = serveIo(dir)
    expect(await runCli(['serve', ...args], io)).toBe(3)
    const lines = io.err().trimEnd().split('\n')
    expect(lines[0]).toMatch(message)
    expect(lines[1]).toMatch(/^ {2}\S/) // the hint
    expect(io.out()).toBe('')
    // nothing was created for a bad flag
    expect(fs.readdirSync(dir)).toEqual([])
  })

  it('refuses a --db that is not a client log (a text file, a folder) with exit 3 and leaves it untouched', async () => {
    const dir = labs.tempDir()
    const text = path.join(dir, 'notes.txt')
    fs.writeFileSync(text, 'a system text file\n')
    for (const [db, message] of [
      [text, `${text} is not an SQLite database (and so not a client log); it was left untouched`],
      [dir, `${dir} is a folder, not a client log file`]
    ] as const) {
      const io = serveIo(labs.tempDir())
      expect(await runCli(['serve', '--listen', '127.0.0.1:0', '--db', db], io)).toBe(3)
      const lines = io.err().trimEnd().split('\n')
      expect(lines[0]).toBe(`kms-scout: ${message}`)
      expect(lines[1]).toBe('  give the lab host its own database file')
      expect(io.err()).not.toMatch(/unexpected error|this is a bug/)
    }
    expect(fs.readFileSync(text, 'utf8')).toBe('a system text file\n')
  })

  it('a config folder that is a file is a configuration error (exit 3), not a bug', async () => {
    const file = path.join(labs.tempDir(), 'not-a-folder')
    fs.writeFileSync(file, 'x')
    const io = serveIo(file)
    expect(await runCli(['serve', '--listen', '127.0.0.1:0'], io)).toBe(3)
    expect(io.err().trimEnd().split('\n')).toEqual([
      `kms-scout: the config folder ${file} is a file, not a folder`,
      '  rename or remove that file, or set KMS_SCOUT_CONFIG_DIR to a folder'
    ])
    expect(fs.readFileSync(file, 'utf8')).toBe('x')
  })

  it('reports a port in use as a configuration error with a hint (exit 3)', async () => {
    const { port } = await labs.start()
    const dir = labs.tempDir()
    const io = serveIo(dir)
    expect(await runCli(['serve', '--listen', `127.0.0.1:${port}`], io)).toBe(3)
    expect(io.err()).toMatch(/cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/)
    expect(io.err()).toMatch(/already listens there/)
  })

  it('is listed in the help', async () => {
    const io = serveIo(labs.tempDir())
    expect(await runCli(['serve', '--help'], io)).toBe(0)
    expect(io.out()).toMatch(/Usage: kms-scout serve \[--listen ADDR:PORT\]/)
    expect(io.out()).toMatch(/--json-log/)
  })
})
