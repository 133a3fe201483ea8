import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.data/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      // Decorator metadata turns parameter types into runtime values (type-graphql reads them).
      parserOptions: { emitDecoratorMetadata: true, experimentalDecorators: true },
      globals: { process: 'readonly', require: 'readonly', __dirname: 'readonly', module: 'writable' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration through loadConfig() in src/core/config.' },
      ],
    },
  },
  {
    files: ['test/**', 'bench/**', 'jest.config.js'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', 'no-restricted-properties': 'off' },
  },
  {
    files: ['src/core/config/config.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    // Plain CommonJS: jest's config and the `portcullis` launcher, which runs before any build.
    files: ['jest.config.js', 'bin/**'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
