import { isKmsQueryError, type KmsQueryError } from '../../src-main/kms-client/kms-client'

/** The typed KmsQueryError a promise rejects with; anything else (or success) fails the test. */
export async function queryError(promise: Promise<unknown>): Promise<KmsQueryError> {
  try {
    await promise
  } catch (error) {
    if (isKmsQueryError(error)) return error
    throw error
  }
  throw new Error('the promise resolved; a KmsQueryError was expected')
}
