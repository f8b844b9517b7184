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
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read env in packages/shared/src/config.ts (or pass process.env from main.ts).' }],
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
