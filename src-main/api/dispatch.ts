/**
 * The one place where a call from outside (IPC, the test bridge) meets the handler table: the
 * method name and input are validated here, and every outcome becomes an ApiResult envelope.
 */
import { type z } from 'zod'
import { isMethodName, type MethodName } from './channels'
import { methodInputSchemas, type HandlerTable, type MethodOutputs } from './contract'
import { ApiFailure, type ApiResult } from './result'

/** Turn a zod error into one line a person can act on: which field, what was wrong. */
function describeInputError(error: z.ZodError): string {
  const first = error.issues[0]
  if (first === undefined) return 'input is invalid'
  const where = first.path.length > 0 ? first.path.join('.') : 'input'
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more problem(s))` : ''
  return `${where}: ${first.message}${more}`
}

export async function dispatchCall(
  handlers: HandlerTable,
  method: unknown,
  rawInput: unknown,
  onInternalError: (method: string, error: unknown) => void = () => {}
): Promise<ApiResult<MethodOutputs[MethodName]>> {
  if (!isMethodName(method)) {
    return {
      ok: false,
      error: { code: 'unknown-method', message: `unknown API method ${JSON.stringify(String(method)).slice(0, 80)}` }
    }
  }
  const parsed = methodInputSchemas[method].safeParse(rawInput)
  if (!parsed.success) {
    return {
      ok: false,
      error: {
        code: 'invalid-input',
        message: `${method}: ${describeInputError(parsed.error)}`,
        hint: 'the request was rejected before anything ran; correct the field named and try again'
      }
    }
  }
  try {
    const handler = handlers[method] as (input: unknown) => Promise<MethodOutputs[MethodName]>
    return { ok: true, value: await handler(parsed.data) }
  } catch (error) {
    if (error instanceof ApiFailure) return { ok: false, error: error.toApiError() }
    onInternalError(method, error)
    return {
      ok: false,
      error: {
        code: 'internal',
        message: `${method} failed unexpectedly: ${error instanceof Error ? error.message : String(error)}`,
        hint: 'this is a bug in KMS Scout; the details are in the log'
      }
    }
  }
}
