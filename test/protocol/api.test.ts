/**
 * The public API (src-main/protocol/index) used the way the transport layer will: byte streams cut into
 * arbitrary chunks, split by PduFramer, a client session talking to a lab-host session.
 */
import { describe, expect, it } from 'vitest'
import {
  dateToFileTime,
  explainEpid,
  formatFileTimeUtc,
  formatHwid,
  generateCmid,
  generateEpid,
  generateHwid,
  KmsClientSession,
  KmsHostSession,
  makeBaseRequest,
  MAX_CLIENT_PDU_LENGTH,
  MAX_KMS_PDU_LENGTH,
  parseEpid,
  PduFramer,
  productCatalog,
  type ClientStep,
  type HostAnswer,
  type KmsCall
} from '../../src-main/protocol'
import { seededRandom } from '../helpers/vectors'

/** Delivers `bytes` to a framer in chunks of 1..7 bytes and returns the PDUs it produced. */
function deliver(framer: PduFramer, bytes: Uint8Array, random: (n: number) => Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = []
  let off = 0
  while (off < bytes.byteLength) {
    const n = 1 + (random(1)[0]! % 7)
    out.push(...framer.push(bytes.subarray(off, off + n)))
    off += n
  }
  return out
}

describe('public API: a whole conversation over chunked streams', () => {
  it('client and lab host agree on every product group with the product default protocol', () => {
    const random = seededRandom(42)
    const now = new Date('2026-11-25T08:22:47Z')
    const hwid = generateHwid(random)
    const cmid = generateCmid(random)
    // one product per KMS counted ID
    const skus = productCatalog.kmsCountedIds
      .map((k) => productCatalog.skus.find((s) => s.kmsCountedId === k.guid))
      .filter((s) => s !== undefined)
    expect(skus.length).toBeGreaterThan(20)
    for (const sku of skus) {
      const client = new KmsClientSession()
      const host = new KmsHostSession({ portSpec: '1688', assocGroupId: 0x10000 })
      const toHost = new PduFramer(MAX_KMS_PDU_LENGTH)
      const toClient = new PduFramer(MAX_CLIENT_PDU_LENGTH)
      const seen: KmsCall[] = []
      const epid = generateEpid(sku.kmsCountedId, { random, now })

      const hostHandles = (bytes: Uint8Array): Uint8Array[] => {
        const replies: Uint8Array[] = []
        for (const pdu of deliver(toHost, bytes, random)) {
          const step = host.receive(pdu)
          if (step.kind === 'close') throw new Error(step.reason)
          if (step.kind === 'reply') replies.push(step.reply)
          if (step.kind === 'call') {
            seen.push(step.call) // a lab host logs here, then answers
            const answer: HostAnswer = {
              epid,
              hwid,
              count: 2 * step.call.request.base.nPolicy,
              activationInterval: 120,
              renewalInterval: 10080
            }
            replies.push(host.answer(step.call, answer, random))
          }
        }
        return replies
      }
      const clientHandles = (bytes: Uint8Array): ClientStep[] => deliver(toClient, bytes, random).map((p) => client.receive(p))

      let pending = [client.bind()]
      let bound = false
      while (!bound) {
        const steps = pending.flatMap(hostHandles).flatMap(clientHandles)
        pending = []
        for (const s of steps) {
          if (s.kind === 'send') pending.push(s.pdu)
          else if (s.kind === 'bound') bound = true
          else throw new Error(`bind failed: ${JSON.stringify(s)}`)
        }
      }
      const base = makeBaseRequest({
        identity: productCatalog.requestIdentity(sku),
        cmid,
        clientTime: dateToFileTime(now),
        workstationName: 'kms-scout-monitor.example.test'
      })
      const [result] = hostHandles(client.request(base, random)).flatMap(clientHandles)
      expect(result?.kind).toBe('result')
      if (result?.kind !== 'result') continue
      const o = result.outcome
      expect(o.kind, sku.name).toBe('response')
      if (o.kind !== 'response') continue
      expect(o.countSufficient).toBe(true)
      expect(o.response.base.epid).toBe(epid)
      expect(formatFileTimeUtc(o.response.base.clientTime)).toBe('2026-11-25 08:22:47')
      expect(o.response.hwid === undefined ? undefined : formatHwid(o.response.hwid)).toBe(
        sku.protocolVersion === 6 ? formatHwid(hwid) : undefined
      )
      const parsed = parseEpid(o.response.base.epid)
      expect(parsed.ok && explainEpid(parsed.parts).csvlk?.iniName).toBe(productCatalog.csvlkForKmsCountedId(sku.kmsCountedId).iniName)
      expect(seen.map((c) => [c.request.protocol, c.request.base.actId])).toEqual([[sku.protocolVersion, sku.guid]])
      expect(toHost.pendingBytes + toClient.pendingBytes).toBe(0)
    }
  })
})
