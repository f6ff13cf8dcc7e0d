// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Modules that make workflow code non-deterministic or pull I/O into the workflow sandbox. */
const forbiddenInWorkflows = [
  { group: ['node:*'], message: 'Workflows are deterministic: no Node built-ins. Do I/O in an activity.' },
  ...['fs', 'path', 'crypto', 'os', 'http', 'https', 'net', 'child_process', 'timers', 'worker_threads', 'process'].map(
    (name) => ({
      group: [name, `${name}/*`],
      message: 'Workflows are deterministic: no Node built-ins. Do I/O in an activity.',
    }),
  ),
  {
    group: [
      'mongodb',
      'auth0',
      'node-vault',
      'pino',
      'jose',
      '@temporalio/client',
      '@temporalio/worker',
      '@temporalio/activity',
    ],
    message: 'Workflows may not import I/O libraries; call an activity.',
  },
  {
    group: ['**/activities/**'],
    allowTypeImports: true,
    message: 'Workflows import only types from activities/ (use `import type`).',
  },
];

/**
 * What `api/` and `ui/` may not import: activity factories (they run behind workflows, on workers) and the
 * provider OAuth and data code. Ports and adapters (the SecretVault, the Notifier, the identity directory),
 * stores and notice templates stay allowed: the API uses them itself.
 */
const forbiddenInApi = [
  {
    group: [
      '**/activities/**/activities.js',
      '**/activities/**/*-activities.js',
      '**/activities/recovery/provider-reauth.js',
      '**/activities/records/retention.js',
      '**/activities/sync/control.js',
    ],
    message:
      'The API and the console call no activity code: start or update the process through its starter (api/processes/).',
  },
  {
    group: [
      '**/activities/providers/oauth-client.js',
      '**/activities/providers/data/**',
      '**/activities/providers/resolve.js',
    ],
    message:
      'The API and the console never call a provider: an activity behind the workflow does (park secrets by reference, as link attempts do).',
  },
];

export default tseslint.config(
  { ignores: ['node_modules/**', '.data/**', '.tools/**', 'dist/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        Buffer: 'readonly',
        fetch: 'readonly',
        AbortSignal: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-exports': [
        'error',
        {
          restrictDefaultExports: {
            direct: true,
            named: true,
            defaultFrom: true,
            namedFrom: true,
            namespaceFrom: true,
          },
        },
      ],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: forbiddenInWorkflows }],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'Use sleep() from @temporalio/workflow: a durable timer.' },
        { name: 'setInterval', message: 'Use a loop with sleep() from @temporalio/workflow.' },
        { name: 'process', message: 'Workflows read no environment: pass values in the input.' },
        { name: 'fetch', message: 'Workflows do no I/O: call an activity.' },
      ],
    },
  },
  {
    files: ['api/**/*.ts', 'api/**/*.tsx', 'ui/**/*.ts', 'ui/**/*.tsx'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: forbiddenInApi }] },
  },
  {
    files: ['eslint.config.js', 'vitest.config.ts', 'temporal.config.ts'],
    rules: { 'no-restricted-exports': 'off' },
  },
);
