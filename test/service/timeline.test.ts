/**
 * The failover timeline is built from the trace alone: DNS queries paired with their replies or failures by server,
 * transport and ID; attempts from start to end; the stagger starts; the winner; what never ended runs to the end.
 */
import { describe, expect, it } from 'vitest'
import { createTraceRecorder, type TraceInput } from '../../src-main/discovery/trace'
import { buildTimeline } from '../../src-main/service/timeline'

function record(steps: Array<[number, TraceInput]>) {
  let now = 0
  const recorder = createTraceRecorder(() => now)
  for (const [at, event] of steps) {
    now = at
    recorder.emit(event)
  }
  return recorder.entries()
}

const query = (id: number, server = '127.0.0.1:53') =>
  ({ kind: 'dns-query', atMs: 0, server, transport: 'udp', qname: '_vlmcs._tcp.lab.test', qtype: 'SRV', id, attempt: 1 }) as const

describe('buildTimeline', () => {
  it('draws queries, attempts, the stagger and the winner from the trace', () => {
    const trace = record([
      [0, { kind: 'cache-lookup', applicationId: '55c92734-d682-4d71-983e-d6ec3f16059f', result: 'miss' }],
      [1, query(7)],
      [
        4,
        {
          ...query(7),
          kind: 'dns-reply',
          rcode: 'NOERROR',
          truncated: false,
          authoritative: true,
          answers: 2,
          authorities: 0,
          additionals: 0,
          bytes: 120,
          elapsedMs: 3
        }
      ],
      [
        5,
        {
          kind: 'candidate-start',
          candidate: 1,
          source: 'dns',
          host: 'hung.lab.test',
          port: 1688,
          addresses: ['127.0.0.2'],
          reason: 'first',
          inFlight: 0
        }
      ],
      [5, { kind: 'attempt-start', attempt: 1, candidate: 1, host: 'hung.lab.test', port: 1688, address: '127.0.0.2' }],
      [
        255,
        {
          kind: 'candidate-start',
          candidate: 2,
          source: 'dns',
          host: 'kms.lab.test',
          port: 1688,
          addresses: ['127.0.0.1'],
          reason: 'stagger',
          inFlight: 1
        }
      ],
      [255, { kind: 'attempt-start', attempt: 2, candidate: 2, host: 'kms.lab.test', port: 1688, address: '127.0.0.1' }],
      [
        280,
        {
          kind: 'attempt-end',
          attempt: 2,
          candidate: 2,
          host: 'kms.lab.test',
          port: 1688,
          address: '127.0.0.1',
          startedAtMs: 255,
          durationMs: 25,
          outcome: 'verified'
        }
      ],
      [
        281,
        {
          kind: 'attempt-end',
          attempt: 1,
          candidate: 1,
          host: 'hung.lab.test',
          port: 1688,
          address: '127.0.0.2',
          startedAtMs: 5,
          durationMs: 276,
          outcome: 'cancelled'
        }
      ],
      [
        282,
        { kind: 'flow-result', outcome: 'answered', source: 'dns', host: 'kms.lab.test', port: 1688, message: 'answered', durationMs: 282 }
      ]
    ])
    const timeline = buildTimeline(trace)
    expect(timeline.totalMs).toBe(282)
    expect(timeline.staggerStartsMs).toEqual([255])
    expect(timeline.bars.map((bar) => [bar.lane, bar.startMs, bar.endMs, bar.outcome, bar.winner])).toEqual([
      ['cache', 0, 0, 'info', false],
      ['dns', 1, 4, 'ok', false],
      ['kms', 5, 281, 'cancelled', false],
      ['kms', 255, 280, 'ok', true]
    ])
    expect(timeline.bars[3]!.label).toBe('#2 kms.lab.test:1688 → 127.0.0.1')
  })

  it('pairs a failure with its own query, and runs what never ended to the end of the run', () => {
    const trace = record([
      [0, query(1, '127.0.0.1:53')],
      [0, query(2, '127.0.0.2:53')],
      [1000, { ...query(1, '127.0.0.1:53'), kind: 'dns-failure', code: 'timeout', message: 'no reply', elapsedMs: 1000 }],
      [1001, { kind: 'attempt-start', attempt: 1, candidate: 1, host: 'kms.lab.test', port: 1688 }],
      [
        1500,
        { kind: 'deadline', deadlineMs: 1500, pending: { dnsQueries: [], kmsAttempts: [], unresolvedTargets: 0 }, message: 'deadline' }
      ]
    ])
    const timeline = buildTimeline(trace)
    const failed = timeline.bars.find((bar) => bar.label.includes('@127.0.0.1:53'))!
    expect([failed.endMs, failed.outcome, failed.open, failed.detail]).toEqual([1000, 'failed', false, 'timeout: no reply'])
    const open = timeline.bars.filter((bar) => bar.open)
    expect(open.map((bar) => [bar.lane, bar.endMs, bar.outcome])).toEqual([
      ['dns', 1500, 'cancelled'],
      ['kms', 1500, 'cancelled']
    ])
  })
})
