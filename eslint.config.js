// The one lint config: typescript-eslint's recommended rules on top of ESLint's, and the layer rule.
import js from '@eslint/js';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/**
 * The floors, lowest first, and what each may import besides itself and the floors below it is
 * nothing: an import that points up (or sideways between processors/ and connectors/) fails the
 * build. `test/` and `bench/` stand on everything, share `testkit/`, and never import each other.
 * `console/` is browser code apart from them all: it imports none of them, none imports it.
 */
const mayImport = {
  console: [],
  schemas: [],
  core: ['schemas'],
  infra: ['schemas', 'core'],
  models: ['schemas', 'core'],
  domain: ['schemas', 'core', 'models'],
  processors: ['schemas', 'core', 'models', 'domain'],
  connectors: ['schemas', 'core', 'models', 'domain'],
  api: ['schemas', 'core', 'models', 'domain', 'processors', 'connectors'],
  bin: ['schemas', 'core', 'infra', 'models', 'domain', 'processors', 'connectors', 'api'],
  testkit: ['schemas', 'core', 'infra', 'models', 'domain', 'processors', 'connectors', 'api', 'bin'],
  test: ['schemas', 'core', 'infra', 'models', 'domain', 'processors', 'connectors', 'api', 'bin', 'testkit'],
  bench: ['schemas', 'core', 'infra', 'models', 'domain', 'processors', 'connectors', 'api', 'bin', 'testkit'],
};
const floors = Object.keys(mayImport);
const zones = Object.entries(mayImport).flatMap(([target, allowed]) =>
  floors
    .filter((from) => from !== target && !allowed.includes(from))
    .map((from) => ({
      target: `./${target}`,
      from: `./${from}`,
      message: `${target}/ may import only ${[target, ...allowed].join(', ')}`,
    })),
);

export default tseslint.config(
  { ignores: ['node_modules/**', '.millrace/**', 'dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      'no-console': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js'] })] },
    rules: { 'import-x/no-restricted-paths': ['error', { basePath: import.meta.dirname, zones }] },
  },
);
