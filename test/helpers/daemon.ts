/**
 * What the DNS-server helpers (dnsmasq.ts, bind.ts) share: a loopback port free for UDP and TCP, one DNS query
 * over UDP, and starting a daemon on such a port, retrying on another port only when the port was taken between
 * the check and the daemon's bind (the one failure another port can cure).
 */
import type { Buffer } from 'node:buffer'
import { spawn, type ChildProcess } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { createServer } from 'node:net'
import { rm } from 'node:fs/promises'
import * as dnsPacket from 'dns-packet'

function canBindUdp(family: 'udp4' | 'udp6', host: string, port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket(family)
    socket.once('error', () => {
      socket.close()
      resolve(undefined)
    })
    socket.bind(port, host, () => {
      const bound = socket.address().port
      socket.close(() => resolve(bound))
    })
  })
}

function canListenTcp(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, host, () => server.close(() => resolve(true)))
  })
}

/** A port free for UDP and TCP on 127.0.0.1 (and on ::1 with `ipv6`), at the time of asking. */
async function freeLoopbackPort(ipv6 = false): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await canBindUdp('udp4', '127.0.0.1', 0)
    if (port === undefined) continue
    if (!(await canListenTcp('127.0.0.1', port))) continue
    if (ipv6 && ((await canBindUdp('udp6', '::1', port)) === undefined || !(await canListenTcp('::1', port)))) continue
    return port
  }
  throw new Error('could not find a port free for UDP and TCP on loopback')
}

/** One query over UDP; the decoded reply with our ID, or undefined after `timeoutMs` without one. */
export function queryOnce(
  host: string,
  port: number,
  question: dnsPacket.Question,
  timeoutMs: number,
  flags = 0
): Promise<dnsPacket.DecodedPacket | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4')
    const id = Math.floor(Math.random() * 0xffff)
    const timer = setTimeout(() => finish(undefined), timeoutMs)
    function finish(reply: dnsPacket.DecodedPacket | undefined): void {
      clearTimeout(timer)
      socket.close()
      resolve(reply)
    }
    socket.on('error', () => finish(undefined))
    socket.on('message', (msg: Buffer) => {
      try {
        const reply = dnsPacket.decode(msg)
        if (reply.id === id) finish(reply)
      } catch {
        finish(undefined)
      }
    })
    socket.send(dnsPacket.encode({ type: 'query', id, flags, questions: [question] }), port, host)
  })
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

export interface DaemonLaunch {
  /** what the error says did not start ("named", "dnsmasq") */
  readonly name: string
  /** the command line for a daemon listening on `port` (write its config first if it needs the port) */
  command(port: number): Promise<{ binary: string; args: string[] }>
  /** true once the daemon serves on `port` */
  isReady(port: number): Promise<boolean>
  /** how long one start may take */
  readonly readyTimeoutMs: number
  /** output that means the port was taken meanwhile */
  readonly portTaken: RegExp
  /** what the error adds after the daemon's output (its config) */
  describe(): Promise<string>
  readonly ipv6?: boolean
  /** the daemon's own temporary folder (config, zones, keys): removed when it stops, or when it cannot start */
  readonly workDir?: string
}

export interface StartedDaemon {
  readonly port: number
  readonly binary: string
  readonly args: string[]
  log(): string
  /** SIGTERM, then waits for the exit */
  stop(): Promise<void>
}

/** Starts the daemon on a free port and waits until it serves; throws with its output when it cannot. */
export async function startDaemon(launch: DaemonLaunch): Promise<StartedDaemon> {
  const removeWorkDir = (): Promise<void> => (launch.workDir ? rm(launch.workDir, { recursive: true, force: true }) : Promise.resolve())
  try {
    return await startOnFreePort(launch, removeWorkDir)
  } catch (e) {
    await removeWorkDir()
    throw e
  }
}

async function startOnFreePort(launch: DaemonLaunch, removeWorkDir: () => Promise<void>): Promise<StartedDaemon> {
  let lastLog = ''
  for (let tries = 0; tries < 5; tries++) {
    const port = await freeLoopbackPort(launch.ipv6)
    const { binary, args } = await launch.command(port)
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()))
    let exited = false
    child.once('exit', () => (exited = true))
    // Each isReady() waits up to its own query timeout, so this loop is paced by the daemon's answers, not a sleep.
    const deadline = Date.now() + launch.readyTimeoutMs
    while (!exited && Date.now() < deadline) {
      if (await launch.isReady(port)) {
        return {
          port,
          binary,
          args,
          log: () => output,
          stop: async () => {
            child.kill('SIGTERM')
            await waitForExit(child)
            await removeWorkDir()
          }
        }
      }
    }
    child.kill('SIGKILL')
    await waitForExit(child)
    lastLog = output.trim()
    if (!launch.portTaken.test(output)) break // a config error will not go away with another port
  }
  throw new Error(`${launch.name} did not start or did not answer queries. Its output:\n${lastLog || '(none)'}\n${await launch.describe()}`)
}
