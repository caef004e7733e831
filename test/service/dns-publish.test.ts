/**
 * DNS publishing, planning and audit through the app service, against a real BIND 9 and real lab hosts on
 * 127.0.0.1: a published record seen by discovery with its priority and weight; the lab host's own record added
 * on start and removed on stop; plan-dns's zone-file lines loaded by BIND and its nsupdate script applied by
 * nsupdate, then discovered; the audit telling a healthy host from a stale record, an unresolvable name, a starved
 * host, a group that is down and a domain clients never reach. Requires BIND 9 (`apt-get install -y bind9 bind9-dnsutils`).
 */
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { dispatchCall } from '../../src-main/api/dispatch'
import { createAppService, type AppService } from '../../src-main/service/app-service'
import { planDnsRecords } from '../../src-main/service/dns-publish-service'
import { bindTool, startBind, type RunningBind } from '../helpers/bind'
import { closedPort } from '../helpers/kms-test-host'
import { useLabHosts } from '../helpers/lab-host-fixture'

/** The plan whose zone-file lines BIND loads at start. */
const zonePlan = planDnsRecords({
  hosts: [
    { name: 'kms01.plan.test', port: 1688, priority: 0, weight: 100 },
    { name: 'kms02.plan.test', port: 1700, priority: 10, weight: 0 }
  ],
  domains: ['plan.test', 'branch.plan.test'],
  ttl: 900
})

let bind: RunningBind
let configDir: string
let service: AppService
const labHosts = useLabHosts()

beforeAll(async () => {
  bind = await startBind([
    { name: 'pub.test' },
    { name: 'plan.test', records: [...zonePlan.zoneFile, 'kms01 IN A 127.0.0.1', 'kms02 IN A 127.0.0.1'] },
    { name: 'nsupdate.test' },
    { name: 'audit.test', records: ['live IN A 127.0.0.1', 'dead IN A 127.0.0.1', 'spare IN A 127.0.0.1'] }
  ])
})
afterAll(async () => {
  await bind?.stop()
})
beforeEach(async () => {
  configDir = await mkdtemp(join(tmpdir(), 'kms-scout-dns-service-'))
  service = await createAppService({ shell: 'cli', configDir, version: '1' })
})
afterEach(async () => {
  await service.close()
  await rm(configDir, { recursive: true, force: true })
})

async function records(domain: string): Promise<Array<{ priority: number; weight: number; port: number; target: string }>> {
  const report = await service.handlers.discover({ domains: [domain], dnsServer: bind.spec })
  return report.results[0]!.records.map((r) => ({ priority: r.priority, weight: r.weight, port: r.port, target: r.target })).sort((a, b) =>
    a.target.localeCompare(b.target)
  )
}

describe('publishDns / unpublishDns', () => {
  it('publishes a record that discovery then sees with its priority and weight, and removes it', async () => {
    const published = await dispatchCall(service.handlers, 'publishDns', {
      server: bind.spec,
      domain: 'pub.test',
      target: 'kms01.pub.test',
      priority: 10,
      weight: 60,
      ttl: 300,
      tsigKeyFile: bind.keyFile
    })
    expect(published).toMatchObject({ ok: true, value: { ok: true, code: 'NOERROR', name: '_vlmcs._tcp.pub.test' } })
    expect(await records('pub.test')).toEqual([{ priority: 10, weight: 60, port: 1688, target: 'kms01.pub.test' }])

    const removed = await service.handlers.unpublishDns({
      server: bind.spec,
      domain: 'pub.test',
      target: 'kms01.pub.test',
      tsigKeyFile: bind.keyFile
    })
    expect(removed).toMatchObject({ ok: true, removed: [{ priority: 10, weight: 60 }] })
    expect(await records('pub.test')).toEqual([])
  })

  it('refuses a key file that is not one, and a missing one, before anything is sent', async () => {
    const notAKey = join(configDir, 'named.conf')
    await writeFile(notAKey, 'options { directory "/tmp"; };\n')
    const bad = await dispatchCall(service.handlers, 'publishDns', {
      server: bind.spec,
      domain: 'pub.test',
      target: 'x.pub.test',
      tsigKeyFile: notAKey
    })
    expect(bad).toMatchObject({
      ok: false,
      error: { code: 'invalid-input', message: expect.stringMatching(/not a key statement/), hint: expect.stringMatching(/tsig-keygen/) }
    })
    const missing = await dispatchCall(service.handlers, 'publishDns', {
      server: bind.spec,
      domain: 'pub.test',
      target: 'x.pub.test',
      tsigKeyFile: join(configDir, 'nope.key')
    })
    expect(missing).toMatchObject({ ok: false, error: { code: 'config', message: expect.stringMatching(/ENOENT/) } })
    const badServer = await dispatchCall(service.handlers, 'publishDns', {
      server: 'dns.example',
      domain: 'pub.test',
      target: 'x.pub.test'
    })
    expect(badServer).toMatchObject({ ok: false, error: { code: 'invalid-input' } })
  })
})

describe('the lab host publishes itself', () => {
  it('adds its record when it starts listening and removes it when it stops', async () => {
    const started = await service.handlers.startLabHost({
      listen: ['127.0.0.1:0'],
      publish: { domains: ['pub.test'], server: bind.spec, name: 'lab.pub.test', priority: 5, weight: 50, tsigKeyFile: bind.keyFile }
    })
    const port = started.status!.addresses[0]!.port
    expect(started.dnsRecords).toMatchObject([{ ok: true, action: 'publish', code: 'NOERROR' }])
    expect(await records('pub.test')).toEqual([{ priority: 5, weight: 50, port, target: 'lab.pub.test' }])

    const stopped = await service.handlers.stopLabHost(undefined)
    expect(stopped.dnsRecords).toMatchObject([{ ok: true, action: 'unpublish', removed: [{ port }] }])
    expect(await records('pub.test')).toEqual([])
  })

  it('keeps running and says why when the server refuses its record', async () => {
    const started = await service.handlers.startLabHost({
      listen: ['127.0.0.1:0'],
      publish: { domains: ['pub.test'], server: bind.spec, name: 'lab.pub.test' }
    })
    expect(started.running).toBe(true)
    expect(started.dnsRecords).toMatchObject([{ ok: false, code: 'REFUSED', fix: expect.stringMatching(/allow-update/) }])
  })
})

describe('planDns', () => {
  it('checks the plan: all-zero weights, a starved host, a lone host, duplicates, TTLs, addresses', () => {
    const even = planDnsRecords({ hosts: [h('a.corp.test', 0, 0), h('b.corp.test', 0, 0)], domains: ['corp.test'] })
    expect(even.findings.map((f) => f.kind)).toEqual(['all-weights-zero'])
    expect(even).toMatchObject({ status: 'ok', exitCode: 0, chanceFirst: [0.5, 0.5] })

    const starved = planDnsRecords({
      hosts: [h('a.corp.test', 0, 100), h('b.corp.test', 0, 0), h('c.corp.test', 10, 0)],
      domains: ['corp.test']
    })
    expect(starved.findings.map((f) => f.kind)).toEqual(['starved-host'])
    expect(starved).toMatchObject({ status: 'warning', exitCode: 1 })
    expect(starved.chanceFirst).toEqual([100 / 101, 1 / 101, 0])

    const lone = planDnsRecords({ hosts: [h('a.corp.test', 0, 0)], domains: ['corp.test'], ttl: 30 })
    expect(lone.findings.map((f) => f.kind)).toEqual(['no-fallback', 'ttl-low'])
    const twice = planDnsRecords({
      hosts: [h('a.corp.test', 0, 1), h('A.corp.test', 1, 1), h('kms', 2, 0)],
      domains: ['corp.test'],
      ttl: 200_000
    })
    expect(twice.findings.map((f) => f.kind)).toEqual(['duplicate-target', 'target-not-qualified', 'ttl-high'])
    expect(twice).toMatchObject({ status: 'critical', exitCode: 2 })
    const address = planDnsRecords({ hosts: [h('10.0.0.5', 0, 0), h('b.corp.test', 0, 0)], domains: ['corp.test'] })
    expect(address).toMatchObject({ status: 'critical', zoneFile: [], findings: [{ kind: 'target-is-address' }] })
  })

  it('writes every form, one line per host and domain, and a DnsDomainPublishList per host', async () => {
    const plan = await service.handlers.planDns({
      hosts: [
        { name: 'kms01.corp.test', weight: 100 },
        { name: 'kms02.corp.test', port: 1700, priority: 10 }
      ],
      domains: ['corp.test', 'branch.corp.test'],
      ttl: 900,
      dnsServer: '127.0.0.1:5353'
    })
    expect(plan.zoneFile).toEqual([
      '_vlmcs._tcp.corp.test. 900 IN SRV 0 100 1688 kms01.corp.test.',
      '_vlmcs._tcp.corp.test. 900 IN SRV 10 0 1700 kms02.corp.test.',
      '_vlmcs._tcp.branch.corp.test. 900 IN SRV 0 100 1688 kms01.corp.test.',
      '_vlmcs._tcp.branch.corp.test. 900 IN SRV 10 0 1700 kms02.corp.test.'
    ])
    expect(plan.powershell[1]).toBe(
      "Add-DnsServerResourceRecord -ZoneName 'corp.test' -Srv -Name '_vlmcs._tcp' -DomainName 'kms02.corp.test' -Priority 10 -Weight 0 -Port 1700 -TimeToLive ([TimeSpan]::FromSeconds(900))"
    )
    expect(plan.dnscmd[0]).toBe('dnscmd /RecordAdd corp.test _vlmcs._tcp 900 SRV 0 100 1688 kms01.corp.test')
    expect(plan.nsupdate[0]).toBe('server 127.0.0.1 5353')
    expect(plan.publishLists[1]).toMatchObject({ host: 'kms02.corp.test', values: ['corp.test,10,0', 'branch.corp.test,10,0'] })
    expect(plan.publishLists[1]!.regAdd).toBe(
      'reg add "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\SoftwareProtectionPlatform" /v DnsDomainPublishList /t REG_MULTI_SZ /d "corp.test,10,0\\0branch.corp.test,10,0" /f'
    )
    const refused = await dispatchCall(service.handlers, 'planDns', { hosts: [{ name: 'a"; rm -rf /', port: 1 }], domains: ['corp.test'] })
    expect(refused).toMatchObject({ ok: false, error: { code: 'invalid-input', message: expect.stringMatching(/not a DNS name/) } })
  })

  it('zone-file lines load into BIND and are discovered as planned', async () => {
    const expected = [
      { priority: 0, weight: 100, port: 1688, target: 'kms01.plan.test' },
      { priority: 10, weight: 0, port: 1700, target: 'kms02.plan.test' }
    ]
    expect(await records('plan.test')).toEqual(expected)
    expect(await records('branch.plan.test')).toEqual(expected)
  })

  it('the nsupdate script, applied by nsupdate with the key file, publishes the records', async () => {
    const plan = planDnsRecords({
      hosts: [h('kms01.nsupdate.test', 0, 70), h('kms02.nsupdate.test', 0, 30)],
      domains: ['nsupdate.test'],
      dnsServer: bind.spec
    })
    const script = join(configDir, 'records.nsupdate')
    await writeFile(script, `${plan.nsupdate.join('\n')}\n`)
    const run = spawnSync(bindTool('nsupdate'), ['-k', bind.keyFile, script], { encoding: 'utf8', timeout: 20_000 })
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
    expect(await records('nsupdate.test')).toEqual([
      { priority: 0, weight: 70, port: 1688, target: 'kms01.nsupdate.test' },
      { priority: 0, weight: 30, port: 1688, target: 'kms02.nsupdate.test' }
    ])
  })
})

describe('auditDns', () => {
  it('tells the healthy host from a stale record, an unresolvable name, a starved host, a down group and an unreached domain', async () => {
    const { port: livePort } = await labHosts.start()
    const deadPort = await closedPort()
    const publish = (domain: string, target: string, port: number, priority: number, weight: number): Promise<unknown> =>
      service.handlers.publishDns({ server: bind.spec, domain, target, port, priority, weight, tsigKeyFile: bind.keyFile })
    await publish('audit.test', 'live.audit.test', livePort, 0, 100)
    await publish('audit.test', 'dead.audit.test', deadPort, 0, 0)
    await publish('audit.test', 'gone.audit.test', 1688, 10, 0)
    await publish('later.audit.test', 'spare.audit.test', livePort, 0, 0)

    const report = await service.handlers.auditDns({ domains: ['audit.test', 'later.audit.test'], dnsServer: bind.spec })
    expect(report).toMatchObject({ status: 'warning', exitCode: 1, usedDomain: 'audit.test' })
    expect(report.statusLine).toMatch(/^KMS DNS WARNING - 4 record\(s\), 2 answer, 2 stale or unresolved, clients use audit\.test$/)
    const byTarget = new Map(report.records.map((r) => [r.target, r]))
    const live = byTarget.get('live.audit.test')!
    expect(live).toMatchObject({ status: 'healthy', resolves: true, answers: true, count: 1, used: true, addresses: ['127.0.0.1'] })
    expect(live.epid).toMatch(/^\d{5}-\d{5}-/)
    expect(live.hostKey?.names.length).toBeGreaterThan(0)
    expect(live.hostKey?.covers.length).toBeGreaterThan(0)
    expect(live.rttMs).toBeGreaterThan(0)
    expect(byTarget.get('dead.audit.test')).toMatchObject({
      status: 'stale',
      answers: false,
      probes: [{ outcome: 'failed', code: 'refused' }]
    })
    expect(byTarget.get('gone.audit.test')).toMatchObject({ status: 'unresolved', resolves: false, probes: [] })
    expect(byTarget.get('spare.audit.test')).toMatchObject({ status: 'healthy', used: false })
    expect(report.findings.map((f) => `${f.kind} ${f.domain}`).sort()).toEqual([
      'group-down audit.test',
      'never-reached later.audit.test',
      'stale audit.test',
      'starved audit.test',
      'unresolved audit.test'
    ])
    expect(report.findings.find((f) => f.kind === 'stale')!.message).toContain(`dead.audit.test:${deadPort}`)
  })

  it('is critical when no record of the used domain answers, and reports a domain without records', async () => {
    const deadPort = await closedPort()
    await service.handlers.publishDns({
      server: bind.spec,
      domain: 'down.audit.test',
      target: 'dead.audit.test',
      port: deadPort,
      tsigKeyFile: bind.keyFile
    })
    const down = await service.handlers.auditDns({ domains: ['down.audit.test'], dnsServer: bind.spec })
    expect(down).toMatchObject({ status: 'critical', exitCode: 2 })
    const none = await service.handlers.auditDns({ domains: ['empty.audit.test'], dnsServer: bind.spec })
    expect(none).toMatchObject({ status: 'critical', exitCode: 2, records: [], findings: [{ kind: 'no-records', severity: 'critical' }] })
  })
})

function h(name: string, priority: number, weight: number): { name: string; port: number; priority: number; weight: number } {
  return { name, port: 1688, priority, weight }
}
