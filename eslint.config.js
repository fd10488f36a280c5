import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/', '.data/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-imports': 'off',
    },
  },
  {
    files: ['compare/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['../proxy/*', '../new-services/*', '../legacy/*', '../demo/*'], message: 'compare/ is pure: it imports nothing of ours.' },
          { group: ['node:fs', 'node:net', 'node:http', 'node:https', 'fs', 'net', 'http', 'https', 'pg'], message: 'compare/ is pure: no I/O.' },
        ],
      }],
    },
  },
  {
    files: ['new-services/**/*.ts', 'legacy/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['../proxy/*', '../../proxy/*', '../compare/*', '../../compare/*', '../demo/*', '../../demo/*'], message: 'new-services/ and legacy/ import nothing of the proxy.' }],
      }],
    },
  },
);
