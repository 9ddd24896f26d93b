// Lint: typescript-eslint's type-aware recommended rules over src/ and test/.
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'bench-data/',
      'test-results/',
      'test/real-relay/target/',
      '**/*.mjs',
      '**/*.js',
      'vitest.config.ts',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Unused names are errors unless they start with `_` (deliberately ignored parameters).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  {
    // One job per file, functions that fit on a screen (issue 11): ~400 code lines a file, ~80 a
    // function. The exceptions are listed below with their reason (README, "How it works").
    files: ['src/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 400, skipBlankLines: true, skipComments: true }],
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    // Benchmarks and the synthetic log generator: long, straight-line scripts that print figures
    // (the generator writes eight log layouts line by line); the browser page's script, held as
    // one string.
    files: ['src/bench/**/*.ts', 'src/export/timeline-page.ts'],
    rules: { 'max-lines': 'off', 'max-lines-per-function': 'off' },
  },
  {
    // Tests walk documents parsed from YAML/JSON (compose files, Prometheus API answers, OTLP
    // payloads) whose shape is what the assertions check: reading their members is the point.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
