// PostgreSQL away for 30 s (this test's own database locked out: ALLOW_CONNECTIONS false and its
// backends terminated; the shared server keeps serving everyone else). Mutating calls answer at
// once with a 503 problem that names PostgreSQL and says to retry with an Idempotency-Key; the
// same idempotent trigger after recovery makes one run, executed once; runs that were running
// through the outage end once, at attempt 1.
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  api,
  createTestEnv,
  databaseLockout,
  makeStateDir,
  markingExecutor,
  overlappingExecutions,
  readExecutions,
  runHelpers,
  sleep,
  startAgent,
  startCoordinator,
  waitFor,
  type DatabaseLockout,
  type TestEnv,
} from '../support/index.js';

let env: TestEnv;
let lockout: DatabaseLockout;

beforeAll(async () => {
  env = await createTestEnv();
  lockout = await databaseLockout(env.databaseUrl);
});
afterAll(async () => {
  await lockout?.close();
  await env?.cleanup();
});

interface Problem {
  status: number;
  title: string;
  code?: string;
  detail: string;
}

it('answers 503 during a PostgreSQL outage; an idempotent retry after it makes one run', { timeout: 150_000 }, async () => {
  const coordinator = await startCoordinator(env);
  const client = api(coordinator.url);
  const h = runHelpers(client);
  const agent = await startAgent(env, { slots: 4 });
  const marks = join(makeStateDir(env, 'marks'), 'marks');
  const short = await h.createJob({ name: 'ends-in-the-outage', executor: markingExecutor(marks, 8) });
  const long = await h.createJob({ name: 'ends-after-the-outage', executor: markingExecutor(marks, 40) });
  const quick = await h.createJob({ name: 'triggered-in-the-outage', executor: markingExecutor(marks, 1) });
  const running = [await h.trigger(short), await h.trigger(long)];
  await waitFor(() => readExecutions(marks).length === 2 || undefined, { description: 'both runs to start' });

  await lockout.lock();
  const outageAt = Date.now();
  await sleep(1000);

  let startedAt = Date.now();
  const created = await client.post<Problem>('/v1/jobs', { name: 'made-in-the-outage', executor: { type: 'noop' } });
  const createMs = Date.now() - startedAt;
  const idempotent = { headers: { 'idempotency-key': 'retry-me' } };
  startedAt = Date.now();
  const triggered = await client.post<Problem>(`/v1/jobs/${quick}/runs`, {}, idempotent);
  const triggerMs = Date.now() - startedAt;
  console.log(
    `PostgreSQL locked out → POST /v1/jobs answered ${created.status} in ${createMs} ms, POST /v1/jobs/{id}/runs ${triggered.status} in ${triggerMs} ms`,
  );
  for (const res of [created, triggered]) {
    expect(res.status, JSON.stringify(res.body)).toBe(503);
    expect(res.body.code).toBe('STORE_UNAVAILABLE');
    expect(res.body.detail).toMatch(/PostgreSQL/);
    expect(res.body.detail).toMatch(/Idempotency-Key/);
    expect(res.headers.get('retry-after')).not.toBeNull();
  }

  await sleep(30_000 - (Date.now() - outageAt));
  await lockout.unlock();
  const recoveredAt = Date.now();

  const retried = await waitFor(
    async () => {
      const res = await client.post<{ id: string }>(`/v1/jobs/${quick}/runs`, {}, idempotent);
      return res.status === 201 || res.status === 200 ? res : undefined;
    },
    { description: 'the idempotent trigger to be accepted after recovery', timeoutMs: 30_000 },
  );
  console.log(`PostgreSQL back → idempotent trigger accepted after ${Date.now() - recoveredAt} ms`);
  const again = await client.post<{ id: string }>(`/v1/jobs/${quick}/runs`, {}, idempotent);
  expect(again.status).toBe(200);
  expect(again.body.id).toBe(retried.body.id);

  const runs = [...running, retried.body.id];
  for (const id of runs) expect((await h.waitForRun(id, undefined, 60_000)).state).toBe('succeeded');
  for (const id of runs) expect((await h.getRun(id)).attempt).toBe(1);
  const quickRuns = (await client.get<{ items: unknown[] }>(`/v1/runs?job=${quick}`)).body.items;
  expect(quickRuns).toHaveLength(1);
  const executions = readExecutions(marks);
  expect(executions.map((e) => [e.runId, e.attempt, e.how]).sort()).toEqual(runs.map((id) => [id, 1, 'finished']).sort());
  expect(overlappingExecutions(executions)).toEqual([]);
  await agent.stop();
});
