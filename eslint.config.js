import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/', '.data/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // A package's built files are its internals: an upgrade moves or changes them without a
      // word (issue 26). Only what a package exports by name is imported.
      'no-restricted-imports': ['error', {
        patterns: [{
          group: ['@aws-sdk/*/dist-*', '@smithy/*/dist-*', '@aws-crypto/*/dist-*', '@aws-crypto/*/build'],
          message: 'a deep import of an AWS SDK package\'s internals: import what the package exports',
        }],
      }],
    },
  },
  // The import rules (compare/ pure, the services stand-alone, the proxy's folders) are
  // dependency-cruiser's: .dependency-cruiser.cjs, run by `npm run lint`.
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } },
  },
);
