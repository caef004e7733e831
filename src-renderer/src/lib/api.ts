/**
 * The renderer's only door to the main process: `window.kms`, installed by the preload in
 * Electron or by the test bridge in a browser. `call` unwraps the result envelope and throws an
 * ApiCallError that keeps the code and the hint for the UI to show.
 */
import type { ApiResult, EventListener, EventName, KmsApi, MethodName } from '../../../src-main/api/contract'
import type { ApiError } from '../../../src-main/api/result'

class ApiCallError extends Error {
  readonly code: string
  readonly hint: string | undefined
  constructor(error: ApiError) {
    super(error.message)
    this.code = error.code
    this.hint = error.hint
  }
}

type Output<M extends MethodName> = KmsApi[M] extends (...args: never[]) => Promise<ApiResult<infer T>> ? T : never
type Args<M extends MethodName> = Parameters<KmsApi[M]>

export async function call<M extends MethodName>(method: M, ...args: Args<M>): Promise<Output<M>> {
  const invoke = window.kms[method] as (...a: Args<M>) => Promise<ApiResult<Output<M>>>
  const result = await invoke(...args)
  if (!result.ok) throw new ApiCallError(result.error)
  return result.value
}

export function onEvent<E extends EventName>(event: E, listener: EventListener<E>): () => void {
  return window.kms.on(event, listener)
}

export function errorText(error: unknown): string {
  if (error instanceof ApiCallError) return error.hint ? `${error.message} — ${error.hint}` : error.message
  return error instanceof Error ? error.message : String(error)
}
