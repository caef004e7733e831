/**
 * The report builder's guarantees that do not need a network: the format comes from the file name (or a clear
 * error), hostile text from a client or a host is escaped in HTML and made inert in text, and the HTML page
 * carries no script and no remote content.
 */
import { describe, expect, it } from 'vitest'
import type { LabHostCountsView, LabHostView } from '../../src-main/api/contract'
import { ApiFailure } from '../../src-main/api/result'
import { renderReport, reportFormatForFile } from '../../src-main/service/report-service'

const hostile = '<script>alert(1)</script>\u001b[2J"onload=x'

const view: LabHostView = {
  running: false,
  status: null,
  warnings: [],
  recent: [
    {
      timeMs: Date.UTC(2026, 0, 2, 10, 11, 12),
      clientAddress: '127.0.0.1:50000',
      outcome: 'ok',
      hresult: null,
      reason: null,
      protocolMajor: 6,
      protocolMinor: 0,
      syntax: 'ndr32',
      cmid: '3f03339e-8e1c-4ced-9e2b-fbb22a2a927c',
      previousCmid: null,
      workstationName: hostile,
      applicationId: '55c92734-d682-4d71-983e-d6ec3f16059f',
      applicationName: 'Windows',
      skuId: '2de67392-b7a7-462a-b1ca-108dd189f588',
      productName: 'Windows 10 Professional',
      kmsCountedId: '58e2134f-8e11-4d17-9cb2-91069c151148',
      kmsCountedName: 'Windows 10 2015 (Volume)',
      requiredClientCount: 25,
      licenseStatus: 2,
      count: 1,
      epid: '03612-00206-566-775718-03-1058-17763.0000-0982025',
      durationMs: 1
    }
  ],
  sameMachineNote: '',
  hostKeys: [],
  dnsRecords: []
}
const counts: LabHostCountsView = {
  running: false,
  groups: [
    {
      kmsCountedId: '58e2134f-8e11-4d17-9cb2-91069c151148',
      name: 'Windows 10 2015 (Volume)',
      threshold: 25,
      count: 1,
      distinctClients: 1,
      wouldActivate: false,
      lastRequestMs: Date.UTC(2026, 0, 2, 10, 11, 12)
    }
  ],
  rate: { bucketMs: 5000, endMs: 0, requests: [] },
  rowsRead: 1,
  rowsLimited: false
}
const at = new Date(Date.UTC(2026, 0, 2, 10, 11, 12, 345))

describe('report formats', () => {
  it('takes the format from the file extension and refuses what it cannot tell', () => {
    expect(['a.txt', 'b.LOG', 'c.json', 'd.html', 'e.htm'].map(reportFormatForFile)).toEqual(['text', 'text', 'json', 'html', 'html'])
    expect(() => reportFormatForFile('report.pdf')).toThrow(ApiFailure)
    expect(() => reportFormatForFile('report')).toThrow(/without an extension/)
  })

  it('names the file after the subject and the time', () => {
    expect(renderReport({ subject: 'lab-host', report: { view, counts } }, 'html', at).fileName).toBe(
      'kms-scout-lab-host-2026-01-02T10-11-12Z.html'
    )
  })

  it('escapes a hostile workstation name in HTML and allows nothing to run or load', () => {
    const html = renderReport({ subject: 'lab-host', report: { view, counts } }, 'html', at).content
    expect(html).not.toContain('<script>')
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
    expect(html).toContain('&quot;onload=x')
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`)
    expect(html).not.toMatch(/<script|<link|<img|<iframe|\bsrc=|\bhref=/i)
  })

  it('makes the same name inert in text, and keeps it exact in JSON', () => {
    const text = renderReport({ subject: 'lab-host', report: { view, counts } }, 'text', at).content
    expect(text).not.toContain('\u001b')
    expect(text).toContain('\\x1b[2J')
    expect(text).toContain('count 1 of 25 → a client would activate: no')
    const json = JSON.parse(renderReport({ subject: 'lab-host', report: { view, counts } }, 'json', at).content) as {
      report: { view: LabHostView }
    }
    expect(json.report.view.recent[0]!.workstationName).toBe(hostile)
  })
})
