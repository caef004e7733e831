import fs from 'node:fs'
import path from 'node:path'
import { describe, it, expect } from 'vitest'
import { DNS_SERVER_RULES, parseHostPort } from '../../src-main/common/host-port'
import { createSettingsStore, defaultSettings, settingsSchema } from '../../src-main/storage/settings'
import { useTempDirs, fixedClock } from './temp-dir'

const tempDir = useTempDirs()

describe('settings defaults', () => {
  it('match the documented client and lab-host defaults', () => {
    const s = defaultSettings()
    expect(s.schemaVersion).toBe(1)
    expect(s.client).toEqual({
      manualHost: null,
      lookupDomain: null,
      dnsServer: null,
      hostCaching: true,
      failover: { mode: 'staggered', staggerMs: 250 },
      timeouts: { connectMs: 3000, bindMs: 5000, requestMs: 5000 },
      defaultProductSkuId: null,
      protocolOverride: null,
      workstationName: null,
      legacySelection: false
    })
    expect(s.window).toBeUndefined()
    expect(s.labHost).toEqual({
      listen: ['127.0.0.1:1688'],
      dbPath: null,
      countMode: 'real',
      csvlks: [],
      activationInterval: 120,
      renewalInterval: 10080,
      maxConnections: 256,
      maxConnectionsPerAddress: 32,
      maxRequestsPerSecondPerAddress: 200,
      maxLogMiB: 64,
      exchangeTimeoutS: 30,
      maxPduBytes: 4096,
      retentionDays: 30,
      jsonLog: false
    })
  })

  it('fills the port of a manual host with 1688', () => {
    expect(settingsSchema.parse({ client: { manualHost: { host: 'kms.corp.example' } } }).client.manualHost).toEqual({
      host: 'kms.corp.example',
      port: 1688
    })
  })
})

describe('settings validation', () => {
  const labHost = (fields: Record<string, unknown>) => settingsSchema.safeParse({ labHost: fields }).success

  it('accepts renewal/activation intervals only between 15 and 43200 minutes', () => {
    expect(labHost({ renewalInterval: 15 })).toBe(true)
    expect(labHost({ renewalInterval: 43200 })).toBe(true)
    expect(labHost({ renewalInterval: 14 })).toBe(false)
    expect(labHost({ renewalInterval: 43201 })).toBe(false)
    expect(labHost({ activationInterval: 10.5 })).toBe(false)
  })

  it('accepts a fixed count or real counting', () => {
    expect(settingsSchema.parse({ labHost: { countMode: { fixed: 50 } } }).labHost.countMode).toEqual({ fixed: 50 })
    expect(labHost({ countMode: 'fake' })).toBe(false)
    expect(labHost({ countMode: { fixed: -1 } })).toBe(false)
  })

  it('validates ePID overrides and normalises the HwId', () => {
    const parsed = settingsSchema.parse({
      labHost: { epids: { Windows: '03612-00206-567-887631-03-2074-14393.0000-0092024' }, hwid: '3a1c049600b60076' }
    })
    expect(parsed.labHost.hwid).toBe('3A1C049600B60076')
    expect(labHost({ epids: { Windows: '03612-00206-567' } })).toBe(false)
    expect(labHost({ hwid: '3A1C' })).toBe(false)
  })

  it('checks listen addresses and the DNS server as IP[:PORT]', () => {
    expect(labHost({ listen: ['0.0.0.0:1688', '[::1]:1688', '::'] })).toBe(true)
    expect(labHost({ listen: ['kms.example:1688'] })).toBe(false)
    expect(labHost({ listen: [] })).toBe(false)
    expect(settingsSchema.safeParse({ client: { dnsServer: '192.0.2.53:5353' } }).success).toBe(true)
    expect(settingsSchema.safeParse({ client: { dnsServer: '192.0.2.53:99999' } }).success).toBe(false)
  })

  it('accepts only protocol 4, 5, 6 or null as override', () => {
    for (const v of [4, 5, 6, null]) expect(settingsSchema.safeParse({ client: { protocolOverride: v } }).success).toBe(true)
    expect(settingsSchema.safeParse({ client: { protocolOverride: 7 } }).success).toBe(false)
  })

  it('limits the workstation name to the 63 characters the request can carry', () => {
    expect(settingsSchema.safeParse({ client: { workstationName: 'x'.repeat(63) } }).success).toBe(true)
    expect(settingsSchema.safeParse({ client: { workstationName: 'x'.repeat(64) } }).success).toBe(false)
  })

  it('lowercases the default product SKU GUID and rejects non-GUIDs', () => {
    const sku = 'B92E9980-B9D5-4821-9C94-140F632F6312'
    expect(settingsSchema.parse({ client: { defaultProductSkuId: sku } }).client.defaultProductSkuId).toBe(sku.toLowerCase())
    expect(settingsSchema.safeParse({ client: { defaultProductSkuId: 'windows' } }).success).toBe(false)
  })

  it('takes a lookup domain like /skms-domain', () => {
    expect(settingsSchema.safeParse({ client: { lookupDomain: 'corp.example.com' } }).success).toBe(true)
    expect(settingsSchema.safeParse({ client: { lookupDomain: 'not a domain' } }).success).toBe(false)
  })
})

describe('IP[:PORT] settings use the one host:port parser', () => {
  it('accepts IPv4 and bracketed IPv6 with and without a port', () => {
    for (const dnsServer of ['192.0.2.1', '192.0.2.1:5353', '::1', '[fe80::1]:1688']) {
      expect(settingsSchema.safeParse({ client: { dnsServer } }).success).toBe(true)
    }
    expect(settingsSchema.parse({ labHost: { listen: ['[::1]:0'] } }).labHost.listen).toEqual(['[::1]:0'])
  })

  it('refuses names, bad ports, bracketed IPv4 and what the API refuses (multicast, unspecified)', () => {
    for (const dnsServer of ['dns.example', '192.0.2.1:0', '[192.0.2.1]:53', '1.2.3.4:', '224.0.0.251', '0.0.0.0']) {
      const parsed = settingsSchema.safeParse({ client: { dnsServer } })
      expect(parsed.success, dnsServer).toBe(false)
      // the same words as the API and the CLI give for the same text
      const problem = parseHostPort(dnsServer, DNS_SERVER_RULES)
      expect(problem.ok).toBe(false)
      if (!parsed.success && !problem.ok) expect(parsed.error.issues[0]?.message).toContain(problem.error.problem)
    }
  })

  it('maxPduBytes: the settings accept exactly what the lab host accepts (65,536 was accepted, then refused)', () => {
    expect(settingsSchema.safeParse({ labHost: { maxPduBytes: 65_536 } }).success).toBe(false)
    expect(settingsSchema.parse({ labHost: { maxPduBytes: 65_535 } }).labHost.maxPduBytes).toBe(65_535)
  })
})

describe('settings store', () => {
  it('keeps valid hand edits when one value is out of range', async () => {
    const dir = tempDir()
    const file = path.join(dir, 'settings.json')
    fs.writeFileSync(
      file,
      JSON.stringify({ client: { hostCaching: false, lookupDomain: 'corp.example' }, labHost: { renewalInterval: 5, jsonLog: true } })
    )
    const store = createSettingsStore(file, { now: fixedClock('2026-03-01T00:00:00Z').now })
    const { value, warnings } = await store.load()
    expect(value.client.hostCaching).toBe(false)
    expect(value.client.lookupDomain).toBe('corp.example')
    expect(value.labHost.jsonLog).toBe(true)
    expect(value.labHost.renewalInterval).toBe(10080)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]?.kind).toBe('fields-reset')
    expect(warnings[0]?.message).toContain('labHost.renewalInterval')
    expect(fs.existsSync(`${file}.corrupt-2026-03-01T00-00-00-000Z`)).toBe(true)
  })

  it('saves window bounds and reads them back', async () => {
    const store = createSettingsStore(path.join(tempDir(), 'settings.json'))
    const saved = await store.save({ window: { x: -10, y: 20, width: 1024, height: 700 } })
    expect(saved.window).toEqual({ x: -10, y: 20, width: 1024, height: 700, maximized: false })
    expect((await store.load()).value.window).toEqual(saved.window)
  })
})
