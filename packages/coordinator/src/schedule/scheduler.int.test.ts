// The scheduler with the clock passed in, against real PostgreSQL and Redis: a coordinator
// "stopped" for an hour with an every-minute job produces exactly what each catch-up policy
// promises, every missed fire that does not run is recorded as skipped with its reason, and
// handling the same fires twice (a restart mid-tick, a second scheduler) creates nothing new.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { ulid } from 'ulid';
import { createBroker, validateJobDefinition } from '@drover/shared';
import type { ServiceBroker } from 'moleculer';
import { createTestEnv, type TestEnv } from '../../../../test/support/index.js';
import type { CoordinatorContext } from '../context.js';
import { openDatabase, type Db } from '../store/db.js';
import { insertJob } from '../store/jobs.js';
import { resetScheduleState } from '../store/schedules.js';
import { insertRuns } from '../store/insert-runs.js';
import { markSkipNext, skipNextMarks } from '../store/skip-next.js';
import { openRedis, RedisReadyQueue } from '../queue/ready-queue.js';
import { RedisLeaderLease } from '../queue/leader-lease.js';
import { JobCache } from '../dispatch/job-cache.js';
import { compileCoordinatorOptions } from '../options.js';
import { Scheduler } from './scheduler.js';
import { CoordinatorMetrics } from '../metrics/coordinator-metrics.js';
import { AgentIdentities } from '../security/agent-identities.js';
import { MoleculerAgentChannel } from '../transport/moleculer-channel.js';
import { MoleculerSignals } from '../transport/moleculer-signals.js';

const T0 = Date.parse('2026-11-22T10:00:00Z');
const MINUTE = 60_000;

let env: TestEnv;
let db: Db;
let redis: Redis;
let broker: ServiceBroker;
let clock = T0;
let ctx: CoordinatorContext;

beforeAll(async () => {
  env = await createTestEnv();
  db = await openDatabase(env.databaseUrl, { poolSize: 4 });
  redis = await openRedis(env.redisUrl);
  broker = createBroker({ natsUrl: 'memory', cluster: env.namespace, nodeId: 'scheduler-test' });
  await broker.start();
  ctx = {
    options: compileCoordinatorOptions({ env: {} }),
    db,
    dispatchDb: db,
    queue: new RedisReadyQueue(redis, env.redisPrefix),
    lease: new RedisLeaderLease(redis, env.redisPrefix),
    nodeId: 'scheduler-test',
    agents: new MoleculerAgentChannel(broker),
    signals: new MoleculerSignals(broker),
    jobs: new JobCache(db),
    actions: { poke: () => undefined },
    log: pino({ level: 'silent' }),
    metrics: new CoordinatorMetrics({ processMetrics: false }),
    now: () => clock,
    identities: new AgentIdentities({ db, log: pino({ level: 'silent' }), now: () => clock, required: () => false }),
  };
});
afterAll(async () => {
  await broker?.stop();
  redis?.disconnect();
  await db?.destroy();
  await env?.cleanup();
});

interface RunRow {
  state: string;
  fire_at: Date;
  skip_reason: string | null;
}

async function everyMinuteJob(name: string, catchUp: string, catchUpWindow: string): Promise<string> {
  const def = validateJobDefinition({ name, executor: { type: 'noop' }, schedule: { cron: '* * * * *', catchUp, catchUpWindow } });
  const job = await insertJob(db, ulid(), def);
  // The schedule was created at T0 and its first fire handled then; then nobody scheduled.
  await resetScheduleState(db, job.id, T0 + MINUTE, T0);
  return job.id;
}

async function runsOf(jobId: string): Promise<RunRow[]> {
  return db
    .selectFrom('runs')
    .select(['state', 'fire_at', 'skip_reason'])
    .where('job_id', '=', jobId)
    .orderBy('fire_at')
    .execute() as Promise<RunRow[]>;
}

const minuteOf = (d: Date) => (d.getTime() - T0) / MINUTE;

describe('catch-up after an hour without a scheduler (every-minute job)', () => {
  it('runs what each policy promises and records every other missed fire as skipped', async () => {
    const skip = await everyMinuteJob('catch-skip', 'skip', '2h');
    const latest = await everyMinuteJob('catch-latest', 'latest', '2h');
    const all = await everyMinuteJob('catch-all', 'all', '2h');
    const windowed = await everyMinuteJob('catch-all-30m', 'all', '30m');
    // Back an hour later, 5 s after the minute: fire 60 is on time, fires 1–59 were missed.
    clock = T0 + 60 * MINUTE + 5000;
    const report = await new Scheduler(ctx).tick();
    expect(report.fires).toBe(4 * 60);

    const s = await runsOf(skip);
    expect(s).toHaveLength(60);
    expect(s.filter((r) => r.state === 'queued').map((r) => minuteOf(r.fire_at))).toEqual([60]);
    expect(s.filter((r) => r.state === 'skipped')).toHaveLength(59);
    expect(s[0]?.skip_reason).toContain('no coordinator was scheduling');

    const l = await runsOf(latest);
    expect(l.filter((r) => r.state === 'queued').map((r) => minuteOf(r.fire_at))).toEqual([59, 60]);
    expect(l.filter((r) => r.state === 'skipped')).toHaveLength(58);

    const a = await runsOf(all);
    expect(a.filter((r) => r.state === 'queued')).toHaveLength(60);

    const w = await runsOf(windowed);
    // Fires within 30 min of now (minutes 31–60) run; the 30 older ones are skipped, naming the window.
    expect(w.filter((r) => r.state === 'queued').map((r) => minuteOf(r.fire_at))).toEqual(Array.from({ length: 30 }, (_, i) => 31 + i));
    const old = w.filter((r) => r.state === 'skipped');
    expect(old.map((r) => minuteOf(r.fire_at))).toEqual(Array.from({ length: 30 }, (_, i) => 1 + i));
    expect(old[0]?.skip_reason).toContain('30m');

    // Every run is queued in Redis too, ready for the dispatcher.
    expect(await ctx.queue.depth()).toBe(1 + 2 + 60 + 30);
  });

  it('creates nothing twice when the same fires are handled again', async () => {
    const jobId = await everyMinuteJob('catch-twice', 'all', '2h');
    clock = T0 + 10 * MINUTE + 1000;
    await new Scheduler(ctx).tick();
    const first = await runsOf(jobId);
    // A second scheduler (or a restart) that had read the old schedule state handles the same fires.
    await resetScheduleState(db, jobId, T0 + MINUTE, T0);
    await new Scheduler(ctx).tick();
    expect(await runsOf(jobId)).toEqual(first);
    expect(first).toHaveLength(10);
  });

  it('"latest" and the cap hold across ticks when more fires were missed than one tick takes', async () => {
    const def = validateJobDefinition({
      name: 'catch-latest-seconds',
      executor: { type: 'noop' },
      schedule: { cron: '* * * * * *', catchUp: 'latest', catchUpWindow: '2h' },
    });
    const latest = (await insertJob(db, ulid(), def)).id;
    await resetScheduleState(db, latest, T0 + 1000, T0);
    const allDef = validateJobDefinition({
      name: 'catch-all-seconds',
      executor: { type: 'noop' },
      schedule: { cron: '* * * * * *', catchUp: 'all', catchUpWindow: '2h' },
    });
    const all = (await insertJob(db, ulid(), allDef)).id;
    await resetScheduleState(db, all, T0 + 1000, T0);
    // 2,500 every-second fires: seconds 1–2490 were missed, 2491–2500 are on time.
    clock = T0 + 2500 * 1000;
    const scheduler = new Scheduler(ctx);
    for (let i = 0; i < 10 && (await scheduler.tick()).fires > 0; i++);
    const second = (d: Date) => (d.getTime() - T0) / 1000;
    const onTime = Array.from({ length: 10 }, (_, i) => 2491 + i);
    const l = await runsOf(latest);
    expect(l).toHaveLength(2500);
    expect(l.filter((r) => r.state === 'queued').map((r) => second(r.fire_at))).toEqual([2490, ...onTime]);
    const a = await runsOf(all);
    expect(a).toHaveLength(2500);
    expect(a.filter((r) => r.state === 'queued').map((r) => second(r.fire_at))).toEqual([
      ...Array.from({ length: 100 }, (_, i) => 2391 + i),
      ...onTime,
    ]);
  });

  it('a fire handled again does not cancel its own run (overlap "replace")', async () => {
    const def = validateJobDefinition({
      name: 'replace-twice',
      executor: { type: 'noop' },
      schedule: { cron: '* * * * *', overlap: 'replace' },
    });
    const jobId = (await insertJob(db, ulid(), def)).id;
    await resetScheduleState(db, jobId, T0 + MINUTE, T0);
    clock = T0 + MINUTE + 1000;
    await new Scheduler(ctx).tick();
    expect((await runsOf(jobId)).map((r) => r.state)).toEqual(['queued']);
    // A restart between creating the run and moving the schedule on handles the fire again.
    await resetScheduleState(db, jobId, T0 + MINUTE, T0);
    await new Scheduler(ctx).tick();
    expect((await runsOf(jobId)).map((r) => r.state)).toEqual(['queued']);
  });
});

describe('skip_next: the next fire after the mark becomes a skipped run', () => {
  /** A finished run of the job whose skip_next action fired, and that action's record. */
  async function skipNextAction(jobId: string): Promise<{ runId: string; actionId: number }> {
    const runId = ulid();
    await insertRuns(db, [{ id: runId, jobId, state: 'skipped', priority: 50, trigger: 'manual', parameters: {}, createdAt: clock }]);
    const row = await db
      .insertInto('action_runs')
      .values({
        run_id: runId,
        job_id: jobId,
        attempt: 1,
        trigger: 'on_failure',
        action_index: 0,
        spec: JSON.stringify({ trigger: 'on_failure', type: 'skip_next' }),
        next_at: new Date(clock),
        created_at: new Date(clock),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { runId, actionId: row.id };
  }

  const markOf = async (jobId: string) =>
    (await db.selectFrom('schedule_state').select('skip_next_after').where('job_id', '=', jobId).executeTakeFirstOrThrow()).skip_next_after;

  it('skips exactly one fire, names the run whose action asked, and clears the mark', async () => {
    const jobId = await everyMinuteJob('skip-next-once', 'skip', '1h');
    clock = T0 + 30_000;
    const first = await skipNextAction(jobId);
    expect(await markSkipNext(db, first.actionId, jobId, clock)).toMatchObject({ nextFireAt: expect.any(String) });
    // A second action before the fire keeps the first mark: still one fire skipped.
    clock = T0 + 40_000;
    const second = await skipNextAction(jobId);
    await markSkipNext(db, second.actionId, jobId, clock);

    clock = T0 + MINUTE + 1000;
    await new Scheduler(ctx).tick();
    clock = T0 + 2 * MINUTE + 1000;
    await new Scheduler(ctx).tick();
    const runs = await runsOf(jobId);
    const fired = runs.filter((r) => r.fire_at !== null);
    expect(fired.map((r) => [minuteOf(r.fire_at), r.state])).toEqual([
      [1, 'skipped'],
      [2, 'queued'],
    ]);
    expect(fired[0]?.skip_reason).toBe(`skipped by the skip_next action of run ${first.runId}`);
    expect(await markOf(jobId)).toBeNull();
  });

  it('a mark whose fire already has a run is spent, even if the column was not cleared (a crash in between)', async () => {
    const jobId = await everyMinuteJob('skip-next-crash', 'skip', '1h');
    clock = T0 + 30_000;
    const { actionId } = await skipNextAction(jobId);
    await markSkipNext(db, actionId, jobId, clock);
    const mark = await markOf(jobId);
    clock = T0 + MINUTE + 1000;
    await new Scheduler(ctx).tick();
    // The scheduler died after creating the skipped run and before clearing the mark.
    await db.updateTable('schedule_state').set({ skip_next_after: mark }).where('job_id', '=', jobId).execute();
    expect((await skipNextMarks(db, [jobId])).size).toBe(0);
    clock = T0 + 2 * MINUTE + 1000;
    await new Scheduler(ctx).tick();
    expect((await runsOf(jobId)).filter((r) => r.fire_at !== null).map((r) => r.state)).toEqual(['skipped', 'queued']);
    // A new action replaces the spent mark rather than keeping it.
    clock = T0 + 2 * MINUTE + 30_000;
    const next = await skipNextAction(jobId);
    const set = await markSkipNext(db, next.actionId, jobId, clock);
    expect(Date.parse(set?.skipNextAfter ?? '')).toBe(clock);
  });
});
