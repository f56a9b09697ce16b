// Production topology: Redis with Sentinel. The coordinator finds the master through three
// Sentinels; the master is killed while runs wait in its queues and others execute. The
// Sentinels promote the replica, the coordinator reconnects to it, the reconciler puts back
// what the replica had not received, and each run executes exactly once. Every Redis process
// is the test's own (free loopback ports); the shared Redis is untouched.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  api,
  createTestEnv,
  markingExecutor,
  overlappingExecutions,
  readExecutions,
  runHelpers,
  SENTINEL_MASTER_NAME,
  startAgent,
  startCoordinator,
  startRedisSentinel,
  waitFor,
  type TestEnv,
} from './support/index.js';

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(async () => env?.cleanup());

it('moves the queue and the lease to the promoted replica, each run executed once', { timeout: 60_000 }, async () => {
  const redis = await startRedisSentinel(env);
  const marks = join(mkdtempSync(join(tmpdir(), 'drover-sentinel-')), 'marks');
  const coord = await startCoordinator(env, [
    '--redis-sentinels',
    redis.sentinels,
    '--redis-sentinel-name',
    SENTINEL_MASTER_NAME,
    '--reconcile-interval',
    '1s',
  ]);
  await coord.proc.waitForLog('took the dispatcher lease');
  const client = api(coord.url);
  const h = runHelpers(client);
  await startAgent(env, { slots: 3 });
  const job = await h.createJob({ name: 'through-a-failover', executor: markingExecutor(marks, 2) });
  // Three execute, six wait in the master's queue.
  const res = await client.post<{ runs: Array<{ id: string }> }>('/v1/runs/batch', { runs: [{ job, count: 9 }] });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  const ids = res.body.runs.map((r) => r.id);
  await waitFor(async () => (readExecutions(marks).length >= 3 ? true : undefined), { description: 'the first runs to start' });

  const old = await redis.masterPort();
  const killedAt = Date.now();
  await redis.kill(old);
  const promoted = await waitFor(async () => ((await redis.masterPort()) !== old ? redis.masterPort() : undefined), {
    timeoutMs: 20_000,
    description: 'the Sentinels to promote the replica',
  });
  const failoverMs = Date.now() - killedAt;

  const runs = await waitFor(
    async () => {
      const all = await Promise.all(ids.map((id) => h.getRun(id)));
      return all.every((r) => r.state === 'succeeded') ? all : undefined;
    },
    { timeoutMs: 40_000, description: 'every run to succeed after the failover' },
  );
  const recoveredMs = Date.now() - killedAt;
  for (const r of runs) expect(r.attempt).toBe(1);
  const later = await h.trigger(job);
  expect((await h.waitForRun(later)).state).toBe('succeeded');

  const executions = readExecutions(marks);
  expect(executions.map((e) => `${e.runId} ${e.attempt} ${e.how}`).sort()).toEqual([...ids, later].map((id) => `${id} 1 finished`).sort());
  expect(overlappingExecutions(executions)).toEqual([]);
  console.log(
    `redis sentinel: master ${old} killed, ${promoted} promoted after ${failoverMs} ms, all runs done after ${recoveredMs} ms; runs 10, executions ${executions.length}, duplicates 0`,
  );
});
