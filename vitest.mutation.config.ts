import { defineConfig } from 'vitest/config'

// The tests `npm run test:mutation` runs against each mutant of the pure protocol core and the SRV
// selection (stryker.config.mjs): the protocol tests, the SRV selection and PRNG tests, and the in-process
// tests of the product catalog (which exercise the catalog and host-key code of src-main/protocol), all
// without sockets. The fuzz tests are left out: they assert only that decoders never throw (already covered by
// every other test of those decoders' results) and take half the time of each mutant's run.
export default defineConfig({
  test: {
    name: 'mutation',
    environment: 'node',
    include: [
      'test/protocol/**/*.test.ts',
      'test/dns/srv-selection.test.ts',
      'test/discovery/srv-*.test.ts',
      'test/catalog/**/*.test.ts',
      'test/lab-host/identity.test.ts',
      'test/service/products.test.ts'
    ],
    exclude: ['test/protocol/fuzz.test.ts'],
    testTimeout: 60_000
  }
})
