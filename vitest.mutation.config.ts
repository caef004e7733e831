import { defineConfig } from 'vitest/config'

// The tests `npm run test:mutation` runs against each mutant of the pure protocol core and the SRV
// selection (stryker.config.mjs): the protocol tests and the SRV selection tests, all in-process with no
// sockets. The fuzz tests are left out: they assert only that decoders never throw (already covered by
// every other test of those decoders' results) and take half the time of each mutant's run.
export default defineConfig({
  test: {
    name: 'mutation',
    environment: 'node',
    include: ['test/protocol/**/*.test.ts', 'test/dns/srv-selection.test.ts', 'test/discovery/srv-selection-edges.test.ts'],
    exclude: ['test/protocol/fuzz.test.ts'],
    testTimeout: 60_000
  }
})
