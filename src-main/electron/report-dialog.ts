/**
 * The save dialog behind "Save report…": shown by main (the renderer never names a path), attached to the app's
 * window, offering the report's own file name in the Documents folder and a filter for its format. The service
 * writes the file; this only asks where.
 */
import { app, dialog, type BrowserWindow } from 'electron'
import { join } from 'node:path'
import type { ReportFormat } from '../api/contract'

const FILTERS: Record<ReportFormat, Electron.FileFilter> = {
  text: { name: 'Text report', extensions: ['txt'] },
  json: { name: 'JSON report', extensions: ['json'] },
  html: { name: 'HTML report (self-contained)', extensions: ['html'] }
}

export function reportSaveDialog(getWindow: () => BrowserWindow | null) {
  return async (fileName: string, format: ReportFormat): Promise<string | null> => {
    const options: Electron.SaveDialogOptions = {
      title: 'Save report',
      defaultPath: join(app.getPath('documents'), fileName),
      filters: [FILTERS[format]],
      properties: ['createDirectory', 'showOverwriteConfirmation']
    }
    const window = getWindow()
    const result = window === null ? await dialog.showSaveDialog(options) : await dialog.showSaveDialog(window, options)
    return result.canceled || result.filePath === undefined || result.filePath === '' ? null : result.filePath
  }
}
