import { defineConfig } from 'vitest/config'
import { svelte } from '@sveltejs/vite-plugin-svelte'

// Two projects: everything below src-main runs in plain Node (no Electron), the
// renderer components run in jsdom. Playwright e2e specs live in test/e2e and are
// not collected here.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'main',
          environment: 'node',
          include: ['test/**/*.test.ts'],
          exclude: ['test/renderer/**', 'test/e2e/**'],
          testTimeout: 60_000,
          hookTimeout: 60_000
        }
      },
      {
        plugins: [svelte()],
        resolve: { conditions: ['browser'] },
        test: {
          name: 'renderer',
          environment: 'jsdom',
          include: ['test/renderer/**/*.test.ts'],
          globals: true,
          setupFiles: ['test/renderer/setup.ts']
        }
      }
    ]
  }
})
