/// <reference types="vite/client" />
import type { KmsApi } from '../../src-main/api/contract'

declare global {
  interface Window {
    /** The API contract, installed by the preload (Electron) or the test bridge (browser). */
    readonly kms: KmsApi
  }
}
