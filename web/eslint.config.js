// ESLint for the SPA, its unit tests and its browser specs: typescript-eslint's type-aware rules
// (a forgotten `await` in a spec or a handler is an error) and React's hooks rules, including the
// compiler-derived ones (refs, immutability, set-state-in-effect). `npm run lint` fails on any warning.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** calls whose promise is safe to leave alone */
const knownSafeCalls = [
  // node:test collects these itself and reports their failures
  { from: 'package', package: 'node:test', name: ['test', 'before', 'after', 'beforeEach', 'afterEach', 'describe', 'it'] },
  // navigate() returns a promise only for data routers' transitions, which this app does not use
  { from: 'package', package: 'react-router', name: 'NavigateFunction' },
];

export default defineConfig([
  // test-results/ holds the compiled e2e specs; their sources are linted
  globalIgnores(['dist/', 'node_modules/', 'test-results/']),
  {
    files: ['**/*.{ts,tsx}'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: knownSafeCalls }],
    },
  },
  {
    files: ['**/*.js'],
    extends: [js.configs.recommended],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['src/**/*.{ts,tsx}', 'tests/unit/**/*.{ts,tsx}'],
    extends: [reactHooks.configs.flat['recommended-latest']],
    languageOptions: { globals: globals.browser },
  },
  {
    files: ['tests/unit/**/*.{ts,tsx}'],
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            ...knownSafeCalls,
            // act() with a synchronous callback has already flushed when it returns
            { from: 'package', package: '@testing-library/react', name: 'act' },
          ],
        },
      ],
    },
  },
  {
    files: ['tests/e2e/**/*.ts', 'vite.config.ts'],
    languageOptions: { globals: globals.node },
  },
]);
