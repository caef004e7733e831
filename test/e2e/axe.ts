/** The accessibility check of the e2e specs: axe-core's serious and critical findings on the page as it is now. */
import AxeBuilder from '@axe-core/playwright'
import type { Page } from '@playwright/test'
import type { Result } from 'axe-core'

const describe = (violation: Result): string =>
  `${violation.id}: ${violation.help} (${violation.nodes.map((node) => node.target.join(' ')).join(', ')})`

export async function seriousFindings(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).analyze()
  return results.violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical').map(describe)
}
