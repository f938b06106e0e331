// Lint rules double as architecture guards: the renderer reaches nothing but
// the contract, the helper never touches Electron or the user's keychain.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const contractOnly = {
  patterns: [
    {
      group: ['**/native-helper/src/!(api)/**', '**/native-helper/src/!(api)'],
      message: 'The renderer and preload may import only the RPC contract (native-helper/src/api).',
    },
    { group: ['node:*', 'electron', 'electron/*'], message: 'The renderer knows nothing of Node or Electron.' },
  ],
};

export default tseslint.config(
  {
    ignores: ['dist/**', '.lab/**', 'node_modules/**', 'renderer/node_modules/**', 'renderer/dist/**', 'test-results/**', 'playwright-report/**', '**/*.d.ts', 'out/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: 'readonly', process: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly',
        setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly',
        queueMicrotask: 'readonly', structuredClone: 'readonly', AbortController: 'readonly', performance: 'readonly',
        window: 'readonly', document: 'readonly', navigator: 'readonly', fetch: 'readonly', setImmediate: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['native-helper/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['electron', 'electron/*', 'react', 'react-dom'], message: 'native-helper never imports Electron or React.' },
          { group: ['**/renderer/**', '**/electron/**'], message: 'native-helper is imported by the UI, never the other way round.' },
        ],
      }],
    },
  },
  {
    // The root helper never reads a user's keychain (DESIGN.md: secrets arrive in the connect request).
    files: ['native-helper/src/daemon/**/*.ts', 'native-helper/src/ike/**/*.ts', 'native-helper/src/platform/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: '@napi-rs/keyring', message: 'straitd never reads a keychain.' }],
        patterns: [
          { group: ['electron', 'electron/*', 'react', 'react-dom'], message: 'native-helper never imports Electron or React.' },
          { group: ['**/keychain/**', '**/keychain'], message: 'straitd never reads a keychain.' },
        ],
      }],
    },
  },
  {
    // The IKE engine is sans-I/O (DESIGN.md): no sockets, timers, files or processes.
    files: ['native-helper/src/ike/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ['node:dgram', 'node:net', 'node:fs', 'node:fs/promises', 'node:child_process', 'node:timers', 'dgram', 'net', 'fs', 'child_process']
          .map((name) => ({ name, message: 'The IKE engine is sans-I/O: the daemon does I/O.' })),
      }],
      'no-restricted-globals': ['error',
        { name: 'setTimeout', message: 'Timers are actions returned to the daemon.' },
        { name: 'setInterval', message: 'Timers are actions returned to the daemon.' },
      ],
      'no-restricted-properties': ['error', { object: 'Date', property: 'now', message: 'The clock is injected (now).' }],
    },
  },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    rules: { 'no-restricted-imports': ['error', contractOnly] },
  },
  {
    files: ['electron/preload/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{
          group: ['**/native-helper/src/!(api)/**', '**/native-helper/src/!(api)'],
          message: 'The preload exposes the contract only.',
        }],
      }],
    },
  },
);
