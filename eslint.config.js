// One lint configuration for the whole repo: typescript-eslint's type-aware recommended rules
// (floating promises, misused promises, unsafe any) on every TypeScript file, with Prettier owning layout.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'bench/results/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // `const { secret: _secret, ...rest } = row` is how we drop a field; `_` names a value kept unused on purpose.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { ignoreRestSiblings: true, argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
      // An async function without await is how a fake or a one-line implementation meets a Promise-returning
      // interface (findUser, a Koa handler, knex's migration source) and turns a throw into a rejection.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // supertest's `res.body` and parsed JSON are `any` by design: a test reads them to assert on them
    // (our own HTTP helpers' bodies and the OpenAPI documents the test helpers walk are the same).
    files: ['**/*.test.ts', '**/test/**/*.ts', '**/src/testing/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    // Node's globals that our plain JavaScript files use (the TypeScript files get them from @types/node).
    languageOptions: {
      globals: Object.fromEntries(
        ['process', 'console', 'URL', 'fetch', 'AbortSignal', 'performance', 'setTimeout', 'clearTimeout', 'Buffer'].map((name) => [
          name,
          'readonly',
        ]),
      ),
    },
  },
);
