// `drover migrate up|down|status` against a real, empty database, and its refusal when the
// database cannot be reached.
import { afterAll, beforeAll, expect, it } from 'vitest';
import pg from 'pg';
import { randomId, spawnDrover, createTestEnv, type TestEnv } from './support/index.js';
import { ADMIN_URL, databaseUrl } from './support/database.js';

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

it('creates the database, then applies, lists and reverts migrations', async () => {
  const url = databaseUrl(name);
  const missing = await drover(['migrate', 'status'], url);
  expect(missing.code).toBe(1);
  expect(missing.out).toContain('has no such database: run "drover migrate up"');
  const up = await drover(['migrate', 'up'], url);
  expect(up.code).toBe(0);
  expect(up.out).toContain(`created database 127.0.0.1:5432/${name}`);
  expect(up.out).toContain('applied 0001_init, 0002_schedules, 0003_fleet, 0004_agent_operator_state, 0005_agent_heartbeat_interval');
  expect((await drover(['migrate', 'status'], url)).out).toMatch(
    /applied\s+0001_init[\s\S]*applied\s+0002_schedules[\s\S]*applied\s+0003_fleet[\s\S]*applied\s+0004_agent_operator_state[\s\S]*applied\s+0005_agent_heartbeat_interval[\s\S]*up to date/,
  );
  expect((await drover(['migrate', 'down'], url)).out).toContain('reverted 0005_agent_heartbeat_interval');
  expect((await drover(['migrate', 'down'], url)).out).toContain('reverted 0004_agent_operator_state');
  expect((await drover(['migrate', 'down'], url)).out).toContain('reverted 0003_fleet');
  const down = await drover(['migrate', 'down'], url);
  expect(down.out).toContain('reverted 0002_schedules');
  expect((await drover(['migrate', 'status'], url)).out).toMatch(
    /applied\s+0001_init[\s\S]*pending\s+0002_schedules[\s\S]*pending\s+0003_fleet[\s\S]*pending\s+0004_agent_operator_state[\s\S]*pending\s+0005_agent_heartbeat_interval[\s\S]*4 pending/,
  );
  expect((await drover(['migrate', 'down'], url)).out).toContain('reverted 0001_init');
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const tables = await c.query(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'runs'`);
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
