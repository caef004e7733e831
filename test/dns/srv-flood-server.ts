/**
 * The hostile DNS server of issue 11 on 127.0.0.1, built on the fake-dns-server helper: `_vlmcs._tcp.<zone>`
 * answers over UDP with TC set and over TCP with `count` SRV records (targets t0.<zone> … in descending
 * priority, so the ones a client prefers come last on the wire). Address queries are answered NXDOMAIN at once
 * (`addresses: 'nxdomain'`) or never (`'silent'`); `srv: 'silent'` leaves the SRV query itself unanswered.
 */
import type * as dnsPacket from 'dns-packet'
import { buildReply, frameTcp, srvAnswer, startFakeDnsServer, type FakeDnsServer } from '../helpers/fake-dns-server'

export const FLOOD_ZONE = 'h.test'
export const FLOOD_QNAME = `_vlmcs._tcp.${FLOOD_ZONE}`

export interface SrvFloodOptions {
  readonly count: number
  readonly addresses: 'nxdomain' | 'silent'
  readonly srv?: 'flood' | 'silent'
}

function floodAnswers(count: number): dnsPacket.Answer[] {
  return Array.from({ length: count }, (_, i) => srvAnswer(FLOOD_QNAME, `t${i}.${FLOOD_ZONE}`, 1688, count - i, 0))
}

export function startSrvFloodServer(options: SrvFloodOptions): Promise<FakeDnsServer> {
  const answers = floodAnswers(options.count)
  return startFakeDnsServer({
    udp: (q) => {
      if (q.type === 'SRV') return options.srv === 'silent' ? [] : [buildReply(q, { flags: 0x8000 | 0x0200 | 0x0100 | 0x0080 })]
      return options.addresses === 'silent' ? [] : [buildReply(q, { rcode: 3 })]
    },
    tcp: (q, socket) => {
      if (q.type === 'SRV') socket.write(frameTcp(buildReply(q, { answers })))
      else if (options.addresses === 'nxdomain') socket.write(frameTcp(buildReply(q, { rcode: 3 })))
    }
  })
}
