// Redis is away for 15 s while an every-second job fires. PostgreSQL is the truth: the
// coordinator keeps turning fires into runs on time (the queue cannot take them), and once
// Redis is back, empty, the reconciler queues them and each executes exactly once. No fire is
// skipped, lost or doubled. The test runs its own redis-server; the shared one is untouched.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import pg from 'pg';
import {
  api,
  createTestEnv,
  readMarks,
  sleep,
  startAgent,
  startCoordinator,
  startPrivateRedis,
  waitFor,
  type TestEnv,
} from '../support/index.js';

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

it('keeps every fire through a 15 s Redis outage and runs each once afterwards', { timeout: 150_000 }, async () => {
  const redis = await startPrivateRedis(env);
  const marks = join(mkdtempSync(join(tmpdir(), 'drover-redis-outage-')), 'marks');
  const coord = await startCoordinator(env, ['--redis-url', redis.url, '--reconcile-interval', '1s']);
  const client = api(coord.url);
  await startAgent(env, { slots: 4 });
  const created = await client.post<{ id: string }>('/v1/jobs', {
    name: 'every-second-through-an-outage',
    executor: { type: 'exec', command: ['sh', '-c', `echo "$DROVER_RUN_ID $DROVER_ATTEMPT" >> ${marks}`] },
    schedule: { every: '1s', overlap: 'allow' },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const job = created.body.id;
  await sleep(5_000);

  await redis.kill();
  const downAt = Date.now();
  await sleep(15_000);
  await redis.start();
  await sleep(10_000);
  expect((await client.post(`/v1/jobs/${job}/pause`)).status).toBeLessThan(300);

  const runs = await waitFor(
    async () => {
      const rows = (
        await db.query<{ id: string; state: string; fire: string; attempt: number }>(
          `SELECT id, state, extract(epoch FROM fire_at)::bigint::text AS fire, attempt FROM runs WHERE job_id = $1 ORDER BY fire_at`,
          [job],
        )
      ).rows;
      return rows.every((r) => ['succeeded', 'failed', 'skipped', 'cancelled', 'lost', 'timed_out'].includes(r.state)) ? rows : undefined;
    },
    { timeoutMs: 60_000, description: 'every run of the job to end' },
  );
  const fires = runs.map((r) => Number(r.fire));
  const executions = readMarks(marks);
  const skipped = runs.filter((r) => r.state !== 'succeeded');
  console.log(
    `redis outage 15 s: fires ${fires.length}, executions ${executions.length}, not succeeded ${skipped.length}, ` +
      `fires during the outage ${fires.filter((f) => f * 1000 >= downAt && f * 1000 < downAt + 15_000).length}`,
  );
  expect(skipped).toEqual([]);
  expect(new Set(fires).size).toBe(fires.length);
  // Contiguous: one run for every second from the first fire to the last, outage included.
  expect(fires[fires.length - 1]! - fires[0]! + 1).toBe(fires.length);
  expect(fires.filter((f) => f * 1000 >= downAt && f * 1000 < downAt + 15_000).length).toBeGreaterThanOrEqual(14);
  // Executed once each: one mark per run, attempt 1.
  expect(executions.sort()).toEqual(runs.map((r) => `${r.id} 1`).sort());
});
