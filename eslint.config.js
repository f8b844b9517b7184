// @ts-check
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['**/node_modules/**', '**/dist/**', 'coverage/**', '.cluster/**', 'bench/results/**'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      complexity: ['error', 12],
      'max-depth': ['error', 3],
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Read env in packages/shared/src/config.ts (or pass process.env from main.ts).',
        },
      ],
    },
  },
  {
    // The decision model and its tests stay off the I/O stack: not the `@critsvc/shared` barrel (it
    // loads all of it), no client library, nothing outside model/ but the tables' builders.
    files: ['apps/handler/src/model/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@critsvc/shared',
              message:
                'The model imports @critsvc/shared/model (types, pure helpers); the barrel loads client-node, BullMQ, pino, ...',
            },
          ],
          patterns: [
            {
              regex: '^(bullmq|ioredis|@kubernetes/client-node|pino|prom-client|undici|envalid)(/|$)',
              message: 'The decision model does no I/O.',
            },
            {
              regex: '^\\.\\./(?!(\\.\\./)*test/support/model-fixtures\\.ts$)',
              message:
                'The decision model and its tests import nothing outside model/ but test/support/model-fixtures.ts.',
            },
          ],
        },
      ],
    },
  },
  {
    // The model itself: its own files, @critsvc/shared/model and node:crypto, nothing else
    // (model/isolation.test.ts checks the same at runtime).
    files: ['apps/handler/src/model/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!\\./(?!\\.\\./)|@critsvc/shared/model$|node:crypto$)',
              message:
                'The decision model imports only ./*, @critsvc/shared/model and node:crypto: no I/O, no dependency (not the @critsvc/shared barrel).',
            },
          ],
        },
      ],
    },
  },
  {
    // `@critsvc/shared/model` has no dependency: the model (and its unit tests) load nothing else.
    files: ['packages/shared/src/model.ts', 'packages/shared/src/types.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!\\./types\\.ts$)',
              message:
                '@critsvc/shared/model stays dependency-free: model.ts re-exports ./types.ts, which imports nothing.',
            },
          ],
        },
      ],
    },
  },
  {
    // What the processes load: client-node's own modules, never its index, which loads the whole
    // generated API (~45 MB per process; packages/shared/src/narrow-client-node.ts). Types are free.
    files: ['packages/shared/src/**/*.ts', 'apps/watcher-*/src/**/*.ts', 'apps/handler/src/**/*.ts'],
    ignores: ['**/*.test.ts', 'apps/handler/src/model/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@kubernetes/client-node',
              allowTypeImports: true,
              message:
                'Import from @kubernetes/client-node/dist/<module>.js: the index loads every generated model and API (narrow-client-node.ts).',
            },
          ],
        },
      ],
    },
  },
  {
    // Entry points hand process.env to the config loader; scripts and tests run outside the product.
    files: ['apps/*/src/main.ts', 'packages/shared/src/config.ts', 'scripts/**', 'test/**', 'bench/**', '**/*.test.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    // Test bodies are flat sequences of steps and assertions; optional chains inflate the count.
    files: ['test/**', '**/*.test.ts', 'bench/**'],
    rules: { complexity: 'off' },
  },
);
