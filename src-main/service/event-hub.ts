/**
 * Typed publish/subscribe for the events of the API contract. Each transport (Electron IPC, the
 * test bridge's event stream, the CLI's --verbose printer) subscribes once and forwards.
 */
import { EVENT_NAMES, type EventName } from '../api/channels'
import type { EventListener, EventPayloads } from '../api/contract'

export class EventHub {
  private readonly listeners = new Map<EventName, Set<(payload: unknown) => void>>()

  on<E extends EventName>(event: E, listener: EventListener<E>): () => void {
    let set = this.listeners.get(event)
    if (set === undefined) {
      set = new Set()
      this.listeners.set(event, set)
    }
    const wrapped = listener as (payload: unknown) => void
    set.add(wrapped)
    return () => set.delete(wrapped)
  }

  /** Subscribe to every event (transports forward them all). */
  onAny(listener: (event: EventName, payload: unknown) => void): () => void {
    const unsubscribers: Array<() => void> = []
    for (const event of EVENT_NAMES) {
      unsubscribers.push(this.on(event, (payload) => listener(event, payload)))
    }
    return () => unsubscribers.forEach((off) => off())
  }

  emit<E extends EventName>(event: E, payload: EventPayloads[E]): void {
    for (const listener of this.listeners.get(event) ?? []) {
      // One failing subscriber (a closed window, a dropped stream) must not stop the others.
      try {
        listener(payload)
      } catch {
        /* the transport that owns the listener reports its own failures */
      }
    }
  }
}
