/**
 * Loading the captured KMS exchanges kept in test/fixtures/kms-vectors (where they came from: ORIGIN.md there):
 * the PDU `.hex` files (one PDU each, 16 bytes a line) and what the vlmcs client printed (`*-vlmcs-output.txt`,
 * `*.txt`). The repo reads no reference material from outside itself.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { fromHex } from '../../src-main/protocol/bytes'
import type { BaseRequest } from '../../src-main/protocol/kms/base'
import { dateToFileTime } from '../../src-main/protocol/filetime'

/** test/fixtures/kms-vectors/, the repo's own copies of captured exchanges. */
const VECTORS_DIR = fileURLToPath(new URL('../fixtures/kms-vectors/', import.meta.url))

/** Names (without `.hex`) of every captured PDU file. */
export function listPduFiles(): string[] {
  return readdirSync(VECTORS_DIR)
    .filter((f) => f.endsWith('.hex'))
    .map((f) => f.slice(0, -4))
    .sort()
}

export function loadPdu(name: string): Uint8Array {
  const bytes = fromHex(readFileSync(`${VECTORS_DIR}${name}.hex`, 'utf8'))
  if (!bytes) throw new Error(`${name}.hex is not hex`)
  return bytes
}

/** One "Request Parameters" block as vlmcs printed it. */
export interface PrintedRequest {
  protocolVersion: string
  isVirtualMachine: boolean
  licenseStatus: number
  bindingExpiration: number
  appId: string
  skuId: string
  skuName: string
  kmsId: string
  kmsName: string
  cmid: string
  cmidPrev: string
  /** "YYYY-MM-DD HH:MM:SS" (UTC) */
  timestamp: string
  workstationName: string
  nPolicy: number
}

/** One "Response from KMS server" block. */
export interface PrintedResponse {
  size: number
  protocolVersion: string
  epid: string
  hwid: string | undefined
  cmid: string
  timestamp: string
  count: number
  renewalInterval: number
  activationInterval: number
}

export interface PrintedExchange {
  requests: PrintedRequest[]
  responses: PrintedResponse[]
  /** lines that report an error, e.g. "Error 0x8007000D while sending request 1 of 1" */
  errors: string[]
}

function fieldsOf(block: string): Map<string, string> {
  const m = new Map<string, string>()
  for (const line of block.split('\n')) {
    const i = line.indexOf(': ')
    if (i < 0) continue
    m.set(line.slice(0, i).trim(), line.slice(i + 2).trim())
  }
  return m
}

function req(m: Map<string, string>, key: string): string {
  const v = m.get(key)
  if (v === undefined) throw new Error(`vlmcs output lacks "${key}"`)
  return v
}

/** Splits "guid (name)" */
function guidAndName(v: string): [string, string] {
  const i = v.indexOf(' ')
  return i < 0
    ? [v, '']
    : [
        v.slice(0, i),
        v
          .slice(i + 1)
          .replace(/^\(/, '')
          .replace(/\)$/, '')
      ]
}

function parseVlmcsOutput(text: string): PrintedExchange {
  const out: PrintedExchange = { requests: [], responses: [], errors: [] }
  const parts = text.split(/\n(?=Request Parameters\n|Response from KMS server\n)/)
  for (const part of parts) {
    const m = fieldsOf(part)
    if (part.includes('Request Parameters')) {
      const [skuId, skuName] = guidAndName(req(m, 'SKU ID (aka Activation ID)'))
      const [kmsId, kmsName] = guidAndName(req(m, 'KMS ID (aka KMS counted ID)'))
      out.requests.push({
        protocolVersion: req(m, 'Protocol version'),
        isVirtualMachine: req(m, 'Client is a virtual machine') === 'Yes',
        licenseStatus: parseInt(req(m, 'Licensing status'), 10),
        bindingExpiration: parseInt(req(m, 'Remaining time (0 = forever)'), 10),
        appId: guidAndName(req(m, 'Application ID'))[0],
        skuId,
        skuName,
        kmsId,
        kmsName,
        cmid: req(m, 'Client machine ID'),
        cmidPrev: req(m, 'Previous client machine ID'),
        timestamp: req(m, 'Client request timestamp (UTC)'),
        workstationName: req(m, 'Workstation name'),
        nPolicy: parseInt(req(m, 'N count policy (minimum clients)'), 10)
      })
    } else if (part.includes('Response from KMS server')) {
      out.responses.push({
        size: parseInt(req(m, 'Size of KMS Response'), 10),
        protocolVersion: req(m, 'Protocol version'),
        epid: req(m, 'KMS host extended PID'),
        hwid: m.get('KMS host Hardware ID'),
        cmid: req(m, 'Client machine ID'),
        timestamp: req(m, 'Client request timestamp (UTC)'),
        count: parseInt(req(m, 'KMS host current active clients'), 10),
        renewalInterval: parseInt(req(m, 'Renewal interval policy'), 10),
        activationInterval: parseInt(req(m, 'Activation interval policy'), 10)
      })
    }
    for (const line of part.split('\n')) if (/^Error 0x/.test(line)) out.errors.push(line.trim())
  }
  return out
}

export function loadVlmcsOutput(file: string): PrintedExchange {
  return parseVlmcsOutput(readFileSync(`${VECTORS_DIR}${file}`, 'utf8'))
}

/**
 * The base request vlmcs sent, rebuilt only from what it printed (the printed timestamp has whole seconds, and
 * vlmcs's ClientTime is whole seconds too).
 */
export function baseRequestFromPrinted(p: PrintedRequest): BaseRequest {
  const [major, minor] = p.protocolVersion.split('.').map((x) => parseInt(x, 10))
  return {
    minorVer: minor ?? 0,
    majorVer: major ?? 0,
    vmInfo: p.isVirtualMachine ? 1 : 0,
    licenseStatus: p.licenseStatus,
    bindingExpiration: p.bindingExpiration,
    appId: p.appId,
    actId: p.skuId,
    kmsId: p.kmsId,
    cmid: p.cmid,
    nPolicy: p.nPolicy,
    clientTime: dateToFileTime(new Date(`${p.timestamp.replace(' ', 'T')}Z`)),
    cmidPrev: p.cmidPrev,
    workstationName: p.workstationName
  }
}

/** A captured conversation: which PDU files belong to it and what the client printed. */
export interface CapturedExchange {
  name: string
  output: string | undefined
  bindReq: string
  bindAck: string
  alterReq: string | undefined
  alterResp: string | undefined
  calls: { req: string; resp: string }[]
}

function standard(name: string, output: string | undefined): CapturedExchange {
  return {
    name,
    output,
    bindReq: `${name}-bind-req`,
    bindAck: `${name}-bind-ack`,
    alterReq: `${name}-alter-req`,
    alterResp: `${name}-alter-resp`,
    calls: [{ req: `${name}-req`, resp: `${name}-resp` }]
  }
}

export const CAPTURED_EXCHANGES: CapturedExchange[] = [
  standard('v4', 'v4-vlmcs-output.txt'),
  standard('v5', 'v5-vlmcs-output.txt'),
  standard('v6', 'v6-vlmcs-output.txt'),
  standard('v6-p-flag', undefined),
  standard('bad-version-7', 'bad-version-7.txt'),
  {
    name: 'v6-ndr32-only',
    output: 'v6-ndr32-only.txt',
    bindReq: 'v6-ndr32-only-bind-req',
    bindAck: 'v6-ndr32-only-bind-ack',
    alterReq: undefined,
    alterResp: undefined,
    calls: [{ req: 'v6-ndr32-only-req', resp: 'v6-ndr32-only-resp' }]
  },
  {
    ...standard('v6-two-requests', 'v6-two-requests-same-conn.txt'),
    calls: [
      { req: 'v6-two-requests-req', resp: 'v6-two-requests-resp' },
      { req: 'v6-two-requests-req-2', resp: 'v6-two-requests-resp-2' }
    ]
  }
]

/** Deterministic random source that hands out the given chunks in order (each call must ask for its size). */
export function scriptedRandom(...chunks: Uint8Array[]): (n: number) => Uint8Array {
  let i = 0
  return (n) => {
    const c = chunks[i++]
    if (!c) throw new Error(`scripted random exhausted at call ${i}`)
    if (c.byteLength !== n) throw new Error(`scripted random chunk ${i} has ${c.byteLength} bytes, ${n} requested`)
    return c
  }
}

/** A small seeded PRNG (xorshift32) as a RandomSource for deterministic tests and benchmarks. */
export function seededRandom(seed: number): (n: number) => Uint8Array {
  let x = seed >>> 0 || 0x9e3779b9
  return (n) => {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i++) {
      x ^= x << 13
      x >>>= 0
      x ^= x >>> 17
      x ^= x << 5
      x >>>= 0
      out[i] = x & 0xff
    }
    return out
  }
}
