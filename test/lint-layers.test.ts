// The layer rules of eslint.config.js bite: each case lints a small module at a path with the
// repository's config and says whether a layer rule refuses it. Checked through ESLint's own
// API, so a typo in a rule's `files` or `ignores` globs (which would silently lint nothing)
// turns this red. Add a case for each layer rule: a forbidden use and an allowed one.
import { ESLint } from 'eslint';
import { expect, it } from 'vitest';
import { REPO_ROOT } from './support/index.js';

const eslint = new ESLint({ cwd: REPO_ROOT });

/** The rules that guard layers (those of other checks, e.g. max-lines, are not counted). */
const LAYER_RULES = new Set(['layers/package-only-in', 'no-restricted-syntax', '@typescript-eslint/no-restricted-imports']);

const QUERY = "export const q = (db: any) => db.selectFrom('runs').selectAll().execute();";

it.each<[string, string, string, boolean]>([
  // kysely and SQL only in store/.
  ['dispatch/ imports kysely', 'packages/coordinator/src/dispatch/x.ts', "import { sql } from 'kysely';", true],
  ['ops/ imports a kysely type', 'packages/coordinator/src/ops/x.ts', "import type { Kysely } from 'kysely';", true],
  ['the agent imports a kysely subpath', 'packages/agent/src/x.ts', "import { jsonArrayFrom } from 'kysely/helpers/postgres';", true],
  ['api/ re-exports from kysely', 'packages/coordinator/src/api/routes/x.ts', "export { sql } from 'kysely';", true],
  ['store/ imports kysely', 'packages/coordinator/src/store/x.ts', "import { sql } from 'kysely';", false],
  ['dispatch/ queries a Db passed in', 'packages/coordinator/src/dispatch/x.ts', QUERY, true],
  [
    'ops/ opens a transaction',
    'packages/coordinator/src/ops/x.ts',
    'export const t = (db: any) => db.transaction().execute(async () => 1);',
    true,
  ],
  ['api/ writes an sql tag', 'packages/coordinator/src/api/routes/x.ts', 'declare const sql: any;\nexport const s = sql`SELECT 1`;', true],
  ['schedule/ uses sql.raw', 'packages/coordinator/src/schedule/x.ts', "declare const sql: any;\nexport const s = sql.raw('now()');", true],
  ['store/ queries', 'packages/coordinator/src/store/x.ts', QUERY, false],
  [
    'a test beside dispatch/ arranges rows',
    'packages/coordinator/src/dispatch/x.int.test.ts',
    `import { sql } from 'kysely';\n${QUERY}`,
    false,
  ],
  ['an integration test under test/', 'test/x.test.ts', `import { sql } from 'kysely';\n${QUERY}`, false],
  // ioredis only in queue/.
  ['security/ imports ioredis types', 'packages/coordinator/src/security/x.ts', "import type { RedisOptions } from 'ioredis';", true],
  ['dispatch/ imports ioredis', 'packages/coordinator/src/dispatch/x.ts', "import { Redis } from 'ioredis';", true],
  ['queue/ imports ioredis', 'packages/coordinator/src/queue/x.ts', "import { Redis } from 'ioredis';", false],
  ['a module named like a package', 'packages/coordinator/src/ops/x.ts', "import { y } from './kysely-ish.js';", false],
  // moleculer only in the coordinator's transport/ and services/ (and the bus clients: agent, shared).
  ['dispatch/ imports moleculer types', 'packages/coordinator/src/dispatch/x.ts', "import type { ServiceBroker } from 'moleculer';", true],
  ['ops/ imports moleculer', 'packages/coordinator/src/ops/x.ts', "import { Errors } from 'moleculer';", true],
  ['security/ imports moleculer', 'packages/coordinator/src/security/x.ts', "import { Errors } from 'moleculer';", true],
  ['the coordinator root imports moleculer', 'packages/coordinator/src/x.ts', "import type { ServiceBroker } from 'moleculer';", true],
  ['transport/ imports moleculer', 'packages/coordinator/src/transport/x.ts', "import type { ServiceBroker } from 'moleculer';", false],
  ['services/ imports moleculer', 'packages/coordinator/src/services/x.ts', "import { Errors } from 'moleculer';", false],
  ['the agent imports moleculer', 'packages/agent/src/x.ts', "import { ServiceBroker } from 'moleculer';", false],
  // Nothing below the API imports it; the composition root does.
  ['ops/ imports an HTTP error', 'packages/coordinator/src/ops/x.ts', "import { HttpProblem } from '../api/problem.js';", true],
  ['store/ imports a type from api/', 'packages/coordinator/src/store/x.ts', "import type { Role } from '../api/access.js';", true],
  ['a nested folder reaches up into api/', 'packages/coordinator/src/dispatch/deep/x.ts', "import { x } from '../../api/x.js';", true],
  [
    'a test beside domain code imports api/',
    'packages/coordinator/src/schedule/x.test.ts',
    "import { buildApi } from '../api/server.js';",
    true,
  ],
  ['ops/ raises a DomainError', 'packages/coordinator/src/ops/x.ts', "import { DomainError } from '../domain-error.js';", false],
  ['the composition root wires the API', 'packages/coordinator/src/coordinator.ts', "import { buildApi } from './api/server.js';", false],
  [
    'the package index exports from api/',
    'packages/coordinator/src/index.ts',
    "export { openApiDocument } from './api/openapi.js';",
    false,
  ],
  ['api/ imports api/', 'packages/coordinator/src/api/routes/x.ts', "import { visibleRun } from '../require.js';", false],
  ['a module named like api/ elsewhere', 'packages/coordinator/src/ops/x.ts', "import { y } from './apis.js';", false],
])('%s (%s) is refused by a layer rule: %s', async (_case, filePath, source, refused) => {
  const [result] = await eslint.lintText(`${source}\n`, { filePath: `${REPO_ROOT}/${filePath}` });
  const layerMessages = (result?.messages ?? []).filter((m) => m.ruleId !== null && LAYER_RULES.has(m.ruleId));
  expect(layerMessages.length > 0, JSON.stringify(result?.messages)).toBe(refused);
});
