// ESLint flat config. Besides the usual TypeScript and Svelte rules it enforces the layering of
// src-main: only the Electron shell may import `electron`, and the protocol core stays pure (no
// sockets, files, timers or processes).
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import svelte from 'eslint-plugin-svelte'
import svelteParser from 'svelte-eslint-parser'
import globals from 'globals'

const NODE_IO_MODULES = [
  'net',
  'dgram',
  'dns',
  'fs',
  'fs/promises',
  'child_process',
  'http',
  'https',
  'tls',
  'worker_threads',
  'cluster',
  'os',
  'timers'
]
const forbidden = (names, message) =>
  names.flatMap((name) => [
    { name, message },
    { name: `node:${name}`, message }
  ])

export default tseslint.config(
  {
    ignores: ['out/**', 'dist/**', 'node_modules/**', 'test-results/**', 'playwright-report/**', 'docs/**', '.stryker-tmp/**', 'reports/**']
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-console': 'off'
    }
  },
  {
    // electronegativity (npm run lint:electron) cannot parse #private class members in the main
    // bundle and would skip the file; TypeScript's `private` gives the same guarantee here.
    files: ['src-main/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: 'PrivateIdentifier', message: 'use the TypeScript `private` modifier instead of #private (see eslint.config.js)' }
      ]
    }
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: {
      parser: svelteParser,
      parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] },
      globals: { ...globals.browser }
    }
  },
  {
    files: ['src-renderer/**/*.ts'],
    languageOptions: { globals: { ...globals.browser } }
  },
  {
    // Nothing outside the Electron shell may depend on Electron: the core must run in plain Node.
    files: ['src-main/**/*.ts', 'src-renderer/**/*.{ts,svelte}'],
    ignores: ['src-main/electron/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'electron', message: 'only src-main/electron may import electron' }] }]
    }
  },
  {
    // The protocol core is pure: bytes in, values out. Clock and randomness are injected.
    files: ['src-main/protocol/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'electron', message: 'only src-main/electron may import electron' },
            ...forbidden(NODE_IO_MODULES, 'the protocol core is pure: do I/O in src-main/kms-client, src-main/lab-host or src-main/dns')
          ]
        }
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'inject randomness' },
        { object: 'Date', property: 'now', message: 'inject the clock' }
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'the protocol core has no timers' },
        { name: 'setInterval', message: 'the protocol core has no timers' }
      ]
    }
  },
  {
    // The renderer reaches the main process only through window.kms.
    files: ['src-renderer/**/*.{ts,svelte}'],
    rules: {
      'no-restricted-imports': 'off',
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'electron', message: 'the renderer talks to main only through window.kms' }],
          patterns: [
            {
              group: ['**/src-main/**'],
              allowTypeImports: true,
              message: 'the renderer may only import types from src-main (the API contract)'
            },
            { group: ['node:*'], message: 'the renderer has no Node' }
          ]
        }
      ]
    }
  }
)
