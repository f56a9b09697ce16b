// `drover migrate up|down|status` against a real, empty database, and its refusal when the
// database cannot be reached.
import { afterAll, beforeAll, expect, it } from 'vitest';
import pg from 'pg';
import { randomId, spawnDrover, createTestEnv, type TestEnv } from './support/index.js';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_URL, REPO_ROOT, databaseUrl } from './support/database.js';

let env: TestEnv;
const name = `drover_m_${randomId()}`;
const admin = new pg.Client({ connectionString: ADMIN_URL });

beforeAll(async () => {
  env = await createTestEnv();
  await admin.connect();
});
afterAll(async () => {
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
  await env?.cleanup();
});

async function drover(args: string[], url: string): Promise<{ code: number | null; out: string }> {
  const proc = spawnDrover(env, args, { env: { DROVER_DATABASE_URL: url } });
  const status = await proc.exited;
  return { code: status.code, out: proc.lines.map((l) => l.text).join('\n') };
}

// Every migration in the repository, in order: the test follows the folder, not a list.
const MIGRATIONS = readdirSync(join(REPO_ROOT, 'migrations'))
  .filter((f) => f.endsWith('.sql'))
  .sort()
  .map((f) => f.replace(/\.sql$/, ''));

it('creates the database, then applies, lists and reverts every migration, each down part undoing its up part', async () => {
  const url = databaseUrl(name);
  const missing = await drover(['migrate', 'status'], url);
  expect(missing.code).toBe(1);
  expect(missing.out).toContain('has no such database: run "drover migrate up"');
  const up = await drover(['migrate', 'up'], url);
  expect(up.code).toBe(0);
  expect(up.out).toContain(`created database 127.0.0.1:5432/${name}`);
  expect(up.out).toContain(`applied ${MIGRATIONS.join(', ')}`);
  const status = (await drover(['migrate', 'status'], url)).out;
  for (const m of MIGRATIONS) expect(status).toMatch(new RegExp(`applied\\s+${m}`));
  expect(status).toContain('up to date');
  for (const [i, m] of [...MIGRATIONS].reverse().entries()) {
    expect((await drover(['migrate', 'down'], url)).out).toContain(`reverted ${m}`);
    if (i === 0) expect((await drover(['migrate', 'status'], url)).out).toMatch(new RegExp(`pending\\s+${m}[\\s\\S]*1 pending`));
  }
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const tables = await c.query(
    `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name NOT LIKE 'drover_migrations%'`,
  );
  await c.end();
  expect(tables.rows[0].n).toBe(0);
});

it('refuses clearly when the database is unreachable', async () => {
  const res = await drover(['migrate', 'up'], 'postgres://postgres@127.0.0.1:1/nowhere');
  expect(res.code).toBe(1);
  expect(res.out).toContain('cannot reach PostgreSQL at 127.0.0.1:1/nowhere');
  expect(res.out).toContain('DROVER_DATABASE_URL');
});

it('refuses a bad setting naming it', async () => {
  const res = await drover(['migrate', 'status'], 'mysql://x');
  expect(res.code).toBe(2);
  expect(res.out).toContain('DROVER_DATABASE_URL');
});
