/**
 * Sandboxed preload: exposes exactly the API contract as `window.kms` and nothing else — no
 * ipcRenderer, no generic invoke. Every argument is still validated again in main.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron'
import { EVENT_CHANNEL, METHOD_NAMES, isEventName, methodChannel, type EventName } from '../api/channels'

type Listener = (payload: unknown) => void
const listeners = new Map<EventName, Set<Listener>>()

ipcRenderer.on(EVENT_CHANNEL, (_event: IpcRendererEvent, message: unknown) => {
  if (typeof message !== 'object' || message === null) return
  const { name, payload } = message as { name?: unknown; payload?: unknown }
  if (!isEventName(name)) return
  for (const listener of listeners.get(name) ?? []) listener(payload)
})

const api: Record<string, unknown> = {
  on(event: unknown, listener: unknown): () => void {
    if (!isEventName(event) || typeof listener !== 'function') {
      throw new TypeError('kms.on(event, listener): unknown event or listener is not a function')
    }
    let set = listeners.get(event)
    if (set === undefined) {
      set = new Set()
      listeners.set(event, set)
    }
    const wrapped: Listener = (payload) => (listener as Listener)(payload)
    set.add(wrapped)
    return () => {
      set.delete(wrapped)
    }
  }
}
for (const method of METHOD_NAMES) {
  api[method] = (input?: unknown) => ipcRenderer.invoke(methodChannel(method), input)
}

contextBridge.exposeInMainWorld('kms', api)
