// Flat config: @eslint/js + typescript-eslint `recommended` (not the type-checked set, to stay fast).
import path from 'node:path';
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

// The globals of the Node.js running ESLint, for plain .js files (scripts, benchmarks, bins).
const nodeGlobals = Object.fromEntries(Object.getOwnPropertyNames(globalThis).map((name) => [name, 'readonly']));

// ---- Layers (issue 16; owner: layers) ------------------------------------------------------
// Which package each layer alone may import. Add a row for another package; the rule below
// reads them all, so rows never override each other (two blocks setting one rule's options for
// the same file would: a flat config replaces a rule's options, it does not merge them).
const PACKAGE_LAYERS = [
  {
    package: 'kysely',
    onlyIn: ['packages/coordinator/src/store/**'],
    why: 'SQL lives in store/: call, or add, a store function named for what it reads or writes',
  },
  {
    package: 'ioredis',
    onlyIn: ['packages/coordinator/src/queue/**'],
    why: 'Redis lives behind queue/ (ReadyQueue, LeaderLease): use, or add to, those interfaces',
  },
  // ---- Transport (issue 16; owner: transport) ----
  // Moleculer only in the coordinator's transport/ (AgentChannel, Signals: the outbound side)
  // and services/ (the inbound side); the agent and shared (createBroker, BusLink) are bus
  // clients throughout and keep it. Everything else talks through ctx.agents/ctx.signals.
  {
    package: 'moleculer',
    onlyIn: [
      'packages/coordinator/src/transport/**',
      'packages/coordinator/src/services/**',
      'packages/agent/src/**',
      'packages/shared/src/**',
    ],
    why: 'the coordinator reaches the bus through transport/ (AgentChannel, Signals) and is reached through services/: use, or add to, those',
  },
];

/** The sources the layer rules cover. Outside them: test/, bench/, scripts/ (harnesses and tools that reach any layer). */
const LAYERED_SOURCES = ['packages/*/src/**/*.{ts,tsx,js,mjs}'];
/** Tests beside the code arrange database and Redis state directly, so they may import and query anything. */
const LAYER_EXEMPT = ['packages/*/src/**/*.test.ts'];

/** A glob of eslint.config.js's kind (`*`, `**`) as a RegExp on repository-relative paths. */
const globToRegExp = (glob) =>
  new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*\*\/?|\*/g, (m) => (m === '*' ? '[^/]*' : '.*'))}$`);

const layers = {
  rules: {
    'package-only-in': {
      meta: { type: 'problem', docs: { description: 'A package may be imported only by its layer (PACKAGE_LAYERS).' }, schema: [] },
      create(context) {
        const file = path
          .relative(import.meta.dirname, context.filename)
          .split(path.sep)
          .join('/');
        const check = (node, source) => {
          if (typeof source !== 'string') return;
          for (const layer of PACKAGE_LAYERS) {
            if (source !== layer.package && !source.startsWith(`${layer.package}/`)) continue;
            if (layer.onlyIn.some((glob) => globToRegExp(glob).test(file))) continue;
            context.report({ node, message: `'${layer.package}' may be imported only in ${layer.onlyIn.join(', ')}: ${layer.why}.` });
          }
        };
        return {
          ImportDeclaration: (node) => check(node, node.source.value),
          ExportAllDeclaration: (node) => check(node, node.source.value),
          ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
          ImportExpression: (node) => check(node, node.source.value),
          'CallExpression[callee.name="require"]': (node) => check(node, node.arguments[0]?.value),
        };
      },
    },
  },
};

/** Kysely at work outside store/: its query builders, transactions and `sql` tags (also on a Db passed in). */
const SQL_OUTSIDE_STORE = [
  {
    selector:
      'CallExpression[callee.type="MemberExpression"][callee.property.name=/^(selectFrom|insertInto|updateTable|deleteFrom|replaceInto|mergeInto|transaction)$/]',
    message: 'SQL lives in store/: move this query into a store function named for what it reads or writes.',
  },
  { selector: 'TaggedTemplateExpression[tag.name="sql"]', message: 'SQL lives in store/: move this statement into a store function.' },
  { selector: 'MemberExpression[object.name="sql"]', message: 'SQL lives in store/: move this statement into a store function.' },
];

export default defineConfig(
  // The dashboard's bundle is built output, like dist/.
  { ignores: ['**/dist/**', '**/node_modules/**', '.ci/node/**', 'coverage/**', 'packages/dashboard/public/app.js*'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: nodeGlobals,
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  // File size (issue 16): no source file over 400 lines, so each can be read in one sitting;
  // split by responsibility, never by squeezing. Blank and comment lines count, as they do for
  // `wc -l`: they are read too, and the rule and the shell check then agree. Generated code
  // (the client's OpenAPI types) is exempt.
  {
    files: ['packages/*/src/**/*.{ts,tsx,js,mjs}'],
    ignores: ['packages/client/src/schema.ts'],
    rules: {
      'max-lines': ['error', { max: 400, skipBlankLines: false, skipComments: false }],
    },
  },
  // ---- Layers: packages (issue 16; owner: layers) -------------------------------------------
  // Which package may be imported where, one row per package in PACKAGE_LAYERS (above): kysely
  // only in the coordinator's store/, ioredis only in its queue/. A local rule rather than core
  // no-restricted-imports: a flat config replaces, never merges, a rule's options where two
  // blocks match one file, so one block per package would silently drop the others. Tests may
  // import anything (they arrange database and Redis state directly); bench/, scripts/ and test/
  // lie outside packages/*/src and are not covered. test/lint-layers.test.ts proves it bites.
  {
    files: LAYERED_SOURCES,
    ignores: LAYER_EXEMPT,
    plugins: { layers },
    rules: { 'layers/package-only-in': 'error' },
  },
  // ---- Layers: SQL (issue 16; owner: layers) -------------------------------------------------
  // Kysely's query builders, transactions and `sql` tags only in store/ (beside the import rule
  // above, as a Db passed in could still be queried anywhere). store/migrator.ts runs the
  // migrations from store/, so it needs no exception.
  {
    files: LAYERED_SOURCES,
    ignores: [...LAYER_EXEMPT, 'packages/coordinator/src/store/**'],
    rules: { 'no-restricted-syntax': ['error', ...SQL_OUTSIDE_STORE] },
  },
  // ---- Layers: nothing imports api/ from below (issue 16; owner: operations) ----------------
  // Domain code (ops/, store/, dispatch/, schedule/, actions/…) raises DomainError
  // (domain-error.ts) and each transport maps it; only the composition root (coordinator.ts,
  // index.ts) wires the API in. Tests beside domain code have no reason to reach the API either.
  // The one block setting typescript-eslint's no-restricted-imports (a second block setting it
  // for the same files would replace these options). test/lint-layers.test.ts proves it bites.
  {
    files: ['packages/coordinator/src/**/*.ts'],
    ignores: ['packages/coordinator/src/api/**', 'packages/coordinator/src/coordinator.ts', 'packages/coordinator/src/index.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^\\.{1,2}/(\\.\\./)*api/',
              message:
                'Only the composition root (coordinator.ts, index.ts) imports api/: raise a DomainError (domain-error.ts) instead of an HTTP error, and move what both need below api/.',
            },
          ],
        },
      ],
    },
  },
);
