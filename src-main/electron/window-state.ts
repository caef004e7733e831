/**
 * Remembers where the window was: size, position and maximised state, stored with the settings.
 * A position that is no longer on any display (a monitor was unplugged) is dropped.
 */
import { screen, type BrowserWindow, type Rectangle } from 'electron'
import type { AppService, WindowBounds } from '../service/app-service'

const DEFAULT_SIZE = { width: 1200, height: 800 }

export async function restoredWindowBounds(
  service: AppService
): Promise<Partial<Rectangle> & { width: number; height: number; maximized: boolean }> {
  const saved = await service.windowBounds.load()
  if (saved === undefined) return { ...DEFAULT_SIZE, maximized: false }
  const visible = screen.getAllDisplays().some((display) => intersects(display.workArea, saved))
  return visible
    ? { x: saved.x, y: saved.y, width: saved.width, height: saved.height, maximized: saved.maximized }
    : { width: saved.width, height: saved.height, maximized: saved.maximized }
}

export function rememberWindowBounds(window: BrowserWindow, service: AppService): void {
  let timer: NodeJS.Timeout | undefined
  const save = (): void => {
    if (window.isDestroyed()) return
    const { x, y, width, height } = window.getNormalBounds()
    const bounds: WindowBounds = { x, y, width, height, maximized: window.isMaximized() }
    void service.windowBounds.save(bounds)
  }
  // Debounced: moving a window fires many events; one write when it settles is enough.
  const later = (): void => {
    clearTimeout(timer)
    timer = setTimeout(save, 500)
  }
  window.on('resize', later)
  window.on('move', later)
  window.on('close', () => {
    clearTimeout(timer)
    save()
  })
}

function intersects(area: Rectangle, bounds: WindowBounds): boolean {
  return (
    bounds.x < area.x + area.width &&
    bounds.x + bounds.width > area.x &&
    bounds.y < area.y + area.height &&
    bounds.y + bounds.height > area.y
  )
}
