/**
 * HwId (docs/protocol.md §9.3): 8 opaque bytes a v6 host sends to identify its hardware. Shown as 16 hex digits in wire
 * order, upper case like vlmcs prints it ("3A1C049600B60076").
 */
import { fromHex, toHex } from './bytes'
import { takeRandom, type RandomSource } from './random'

export const HWID_LENGTH = 8

/** vlmcsd's default HwId. */
export const VLMCSD_DEFAULT_HWID: Uint8Array = Uint8Array.of(0x3a, 0x1c, 0x04, 0x96, 0x00, 0xb6, 0x00, 0x76)

export function generateHwid(random: RandomSource): Uint8Array {
  return takeRandom(random, HWID_LENGTH)
}

export function formatHwid(hwid: Uint8Array): string {
  return toHex(hwid).toUpperCase()
}

/** Parses 16 hex digits (spaces allowed); undefined for anything else. */
export function parseHwid(text: string): Uint8Array | undefined {
  const b = fromHex(text)
  return b && b.byteLength === HWID_LENGTH ? b : undefined
}
