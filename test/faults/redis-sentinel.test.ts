// Production topology: Redis with Sentinel. The coordinator finds the master through three
// Sentinels; the master is killed while runs wait in its queues and others execute. The
// Sentinels promote the replica, the coordinator reconnects to it, the reconciler puts back
// what the replica had not received, and each run executes exactly once. A graceful switch
// (`SENTINEL FAILOVER`, the old master demoted to a replica and answering READONLY) while runs
// are submitted and dispatched moves the queue and the lease the same way. Every Redis process
// is the test's own (free loopback ports); the shared Redis is untouched.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, expect, it } from 'vitest';
import {
  api,
  createTestEnv,
  markingExecutor,
  overlappingExecutions,
  readExecutions,
  runHelpers,
  SENTINEL_MASTER_NAME,
  sleep,
  startAgent,
  startCoordinator,
  startRedisSentinel,
  waitFor,
  type RedisSentinelSetup,
  type TestEnv,
} from '../support/index.js';

// Each test its own database and processes: two leaders on one database would not do.
let env: TestEnv;
beforeEach(async () => {
  env = await createTestEnv();
});
afterEach(async () => env?.cleanup());

/** A coordinator that finds the master through the Sentinels, once it holds the lease. */
async function coordinatorThrough(redis: RedisSentinelSetup) {
  const coord = await startCoordinator(env, [
    '--node-id',
    'coordinator-s',
    '--redis-sentinels',
    redis.sentinels,
    '--redis-sentinel-name',
    SENTINEL_MASTER_NAME,
    '--reconcile-interval',
    '1s',
  ]);
  await coord.proc.waitForLog('took the dispatcher lease');
  return coord;
}

it('moves the queue and the lease to the promoted replica, each run executed once', { timeout: 60_000 }, async () => {
  const redis = await startRedisSentinel(env);
  const marks = join(mkdtempSync(join(tmpdir(), 'drover-sentinel-')), 'marks');
  const coord = await coordinatorThrough(redis);
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

it('moves the queue and the lease with a graceful switch while runs flow, each run executed once', { timeout: 90_000 }, async () => {
  const redis = await startRedisSentinel(env);
  const marks = join(mkdtempSync(join(tmpdir(), 'drover-sentinel-')), 'marks');
  const coord = await coordinatorThrough(redis);
  const client = api(coord.url);
  const h = runHelpers(client);
  await startAgent(env, { slots: 4 });
  const job = await h.createJob({ name: 'through-a-switch', executor: markingExecutor(marks, 0.5) });
  const old = await redis.masterPort();

  // Runs submitted every 250 ms, before, during and after the switch; each is accepted or not.
  const ids: string[] = [];
  const refused: number[] = [];
  let flowing = true;
  const flow = (async () => {
    while (flowing) {
      const res = await client.post<{ id: string }>(`/v1/jobs/${job}/runs`, {});
      if (res.status === 201) ids.push(res.body.id);
      else refused.push(res.status);
      await sleep(250);
    }
  })();
  await waitFor(() => (readExecutions(marks).length >= 2 ? true : undefined), { description: 'the first runs to start' });
  const switchedAt = Date.now();
  await redis.failover();
  const promoted = await waitFor(async () => ((await redis.masterPort()) !== old ? redis.masterPort() : undefined), {
    timeoutMs: 20_000,
    description: 'the Sentinels to promote the replica',
  });
  const switchMs = Date.now() - switchedAt;
  // The old master is a replica now, and refuses writes: the coordinator must have left it.
  await waitFor(async () => ((await redis.role(old)) === 'slave' ? true : undefined), { description: 'the old master to be demoted' });
  await sleep(2000);
  flowing = false;
  await flow;

  const runs = await waitFor(
    async () => {
      // One at a time: the API caps the connections of one client.
      const all = [];
      for (const id of ids) all.push(await h.getRun(id));
      return all.every((r) => r.state === 'succeeded') ? all : undefined;
    },
    { timeoutMs: 40_000, intervalMs: 500, description: 'every run to succeed after the switch' },
  );
  const doneMs = Date.now() - switchedAt;
  for (const r of runs) expect(r.attempt).toBe(1);
  // The lease is held on the new master, by the same coordinator, which still leads.
  const master = new Redis({ host: '127.0.0.1', port: promoted, lazyConnect: true });
  await master.connect();
  const holder = await master.get(`${env.redisPrefix}leader`);
  master.disconnect();
  expect(holder).toBe('coordinator-s');
  expect((await client.get<{ leader: boolean }>('/readyz')).body.leader).toBe(true);
  const later = await h.trigger(job);
  expect((await h.waitForRun(later)).state).toBe('succeeded');

  const executions = readExecutions(marks);
  expect(executions.map((e) => `${e.runId} ${e.attempt} ${e.how}`).sort()).toEqual([...ids, later].map((id) => `${id} 1 finished`).sort());
  expect(overlappingExecutions(executions)).toEqual([]);
  const repaired = coord.proc.lines.filter((l) => l.json?.msg === 'the ready queue differed from PostgreSQL and was repaired').length;
  console.log(
    `redis sentinel: graceful switch ${old} → ${promoted} in ${switchMs} ms; runs ${ids.length + 1} (refused while switching: ${refused.length}${refused.length > 0 ? ` [${[...new Set(refused)].join(',')}]` : ''}), executions ${executions.length}, duplicates 0, queue repairs ${repaired}, all done ${doneMs} ms after the switch`,
  );
});
