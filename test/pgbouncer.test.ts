// Production topology: PostgreSQL through PgBouncer in transaction mode. One-off runs and an
// every-second schedule go through a private PgBouncer with fewer server
// connections than the coordinator's pools, so no session state can be relied on; only the
// log listener gets a direct connection (`--database-listen-url`). Each run executes once and
// each fire makes exactly one run.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ADMIN_URL, databaseUrl } from './support/database.js';
import {
  api,
  createTestEnv,
  randomId,
  spawnDrover,
  markingExecutor,
  overlappingExecutions,
  PGBOUNCER,
  pgbouncerInstalled,
  readExecutions,
  runHelpers,
  startAgent,
  startCoordinator,
  startPgBouncer,
  waitFor,
  isTerminalState,
  type TestEnv,
} from './support/index.js';

const installed = pgbouncerInstalled();
if (!installed) console.warn(`pgbouncer.test.ts skipped: ${PGBOUNCER} is not installed (Debian package pgbouncer; .ci/run installs it)`);

let env: TestEnv;
beforeAll(async () => {
  if (installed) env = await createTestEnv();
});
const fresh = `drover_pgb_${randomId()}`;
afterAll(async () => {
  if (installed) {
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${fresh} WITH (FORCE)`);
    await admin.end();
  }
  await env?.cleanup();
});

it.skipIf(!installed)(
  'runs jobs and schedules through PgBouncer in transaction mode, each executed once',
  { timeout: 60_000 },
  async () => {
    const bouncer = await startPgBouncer(env, env.databaseUrl);

    const dir = mkdtempSync(join(tmpdir(), 'drover-pgbouncer-'));
    const coord = await startCoordinator(env, ['--database-url', bouncer.url, '--database-listen-url', env.databaseUrl]);
    const client = api(coord.url);
    const h = runHelpers(client);
    await startAgent(env, { slots: 4 });

    const job = await h.createJob({ name: 'through-pgbouncer', executor: markingExecutor(join(dir, 'marks'), 0.3) });
    const res = await client.post<{ runs: Array<{ id: string }> }>('/v1/runs/batch', { runs: [{ job, count: 12 }] });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const ids = res.body.runs.map((r) => r.id);
    const cron = (
      await client.post<{ id: string }>('/v1/jobs', {
        name: 'every-second-through-pgbouncer',
        executor: markingExecutor(join(dir, 'cron-marks'), 0),
        schedule: { every: '1s' },
      })
    ).body.id;

    const runs = await waitFor(
      async () => {
        const all = await Promise.all(ids.map((id) => h.getRun(id)));
        return all.every((r) => r.state === 'succeeded') ? all : undefined;
      },
      { timeoutMs: 30_000, description: 'the runs to succeed' },
    );
    for (const r of runs) expect(r.attempt).toBe(1);
    await waitFor(async () => (readExecutions(join(dir, 'cron-marks')).length >= 6 ? true : undefined), {
      timeoutMs: 20_000,
      description: 'six fires of the schedule',
    });
    expect((await client.post(`/v1/jobs/${cron}/pause`)).status).toBeLessThan(300);

    // Read directly from PostgreSQL: one run per fire, every fire of the span, each run ended.
    const db = new pg.Client({ connectionString: env.databaseUrl });
    await db.connect();
    const fired = await waitFor(
      async () => {
        const rows = (
          await db.query<{ id: string; fire: string; state: string }>(
            `SELECT id, extract(epoch FROM fire_at)::bigint::text AS fire, state FROM runs WHERE job_id = $1 ORDER BY fire_at`,
            [cron],
          )
        ).rows;
        return rows.every((r) => isTerminalState(r.state)) ? rows : undefined;
      },
      { description: 'every fire to end' },
    );
    await db.end();
    const fires = fired.map((r) => Number(r.fire));
    expect(new Set(fires).size).toBe(fires.length);
    expect(fires[fires.length - 1]! - fires[0]! + 1).toBe(fires.length);
    expect(fired.every((r) => r.state === 'succeeded')).toBe(true);

    const executions = readExecutions(join(dir, 'marks'));
    expect(executions.map((e) => `${e.runId} ${e.attempt} ${e.how}`).sort()).toEqual(ids.map((id) => `${id} 1 finished`).sort());
    expect(overlappingExecutions(executions)).toEqual([]);
    const cronExecutions = readExecutions(join(dir, 'cron-marks'));
    expect(cronExecutions.map((e) => `${e.runId} ${e.attempt} ${e.how}`).sort()).toEqual(fired.map((r) => `${r.id} 1 finished`).sort());
    console.log(
      `pgbouncer transaction mode: runs ${ids.length}, executions ${executions.length}; fires ${fires.length}, cron executions ${cronExecutions.length}, duplicates 0`,
    );
  },
);

it.skipIf(!installed)(
  'migrates a new database through PgBouncer, two migrators at once, leaving no lock',
  { timeout: 60_000 },
  async () => {
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${fresh}`);
    const bouncer = await startPgBouncer(env, databaseUrl(fresh));
    const migrators = [1, 2].map((i) => spawnDrover(env, ['migrate', 'up', '--database-url', bouncer.url], { name: `migrate-${i}` }));
    for (const m of migrators) expect((await m.exited).code, m.tail()).toBe(0);
    const again = spawnDrover(env, ['migrate', 'up', '--database-url', bouncer.url], { name: 'migrate-again' });
    expect((await again.exited).code, again.tail()).toBe(0);
    expect(again.lines.map((l) => l.text).join('\n')).toContain('up to date');
    // No advisory lock is left on a pooled server connection for the next migrator to wait on.
    const locks = await admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND d.datname = $1`,
      [fresh],
    );
    const applied = new pg.Client({ connectionString: databaseUrl(fresh) });
    await applied.connect();
    const rows = (await applied.query<{ name: string }>('SELECT name FROM drover_migrations')).rows;
    await applied.end();
    await admin.end();
    expect(locks.rows[0]?.n).toBe(0);
    expect(new Set(rows.map((r) => r.name)).size).toBe(rows.length);
    console.log(`pgbouncer migrations: 2 migrators at once, ${rows.length} migrations applied once each, advisory locks left 0`);
  },
);
