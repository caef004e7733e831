/**
 * The client log's writer thread (a worker_threads entry; bundled as out/main/client-log-thread.js). It owns the
 * SQLite database through an ordinary ClientLog — group commit, checkpoints, the size cap, validation of every
 * entry — so none of that runs on the thread that serves sockets. Its owner is ClientLogThread
 * (client-log-threaded.ts); the messages are declared there.
 *
 * Order: a batch is acknowledged only after every entry in it has committed (or failed), so the owner replies to
 * a client only once its request is in the WAL — the kill -9 promise holds as with the log on the serving thread.
 * Messages are handled in arrival order, and every call commits what is pending first, so an answer reflects every
 * batch posted before it.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { ClientLog, type ClientLogEntryInput } from './client-log'
import type { ThreadInit, ThreadReply, ThreadRequest } from './client-log-threaded'

if (parentPort === null) throw new Error('client-log-thread.ts runs as a worker thread (see client-log-threaded.ts)')
const port = parentPort
const init = workerData as ThreadInit
/** The owner's clock: every message carries its time, so retention and the size cap follow an injected clock too. */
let ownerNowMs = init.nowMs

const SIZE_REPORT_EVERY_ROWS = 500

const post = (reply: ThreadReply): void => port.postMessage(reply)
const errorText = (error: unknown): { name: string; message: string } =>
  error instanceof Error ? { name: error.name, message: error.message } : { name: 'Error', message: String(error) }

let log: ClientLog
try {
  log = await ClientLog.open(init.file, {
    ...init.options,
    now: () => ownerNowMs,
    onSizeCapPruned: (info) => post({ type: 'pruned', ...info })
  })
} catch (error) {
  post({ type: 'open-failed', error: errorText(error) })
  port.close()
  process.exit(1) // ends this thread only
}
/** rows acknowledged since the size was last reported */
let rowsSinceSizeReport = 0

post({
  type: 'opened',
  warnings: [...log.openWarnings],
  sizeBytes: log.sizeBytes,
  counted: await log.countedClients(ownerNowMs - init.countWindowMs)
})

port.on('message', (request: ThreadRequest) => {
  ownerNowMs = request.nowMs
  if (request.type === 'batch') {
    storeBatch(request.id, request.entries)
    return
  }
  answer(request).then(
    (value) => post({ type: 'result', id: request.id, value }),
    (error: unknown) => post({ type: 'result', id: request.id, error: errorText(error) })
  )
})

/** Records every entry of the batch (one transaction: they are enqueued in the same turn) and acknowledges it. */
function storeBatch(id: number, entries: ClientLogEntryInput[]): void {
  const failures: Array<[number, { name: string; message: string }]> = []
  const settled = entries.map((entry, i) =>
    log.record(entry).then(
      () => undefined,
      (error: unknown) => {
        failures.push([i, errorText(error)])
      }
    )
  )
  void Promise.all(settled).then(() => {
    // the owner's sizeBytes, refreshed as often as the size cap is checked (reading it costs three pragmas)
    rowsSinceSizeReport += entries.length
    const report = rowsSinceSizeReport >= SIZE_REPORT_EVERY_ROWS
    if (report) rowsSinceSizeReport = 0
    post({ type: 'ack', id, failures, ...(report ? { sizeBytes: log.sizeBytes } : {}) })
  })
}

async function answer(request: Exclude<ThreadRequest, { type: 'batch' }>): Promise<unknown> {
  switch (request.type) {
    case 'recent':
      return log.recent(request.limit)
    case 'purge':
      return log.purge(request.olderThanMs)
    case 'counted':
      return log.countedClients(request.sinceMs)
    case 'integrity':
      return log.integrityCheck()
    case 'close':
      await log.close()
      // nothing else will come: let the thread end once this answer is posted
      setImmediate(() => port.close())
      return undefined
  }
}
