/**
 * Entry point of a lab-host worker process (forked by workers.ts; built to out/main/lab-host-worker.js).
 *
 * It receives the owner's listening sockets and settings, then serves connections with a LabHost that adopts
 * those sockets and stores through the owner's ledger (RemoteLedger). It stops gracefully when asked, and at once
 * when the owner goes away.
 */
import type { Server } from 'node:net'
import { deserializeIdentity, LabHost } from './lab-host'
import type { LabHostAddress, LabHostEventName } from './events'
import {
  FORWARDABLE_EVENTS,
  RemoteLedger,
  type ForwardedEvent,
  type OwnerMessage,
  type WorkerInit,
  type WorkerMessage
} from './worker-messages'

const COUNTERS_EVERY_MS = 250

function send(message: WorkerMessage, then?: () => void): void {
  try {
    process.send!(message, undefined, {}, () => then?.())
  } catch {
    // the owner is gone; 'disconnect' ends this process
  }
}

if (process.send === undefined) {
  process.stderr.write('lab-host-worker: this is a worker of the KMS Scout lab host; it is started by `kms-scout serve --workers N`\n')
  process.exit(2)
}

const servers: { server: Server; address: LabHostAddress }[] = []
const ledger = new RemoteLedger((message) => process.send!(message))
let host: LabHost | undefined
/** the events the owner listens to ('request-logged' comes from the owner's ledger, the lifecycle is its own) */
let forwarded = new Set<LabHostEventName>()

process.on('message', (m: OwnerMessage, handle: unknown) => {
  switch (m.t) {
    case 'server':
      servers.push({ server: handle as Server, address: m.address })
      return
    case 'init':
      start(m).catch((err: unknown) => send({ t: 'failed', message: err instanceof Error ? err.message : String(err) }))
      return
    case 'stored':
      ledger.settle(m.results)
      return
    case 'forward':
      forwarded = new Set(m.names)
      return
    case 'stop':
      void stop()
      return
  }
})

// Ctrl-C in a terminal signals the whole process group: the owner stops its workers gracefully, so a worker does not
// die on its own. SIGTERM addressed to a worker (e.g. at shutdown) drains it like the owner's 'stop' would.
process.on('SIGINT', () => undefined)
process.on('SIGTERM', () => void stop())

// The owner has gone (stopped, crashed or killed): nothing can be stored any more, so stop serving at once.
process.on('disconnect', () => {
  ledger.close('the lab host owner process has gone')
  process.exit(0)
})

async function start(init: WorkerInit): Promise<void> {
  if (servers.length === 0) throw new Error('no listening socket was handed over')
  const h = new LabHost({
    ledger,
    servers,
    identity: deserializeIdentity(init.identity),
    countMode: init.countMode,
    activationInterval: init.activationInterval,
    renewalInterval: init.renewalInterval,
    maxConnections: init.maxConnections,
    maxConnectionsPerAddress: init.maxConnectionsPerAddress,
    maxRequestsPerSecondPerAddress: init.maxRequestsPerSecondPerAddress,
    exchangeTimeoutMs: init.exchangeTimeoutMs,
    maxPduBytes: init.maxPduBytes,
    maxPdusPerConnection: init.maxPdusPerConnection,
    drainTimeoutMs: init.drainTimeoutMs,
    ndr64: init.ndr64,
    btfn: init.btfn
  })
  forwarded = new Set(init.forward)
  forwardEvents(h)
  await h.start()
  host = h
  setInterval(() => send({ t: 'counters', counters: h.status().counters }), COUNTERS_EVERY_MS).unref()
  send({ t: 'ready' })
}

/** Forwards the events the owner listens to, one IPC message per event-loop turn. */
function forwardEvents(h: LabHost): void {
  let batch: ForwardedEvent[] = []
  const flush = (): void => {
    const events = batch
    batch = []
    send({ t: 'events', events })
  }
  for (const name of FORWARDABLE_EVENTS) {
    h.on(name, (payload) => {
      if (!forwarded.has(name)) return
      if (batch.length === 0) setImmediate(flush)
      batch.push([name, payload] as ForwardedEvent)
    })
  }
}

let stopping = false

async function stop(): Promise<void> {
  const h = host
  if (!h) process.exit(0)
  if (stopping) return
  stopping = true
  let result = { drained: true, abandoned: 0 }
  h.on('stopped', (e) => (result = { drained: e.drained, abandoned: e.abandoned }))
  await h.stop()
  send({ t: 'stopped', counters: h.status().counters, ...result }, () => process.exit(0))
}
