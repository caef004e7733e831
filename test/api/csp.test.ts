import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { RENDERER_CSP } from '../../src-main/api/csp'

describe('renderer CSP', () => {
  it('the <meta> tag in index.html says exactly what the response header says', () => {
    const html = readFileSync(new URL('../../src-renderer/index.html', import.meta.url), 'utf8')
    const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)
    expect(meta?.[1]).toBe(RENDERER_CSP)
  })

  it('allows no inline script, eval or remote origin', () => {
    expect(RENDERER_CSP).toContain("default-src 'none'")
    expect(RENDERER_CSP).toContain("script-src 'self'")
    expect(RENDERER_CSP).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/)
  })
})
