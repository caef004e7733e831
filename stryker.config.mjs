// Mutation testing of the pure protocol core and the RFC 2782 SRV selection (docs/testing.md): `npm run
// test:mutation`. It takes tens of minutes, so it is not part of `npm test`. Two test processes at most: the
// development machine has two cores and is shared.
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  coverageAnalysis: 'perTest',
  mutate: ['src-main/protocol/**/*.ts', 'src-main/discovery/srv-*.ts'],
  concurrency: 2,
  timeoutMS: 10_000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  ignorePatterns: ['out', 'dist', 'test-results', 'docs/screenshots', 'bench'],
  cleanTempDir: true,
  thresholds: { high: 95, low: 90, break: null }
}
