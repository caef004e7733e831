/**
 * Every API call resolves to an envelope instead of rejecting: Electron's IPC keeps only the
 * message of a thrown Error, and the UI needs the code and the hint to tell a technician what
 * to do next.
 */
export interface ApiError {
  /** Stable machine-readable code, e.g. 'invalid-input', 'unknown-method', 'internal'. */
  code: string
  /** One line saying what went wrong. */
  message: string
  /** One line saying how to fix it, when we know. */
  hint?: string
}

export type ApiResult<T> = { ok: true; value: T } | { ok: false; error: ApiError }

/** An error a handler throws on purpose; its fields reach the caller unchanged. */
export class ApiFailure extends Error {
  readonly code: string
  readonly hint: string | undefined

  constructor(code: string, message: string, hint?: string) {
    super(message)
    this.name = 'ApiFailure'
    this.code = code
    this.hint = hint
  }

  toApiError(): ApiError {
    return this.hint === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, hint: this.hint }
  }
}
