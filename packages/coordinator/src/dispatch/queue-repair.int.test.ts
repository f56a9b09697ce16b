// The queue repair against real PostgreSQL and Redis: stale entries that make the counts agree
// do not hide lost runs, runs still settling are left alone, and a backlog of 100,000 queued
// runs is rebuilt after its keys are gone in one sweep (the figures are printed).
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { monotonicFactory } from 'ulid';
import { validateJobDefinition } from '@drover/shared';
import { createTestEnv, deleteRedisKeys, randomId, type TestEnv } from '../../../../test/support/index.js';
import { openDatabase, type Db } from '../store/db.js';
import { insertJob } from '../store/jobs.js';
import { insertRuns, type NewRun } from '../store/insert-runs.js';
import { openRedis, RedisReadyQueue } from '../queue/ready-queue.js';
import { FULL_COMPARE_EVERY_MS, repairQueue, repairQueueIfDue } from './queue-repair.js';

const ulid = monotonicFactory();
let env: TestEnv;
let db: Db;
let redis: Redis;

beforeAll(async () => {
  env = await createTestEnv();
  db = await openDatabase(env.databaseUrl, { poolSize: 4 });
  redis = await openRedis(env.redisUrl);
});
afterAll(async () => {
  redis?.disconnect();
  await db?.destroy();
  await env?.cleanup();
});

async function newJob(): Promise<string> {
  return (await insertJob(db, ulid(), validateJobDefinition({ name: `repair-${randomId()}`, executor: { type: 'noop' } }))).id;
}

/** Queued runs created (and queued) `agoMs` ago. */
async function queuedRuns(jobId: string, n: number, agoMs: number): Promise<string[]> {
  const at = Date.now() - agoMs;
  const ids: string[] = [];
  for (let done = 0; done < n; done += 10_000) {
    const rows: NewRun[] = Array.from({ length: Math.min(10_000, n - done) }, () => ({
      id: ulid(at),
      jobId,
      state: 'queued',
      priority: 50,
      trigger: 'manual',
      parameters: {},
      createdAt: at,
    }));
    ids.push(...(await insertRuns(db, rows)).map((r) => r.id));
  }
  return ids;
}

it('evicts stale entries and restores the lost runs they hid, leaving settling runs alone', async () => {
  const queue = new RedisReadyQueue(redis, `${env.redisPrefix}${randomId()}:`);
  const job = await newJob();
  const [kept, lostA, lostB] = await queuedRuns(job, 3, 60_000);
  const [settling] = await queuedRuns(job, 1, 0);
  const [finished] = await queuedRuns(job, 1, 60_000);
  await db
    .updateTable('runs')
    .set({ state: 'succeeded' })
    .where('id', '=', finished as string)
    .execute();
  // Redis holds as many runs as PostgreSQL has settled queued ones, but the wrong ones: a run
  // long finished, and a run of a job since deleted.
  const ghost = ulid(Date.now() - 60_000);
  await queue.enqueue([
    { runId: kept as string, jobId: job, priority: 50 },
    { runId: finished as string, jobId: job, priority: 50 },
    { runId: ghost, jobId: 'deleted-job', priority: 50 },
  ]);
  expect(await queue.depth()).toBe(3);

  expect(await repairQueue(db, queue)).toEqual({ restored: 2, evicted: 2, compared: 4 });
  expect(new Set((await queue.runsOf([job], 0, 100))[0])).toEqual(new Set([kept, lostA, lostB]));
  expect((await queue.readyJobs()).jobs.map((j) => j.jobId)).toEqual([job]);
  expect(settling).toBeDefined();
  // A second sweep finds nothing to do; the settling run is restored once it has settled.
  expect(await repairQueue(db, queue)).toEqual({ restored: 0, evicted: 0, compared: 4 });

  // The reconciler's step compares on its first sweep; then when a job's counts prove the
  // queue wrong; and at least once a minute, for a lost run hidden by a stale entry of its job.
  const now = Date.now();
  expect(await repairQueueIfDue(db, queue, now)).toEqual({ restored: 0, evicted: 0, compared: 4 });
  expect(await queue.evict(job, [lostA as string])).toEqual([lostA]);
  await queue.enqueue([{ runId: finished as string, jobId: job, priority: 50 }]);
  expect(await repairQueueIfDue(db, queue, now + 1000)).toBeUndefined();
  expect(await repairQueueIfDue(db, queue, now + FULL_COMPARE_EVERY_MS)).toEqual({ restored: 1, evicted: 1, compared: 4 });
  await queue.enqueue([{ runId: ulid(Date.now() - 60_000), jobId: 'deleted-job', priority: 50 }]);
  // Only the jobs whose counts disagree are compared: here a job PostgreSQL has no queued run of.
  expect(await repairQueueIfDue(db, queue, now + FULL_COMPARE_EVERY_MS + 1000)).toEqual({ restored: 0, evicted: 1, compared: 0 });
  expect(await queue.evict(job, [lostB as string])).toEqual([lostB]);
  expect(await repairQueueIfDue(db, queue, now + FULL_COMPARE_EVERY_MS + 2000)).toEqual({ restored: 1, evicted: 0, compared: 4 });
});

it('puts back a run queued anew between its page and the eviction (the race with a re-queue)', async () => {
  const job = await newJob();
  const [offered] = await queuedRuns(job, 1, 60_000);
  await db
    .updateTable('runs')
    .set({ state: 'offered' })
    .where('id', '=', offered as string)
    .execute();
  // Redis still holds the run (a removal that failed). Just before the eviction, the offer is
  // refused: the run is queued again and enqueued, a no-op for an entry already there.
  class RequeuedMeanwhile extends RedisReadyQueue {
    override async evict(jobId: string, runIds: readonly string[]): Promise<string[]> {
      await db
        .updateTable('runs')
        .set({ state: 'queued', queued_at: new Date() })
        .where('id', 'in', [...runIds])
        .execute();
      await this.enqueue(runIds.map((runId) => ({ runId, jobId, priority: 50 })));
      return super.evict(jobId, runIds);
    }
  }
  const queue = new RequeuedMeanwhile(redis, `${env.redisPrefix}${randomId()}:`);
  await queue.enqueue([{ runId: offered as string, jobId: job, priority: 50 }]);
  expect(await repairQueue(db, queue, new Set([job]))).toEqual({ restored: 0, evicted: 0, compared: 0 });
  expect(await queue.runsOf([job], 0, 10)).toEqual([[offered]]);
});

it('rebuilds a backlog of 100,000 queued runs in one sweep after its keys are lost', { timeout: 300_000 }, async () => {
  const prefix = `${env.redisPrefix}${randomId()}:`;
  const queue = new RedisReadyQueue(redis, prefix);
  await db.updateTable('runs').set({ state: 'cancelled' }).where('state', '=', 'queued').execute(); // the previous test's
  const jobs = [await newJob(), await newJob(), await newJob(), await newJob()];
  let t = Date.now();
  const ids = (await Promise.all(jobs.map((j) => queuedRuns(j, 25_000, 60_000)))).flat();
  console.log(`queue repair: inserted ${ids.length} queued runs in ${Date.now() - t} ms`);

  t = Date.now();
  const rebuilt = await repairQueue(db, queue);
  const rebuildMs = Date.now() - t;
  expect(rebuilt).toEqual({ restored: 100_000, evicted: 0, compared: 100_000 });
  expect(await queue.depth()).toBe(100_000);

  t = Date.now();
  expect(await repairQueue(db, queue)).toEqual({ restored: 0, evicted: 0, compared: 100_000 });
  const steadyMs = Date.now() - t;
  expect(await repairQueueIfDue(db, queue, Date.now())).toBeDefined();
  t = Date.now();
  expect(await repairQueueIfDue(db, queue, Date.now())).toBeUndefined();
  const checkMs = Date.now() - t;
  // One run of one job (of four, 25,000 runs each) goes missing: that job alone is compared.
  expect(await queue.evict(jobs[0] as string, [ids[0] as string])).toEqual([ids[0]]);
  t = Date.now();
  expect(await repairQueueIfDue(db, queue, Date.now())).toEqual({ restored: 1, evicted: 0, compared: 25_000 });
  const oneJobMs = Date.now() - t;

  // Lose the keys (what FLUSHALL or a restart without persistence does to this prefix), and
  // leave behind stale entries of a deleted job as many as a count would need.
  await deleteRedisKeys(env.redisUrl, prefix);
  await queue.enqueue(Array.from({ length: 5000 }, () => ({ runId: ulid(), jobId: 'deleted-job', priority: 50 })));
  t = Date.now();
  expect(await repairQueue(db, queue)).toEqual({ restored: 100_000, evicted: 5000, compared: 100_000 });
  const afterLossMs = Date.now() - t;
  const held = await queue.runsOf(jobs, 0, 100_000);
  expect(new Set(held.flat())).toEqual(new Set(ids));
  console.log(
    `queue repair of 100,000 queued runs: rebuild ${rebuildMs} ms, full comparison in steady state ${steadyMs} ms, ` +
      `a sweep checking counts only ${checkMs} ms, ` +
      `a sweep comparing the one job of 25,000 runs whose counts disagree ${oneJobMs} ms, after losing the keys (+5,000 stale) ${afterLossMs} ms`,
  );
});
