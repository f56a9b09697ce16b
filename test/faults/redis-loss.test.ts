// Redis is a cache of PostgreSQL. Its keys are flushed while runs wait, and stale entries of a
// deleted job are left in it, as many as the runs lost, so counting cannot notice: the leader's
// next sweep compares membership, puts every queued run back and evicts the stale entries, and
// each run executes exactly once. The test runs its own redis-server; the shared one is untouched.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ulid } from 'ulid';
import { openRedis, RedisReadyQueue } from '../../packages/coordinator/src/queue/ready-queue.js';
import {
  api,
  createTestEnv,
  runHelpers,
  startAgent,
  startCoordinator,
  startPrivateRedis,
  waitFor,
  type TestEnv,
} from '../support/index.js';

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(async () => env?.cleanup());

it('puts every queued run back after a FLUSHALL hidden by stale entries, each executed once', { timeout: 120_000 }, async () => {
  const redis = await startPrivateRedis(env);
  const marks = join(mkdtempSync(join(tmpdir(), 'drover-redis-loss-')), 'marks');
  const coord = await startCoordinator(env, ['--redis-url', redis.url, '--reconcile-interval', '1s']);
  const client = api(coord.url);
  // Flushed after the leader's first sweep, which always compares in full.
  await coord.proc.waitForLog('took the dispatcher lease');
  await new Promise((r) => setTimeout(r, 1500));
  const h = runHelpers(client);
  const job = await h.createJob({
    name: 'through-a-flush',
    executor: { type: 'exec', command: ['sh', '-c', `echo "$DROVER_RUN_ID $DROVER_ATTEMPT" >> ${marks}; sleep 0.2`] },
  });
  // No agent yet: the runs wait in the queue.
  const res = await client.post<{ runs: Array<{ id: string }> }>('/v1/runs/batch', { runs: [{ job, count: 20 }] });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  const ids = res.body.runs.map((r) => r.id);

  await redis.flushAll();
  const conn = await openRedis(redis.url);
  const queue = new RedisReadyQueue(conn, env.redisPrefix);
  await queue.enqueue(ids.map(() => ({ runId: ulid(), jobId: 'deleted-job', priority: 50 })));
  await startAgent(env, { slots: 4 });

  const ended = await waitFor(
    async () => {
      const runs = await Promise.all(ids.map((id) => h.getRun(id)));
      return runs.every((r) => r.state === 'succeeded') ? runs : undefined;
    },
    { timeoutMs: 60_000, description: 'every run to succeed after the flush' },
  );
  const after = await h.trigger(job);
  expect((await h.waitForRun(after)).state).toBe('succeeded');
  await waitFor(async () => ((await queue.depth()) === 0 ? true : undefined), { description: 'the stale entries to be evicted' });
  conn.disconnect();

  const executions = readFileSync(marks, 'utf8').trim().split('\n').sort();
  expect(executions).toEqual([...ids, after].map((id) => `${id} 1`).sort());
  for (const r of ended) expect(r.attempt).toBe(1);
  console.log(`redis flush: runs 21, executions ${executions.length}, stale entries evicted ${ids.length}`);
});
