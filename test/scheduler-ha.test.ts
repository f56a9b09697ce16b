// Two coordinator processes on the same PostgreSQL and Redis schedule an every-second job for
// about 30 s; halfway through, the one holding the scheduler lease is killed. Every fire in
// that span has exactly one run: none twice, none missing.
import { afterAll, beforeAll, expect, it } from 'vitest';
import pg from 'pg';
import { api, createTestEnv, leaderOf, sleep, startCoordinator, type TestEnv } from './support/index.js';

let env: TestEnv;
let db: pg.Client;

beforeAll(async () => {
  env = await createTestEnv();
  db = new pg.Client({ connectionString: env.databaseUrl });
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  await env?.cleanup();
});

it('makes exactly one run per fire across a leader crash', { timeout: 90_000 }, async () => {
  const a = await startCoordinator(env, ['--node-id', 'coordinator-a']);
  const b = await startCoordinator(env, ['--node-id', 'coordinator-b']);
  const job = (
    await api(a.url).post<{ id: string }>('/v1/jobs', { name: 'every-second', executor: { type: 'noop' }, schedule: { every: '1s' } })
  ).body;
  await sleep(15_000);
  const leader = await leaderOf([a, b]);
  const survivor = leader === a ? b : a;
  await leader.proc.kill();
  await sleep(15_000);
  expect((await api(survivor.url).get<{ leader: boolean }>('/readyz')).body.leader).toBe(true);
  await api(survivor.url).post(`/v1/jobs/${job.id}/pause`);

  const rows = (
    await db.query<{ fire: string; n: number }>(
      `SELECT extract(epoch FROM fire_at)::bigint::text AS fire, count(*)::int AS n FROM runs WHERE job_id = $1 GROUP BY fire_at ORDER BY fire_at`,
      [job.id],
    )
  ).rows;
  const fires = rows.map((r) => Number(r.fire));
  expect(rows.every((r) => r.n === 1)).toBe(true);
  expect(fires.length).toBeGreaterThanOrEqual(25);
  // Contiguous: one run for every second from the first fire to the last.
  expect(fires[fires.length - 1]! - fires[0]! + 1).toBe(fires.length);
});
