/**
 * Registers the API handler table on ipcMain. Each call is accepted only from the main frame of
 * our own window showing our own page; its input is validated by dispatchCall before any handler
 * runs.
 */
import { ipcMain, type BrowserWindow, type IpcMainInvokeEvent } from 'electron'
import { EVENT_CHANNEL, METHOD_NAMES, methodChannel } from '../api/channels'
import type { HandlerTable } from '../api/contract'
import { dispatchCall } from '../api/dispatch'
import type { EventHub } from '../service/event-hub'
import { isAppUrl } from './app-protocol'

export function registerIpc(
  handlers: HandlerTable,
  events: EventHub,
  getWindow: () => BrowserWindow | null,
  log: (message: string) => void
): () => void {
  const isTrustedSender = (event: IpcMainInvokeEvent): boolean => {
    const window = getWindow()
    const frame = event.senderFrame
    return (
      window !== null &&
      frame !== null &&
      event.sender === window.webContents &&
      frame === window.webContents.mainFrame &&
      isAppUrl(frame.url)
    )
  }

  for (const method of METHOD_NAMES) {
    ipcMain.handle(methodChannel(method), (event, input: unknown) => {
      if (!isTrustedSender(event)) {
        log(`refused ${method}: call from an untrusted frame (${event.senderFrame?.url ?? 'unknown'})`)
        return { ok: false, error: { code: 'forbidden', message: 'call from an untrusted frame' } }
      }
      return dispatchCall(handlers, method, input, (name, error) =>
        log(`${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
      )
    })
  }

  const stopForwarding = events.onAny((name, payload) => {
    const window = getWindow()
    if (window !== null && !window.isDestroyed()) window.webContents.send(EVENT_CHANNEL, { name, payload })
  })

  return () => {
    stopForwarding()
    for (const method of METHOD_NAMES) ipcMain.removeHandler(methodChannel(method))
  }
}
