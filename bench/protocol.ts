/**
 * Host-side throughput of the KMS protocol engine on one core: decoding a captured request PDU (RPC + NDR +
 * decryption + checks) and encoding the response PDU (ePID, crypto, NDR + RPC), for protocols 4, 5 and 6.
 * Also the client's response verification. Run: npx tsx bench/protocol.ts
 */
import { readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { fromHex } from '../src-main/protocol/bytes'
import { parseKmsRequest } from '../src-main/protocol/kms/request'
import { decodeRequestStub } from '../src-main/protocol/rpc/ndr'
import { decodePdu } from '../src-main/protocol/rpc/pdu'
import { PTYPE } from '../src-main/protocol/rpc/constants'
import { verifyResponsePdu, type PendingCall } from '../src-main/protocol/session/call-outcome'
import { KmsHostSession, type KmsCall } from '../src-main/protocol/session/host'
import { VLMCSD_DEFAULT_HWID } from '../src-main/protocol/hwid'

const VECTORS = fileURLToPath(new URL('../../shared/kms/vectors/', import.meta.url))
const load = (name: string): Uint8Array => fromHex(readFileSync(`${VECTORS}${name}.hex`, 'utf8'))!

/** xorshift32: cheap deterministic bytes, so the numbers measure the protocol code, not the RNG. */
function fastRandom(seed: number): (n: number) => Uint8Array {
  let x = seed
  return (n) => {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i++) {
      x ^= x << 13
      x ^= x >>> 17
      x ^= x << 5
      out[i] = x & 0xff
    }
    return out
  }
}

const ANSWER = { epid: '03612-00206-567-887631-03-2074-14393.0000-0092024', hwid: VLMCSD_DEFAULT_HWID, count: 50, activationInterval: 120, renewalInterval: 10080 }

interface Rate {
  /** operations per second of this process's CPU time (user + system): "per core", robust on a shared machine */
  cpu: number
  /** operations per second of wall-clock time */
  wall: number
}

/**
 * Rate of `fn`: after a warm-up, the best of 5 rounds of about 300 ms each. Reported per CPU-second of this
 * process (so other processes competing for the 2 cores do not count) and per wall-clock second.
 */
function rate(fn: () => void, roundMs = 300, rounds = 5): Rate {
  for (let i = 0; i < 3000; i++) fn()
  const best: Rate = { cpu: 0, wall: 0 }
  for (let r = 0; r < rounds; r++) {
    let n = 0
    const cpu0 = process.cpuUsage()
    const start = performance.now()
    let now = start
    while (now - start < roundMs) {
      for (let i = 0; i < 100; i++) fn()
      n += 100
      now = performance.now()
    }
    const cpu = process.cpuUsage(cpu0)
    best.cpu = Math.max(best.cpu, (n * 1e6) / (cpu.user + cpu.system))
    best.wall = Math.max(best.wall, (n * 1000) / (now - start))
  }
  return best
}

function hostFor(): KmsHostSession {
  const host = new KmsHostSession({ portSpec: '1688', assocGroupId: 1 })
  host.receive(load('v6-bind-req'))
  host.receive(load('v6-alter-req'))
  return host
}

function pendingFor(reqName: string): PendingCall {
  const req = decodePdu(load(reqName))
  if (req.ptype !== PTYPE.request) throw new Error('not a request')
  const kms = decodeRequestStub(req.stub, 'ndr32').kmsRequest
  const p = parseKmsRequest(kms)
  if (!p.ok) throw new Error(p.reason)
  return { callId: req.callId, contextId: 0, syntax: 'ndr32', request: { bytes: kms, base: p.request.base, iv: p.request.iv, decryptedIv: p.request.decryptedIv } }
}

const rows: string[][] = []
for (const v of ['v4', 'v5', 'v6']) {
  const host = hostFor()
  const random = fastRandom(0x2545f491)
  const request = load(`${v}-req`)
  const first = host.receive(request)
  if (first.kind !== 'call') throw new Error(`${v}: expected a call`)
  const call: KmsCall = first.call
  const decode = rate(() => {
    host.receive(request)
  })
  const encode = rate(() => {
    host.answer(call, ANSWER, random)
  })
  const both = rate(() => {
    const step = host.receive(request)
    if (step.kind === 'call') host.answer(step.call, ANSWER, random)
  })
  const pending = pendingFor(`${v}-req`)
  const response = load(`${v}-resp`)
  const verify = rate(() => {
    verifyResponsePdu(response, pending)
  })
  const fmt = (x: number): string => Math.round(x).toLocaleString('en-US')
  rows.push([v, fmt(decode.cpu), fmt(encode.cpu), fmt(both.cpu), fmt(both.wall), fmt(verify.cpu)])
}

const head = ['protocol', 'host decode/s', 'host encode/s', 'host decode+encode/s', '(wall clock)', 'client verify/s']
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
console.log(`KMS protocol engine, one core (node ${process.version}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}, best of 5 rounds)`)
console.log(line(head))
console.log(widths.map((w) => '-'.repeat(w)).join('  '))
for (const r of rows) console.log(line(r))
console.log('rates per CPU-second of this process (one core); "(wall clock)" is the same operation per elapsed second')
console.log('target: host decode+encode ≥ 50,000/s per core for each protocol')
