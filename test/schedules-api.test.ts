// Scheduling through the REST API against a real coordinator and agent (PostgreSQL, Redis,
// NATS): bad schedules are refused and save nothing, previews show DST-day fires, an
// every-second job really runs once per fire, pause/resume applies the catch-up policy,
// delayed and idempotent triggers, scheduler statistics, and a changed or deleted schedule
// stops firing.
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { sleep, useCluster, waitFor, type Job, type Problem, type Run } from './support/index.js';

interface Preview {
  description: string;
  timezone: string;
  from: string;
  fires: Array<{ utc: string; local: string }>;
  paused?: boolean;
}
interface Latency {
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}
interface Stats {
  fires: number;
  late: number;
  skipped: number;
  waiting: number;
  dueToQueued: Latency;
  dueToStarted: Latency;
  series: Array<{ at: string; fires: number }>;
}

const LIVE = ['pending', 'queued', 'offered', 'running', 'retrying'];
const ms = (iso: string | null) => (iso === null ? NaN : Date.parse(iso));

const cluster = useCluster({ agents: [{ slots: 8, name: 'agent' }] });
const { client } = cluster;
let db: pg.Pool;

beforeAll(() => {
  db = new pg.Pool({ connectionString: cluster.env.databaseUrl, max: 2 });
  cluster.env.onCleanup(() => db.end());
});

/** Creates a job (a noop unless `def` says otherwise) and returns it. */
const createNoopJob = (def: Record<string, unknown>): Promise<Job> => cluster.postJob({ executor: { type: 'noop' }, ...def });

/** Every run of a job, straight from the runs table's API (newest first there; sorted by fire here when asked). */
async function runsOf(jobId: string): Promise<Run[]> {
  const res = await client.get<{ items: Run[]; total: number }>(`/v1/runs?job=${jobId}&limit=1000`);
  expect(res.status).toBe(200);
  expect(res.body.total).toBeLessThan(1000);
  return res.body.items;
}

const byFire = (runs: Run[]) => runs.filter((r) => r.fireAt !== null).sort((a, b) => ms(a.fireAt) - ms(b.fireAt));

/** Waits until at least n runs of the job have succeeded; returns them all. */
async function succeeded(jobId: string, n: number, where: (r: Run) => boolean = () => true): Promise<Run[]> {
  return waitFor(
    async () => {
      const runs = await runsOf(jobId);
      return runs.filter((r) => r.state === 'succeeded' && where(r)).length >= n ? runs : undefined;
    },
    { timeoutMs: 20_000, description: `${n} succeeded runs of job ${jobId}` },
  );
}

/** Waits until no run of the job is live any more. */
async function settled(jobId: string): Promise<Run[]> {
  return waitFor(
    async () => {
      const runs = await runsOf(jobId);
      return runs.some((r) => LIVE.includes(r.state)) ? undefined : runs;
    },
    { timeoutMs: 20_000, description: `runs of job ${jobId} to settle` },
  );
}

/** Resolves in the middle of a wall-clock second, well away from an every-second fire. */
async function midSecond(): Promise<void> {
  const into = Date.now() % 1000;
  await sleep(into <= 250 ? 300 - into : 1300 - into);
}

async function countRows(jobId: string): Promise<number> {
  const res = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM runs WHERE job_id = $1', [jobId]);
  return res.rows[0]?.n ?? -1;
}

/** The job's run count stops growing: the same after `quietMs` as once in-flight fires have landed. */
async function expectNoNewFires(jobId: string, quietMs = 3000): Promise<number> {
  await sleep(1500);
  const before = await countRows(jobId);
  await sleep(quietMs);
  expect(await countRows(jobId)).toBe(before);
  return before;
}

const tenKb = `${'1,'.repeat(5119)}1 * * * *`;

describe('bad schedules', () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['a minute of 60', { cron: '60 * * * *' }, 'schedule.cron'],
    ['a step of 0', { cron: '*/0 * * * *' }, 'schedule.cron'],
    ['a 10 KB expression', { cron: tenKb }, 'schedule.cron'],
    ['an expression that never fires (31 February)', { cron: '0 0 31 2 *' }, 'schedule.cron'],
    ['an unknown time zone', { cron: '0 2 * * *', timezone: 'Mars/Olympus' }, 'schedule.timezone'],
    ['a negative interval', { every: '-5s' }, 'schedule.every'],
    ['both cron and every', { cron: '0 2 * * *', every: '5m' }, 'schedule'],
  ];

  it.each(cases)('refuses a job with %s with a 400 naming %s, and saves nothing', async (what, schedule, field) => {
    const name = `bad-${what.replace(/\W+/g, '-')}`.slice(0, 60);
    const before = (await client.get<{ total: number }>('/v1/jobs')).body.total;
    const res = await client.post<Problem>('/v1/jobs', { name, executor: { type: 'noop' }, schedule });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body.errors?.map((e) => e.field)).toContain(field);
    expect(res.body.detail).toContain(field);
    expect((await client.get<{ total: number }>('/v1/jobs')).body.total).toBe(before);
    expect((await client.get(`/v1/jobs/${name}`)).status).toBe(404);
  });

  it.each(cases)('refuses to preview %s with a 400 naming %s', async (_what, schedule, field) => {
    const res = await client.post<Problem>('/v1/schedules/preview', { schedule, next: 3 });
    expect(res.status).toBe(400);
    expect(res.body.errors?.map((e) => e.field)).toContain(field);
    expect(res.body.detail).toContain(field);
  });

  it('refuses a one-off schedule in the past, which could never fire, and saves nothing', async () => {
    const res = await client.post<Problem>('/v1/jobs', {
      name: 'too-late',
      executor: { type: 'noop' },
      schedule: { at: '2020-01-01T00:00:00Z' },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors?.map((e) => e.field)).toEqual(['schedule.at']);
    expect((await client.get('/v1/jobs/too-late')).status).toBe(404);
  });

  it('refuses a preview "from" without an offset, which would mean a different instant on each host', async () => {
    const res = await client.post<Problem>('/v1/schedules/preview', { schedule: { every: '1h' }, from: '2026-03-29T00:00:00' });
    expect(res.status).toBe(400);
    expect(res.body.errors?.map((e) => e.field)).toEqual(['from']);
  });

  it('names the message of a bad cron expression after the problem', async () => {
    const res = await client.post<Problem>('/v1/schedules/preview', { schedule: { cron: '0 0 31 2 *' } });
    expect(res.body.errors?.find((e) => e.field === 'schedule.cron')?.message).toMatch(/never fires/);
    const long = await client.post<Problem>('/v1/schedules/preview', { schedule: { cron: tenKb } });
    expect(long.body.errors?.find((e) => e.field === 'schedule.cron')?.message).toMatch(/characters/);
  });
});

describe('preview', () => {
  it('shows the Rome spring-forward day: 02:30 does not exist and fires once at 03:00 local', async () => {
    const res = await client.post<Preview>('/v1/schedules/preview', {
      schedule: { cron: '30 2 * * *', timezone: 'Europe/Rome' },
      next: 3,
      from: '2026-03-28T00:00:00Z',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.timezone).toBe('Europe/Rome');
    expect(res.body.description).toMatch(/02:30/);
    expect(res.body.description).toContain('Europe/Rome');
    expect(res.body.fires).toEqual([
      { utc: '2026-03-28T01:30:00.000Z', local: '2026-03-28T02:30:00+01:00' },
      { utc: '2026-03-29T01:00:00.000Z', local: '2026-03-29T03:00:00+02:00' },
      { utc: '2026-03-30T00:30:00.000Z', local: '2026-03-30T02:30:00+02:00' },
    ]);
  });

  it('takes crontab lines that name a value twice, as cronie does: 0,7 is Sunday once', async () => {
    const sundays = await client.post<Preview>('/v1/schedules/preview', {
      schedule: { cron: '0 0 * * 0,7' },
      next: 2,
      from: '2026-06-01T00:00:00Z',
    });
    expect(sundays.status, JSON.stringify(sundays.body)).toBe(200);
    expect(sundays.body.fires.map((f) => f.utc)).toEqual(['2026-06-07T00:00:00.000Z', '2026-06-14T00:00:00.000Z']);
    for (const cron of ['*/15,30 * * * *', '0 9-17,12 * * *']) {
      const res = await client.post<Preview>('/v1/schedules/preview', { schedule: { cron }, next: 1 });
      expect(res.status, `${cron}: ${JSON.stringify(res.body)}`).toBe(200);
    }
  });

  it("previews a job's schedule from a given instant, and answers 409 for a job without one", async () => {
    const job = await createNoopJob({ name: 'preview-daily', schedule: { cron: '0 2 * * *', timezone: 'America/Chicago' } });
    const res = await client.get<Preview>(`/v1/jobs/${job.id}/schedule?next=5&from=2026-10-30T12:00:00Z`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.paused).toBe(false);
    expect(res.body.timezone).toBe('America/Chicago');
    expect(res.body.description).toContain('America/Chicago');
    // 2026-11-01 is the fall-back day in Chicago: 02:00 CST, once.
    expect(res.body.fires.map((f) => f.utc)).toEqual([
      '2026-10-31T07:00:00.000Z',
      '2026-11-01T08:00:00.000Z',
      '2026-11-02T08:00:00.000Z',
      '2026-11-03T08:00:00.000Z',
      '2026-11-04T08:00:00.000Z',
    ]);
    expect(res.body.fires[1]?.local).toBe('2026-11-01T02:00:00-06:00');

    const plain = await createNoopJob({ name: 'preview-unscheduled' });
    const none = await client.get<Problem>(`/v1/jobs/${plain.id}/schedule`);
    expect(none.status).toBe(409);
    expect(none.body.detail).toContain('no schedule');
    expect((await client.get<Problem>('/v1/jobs/01NOSUCHJOB/schedule')).status).toBe(404);
  });
});

describe('an every-second job', () => {
  it('makes one run per fire, one second apart, triggered by the schedule, and they succeed on the agent', async () => {
    const job = await createNoopJob({ name: 'every-second', schedule: { every: '1s' } });
    await succeeded(job.id, 4);
    await client.post(`/v1/jobs/${job.id}/pause`);
    const runs = byFire(await settled(job.id));
    expect(runs.length).toBeGreaterThanOrEqual(4);
    for (const r of runs) {
      expect(r.trigger).toBe('schedule');
      expect(r.state).toBe('succeeded');
      expect(ms(r.fireAt) % 1000).toBe(0);
    }
    const gaps = runs.slice(1).map((r, i) => ms(r.fireAt) - ms(runs[i]!.fireAt));
    expect(gaps).toEqual(gaps.map(() => 1000));

    // Statistics over the last five minutes count at least these fires, with lateness figures.
    const stats = await client.get<Stats>(`/v1/scheduler/stats?since=5m&job=${job.name}`);
    expect(stats.status, JSON.stringify(stats.body)).toBe(200);
    expect(stats.body.fires).toBeGreaterThanOrEqual(runs.length);
    expect(stats.body.skipped).toBe(0);
    expect(stats.body.series.reduce((n, b) => n + b.fires, 0)).toBe(stats.body.fires);
    expect(Object.keys(stats.body).sort()).toEqual([
      'dueToQueued',
      'dueToStarted',
      'fires',
      'late',
      'series',
      'since',
      'skipped',
      'until',
      'waiting',
    ]);
    for (const l of [stats.body.dueToQueued, stats.body.dueToStarted]) {
      expect(l.p50Ms).not.toBeNull();
      expect(l.p50Ms!).toBeGreaterThanOrEqual(0);
      expect(l.p50Ms!).toBeLessThanOrEqual(l.p99Ms!);
      expect(l.p99Ms!).toBeLessThanOrEqual(l.maxMs!);
    }
  });

  it('refuses statistics for an unknown job or a bad range with a 400 naming the parameter', async () => {
    const unknown = await client.get<Problem>('/v1/scheduler/stats?since=5m&job=no-such-job');
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors?.map((e) => e.field)).toEqual(['job']);
    const since = await client.get<Problem>('/v1/scheduler/stats?since=yesterday');
    expect(since.status).toBe(400);
    expect(since.body.errors?.map((e) => e.field)).toEqual(['since']);
    const until = await client.get<Problem>('/v1/scheduler/stats?until=tomorrow');
    expect(until.status).toBe(400);
    expect(until.body.errors?.map((e) => e.field)).toEqual(['until']);
    const backwards = await client.get<Problem>('/v1/scheduler/stats?since=2026-11-22T10:00:00Z&until=2026-11-22T09:00:00Z');
    expect(backwards.status).toBe(400);
    expect(backwards.body.errors?.map((e) => e.field)).toEqual(['since']);
  });
});

describe.concurrent('pause and resume', () => {
  /**
   * Runs the job, pauses it away from a fire boundary for a few seconds, resumes it likewise,
   * and returns its runs once it has fired again after the resume.
   */
  async function pauseForAWhile(job: Job): Promise<{ pausedAt: number; resumeSentAt: number; runs: Run[] }> {
    await succeeded(job.id, 2);
    await midSecond();
    const paused = await client.post<Job>(`/v1/jobs/${job.id}/pause`);
    expect(paused.status).toBe(200);
    expect(paused.body.pausedAt).not.toBeNull();
    const pausedAt = ms(paused.body.pausedAt);
    expect((await client.get<Job>(`/v1/jobs/${job.id}`)).body.pausedAt).toBe(paused.body.pausedAt);
    expect((await client.get<Preview>(`/v1/jobs/${job.id}/schedule?next=1`)).body.paused).toBe(true);
    await expectNoNewFires(job.id);
    const runsWhilePaused = await runsOf(job.id);
    expect(runsWhilePaused.filter((r) => ms(r.fireAt) > pausedAt)).toEqual([]);

    await midSecond();
    const resumeSentAt = Date.now();
    const resumed = await client.post<Job>(`/v1/jobs/${job.id}/resume`);
    const resumedBy = Date.now();
    expect(resumed.status).toBe(200);
    expect(resumed.body.pausedAt).toBeNull();
    // Firing goes on: a run for a fire after the resume succeeds.
    const runs = await succeeded(job.id, 1, (r) => ms(r.fireAt) > resumedBy);
    return { pausedAt, resumeSentAt, runs };
  }

  /** Fires of the schedule that came while the job was paused (away from both boundaries). */
  const whilePaused = (runs: Run[], pausedAt: number, resumeSentAt: number) =>
    byFire(runs).filter((r) => ms(r.fireAt) > pausedAt && ms(r.fireAt) < resumeSentAt);

  it('stops firing while paused; resuming with catch-up "skip" records every missed fire as skipped, then fires again', async () => {
    const job = await createNoopJob({ name: 'pause-skip', schedule: { every: '1s', catchUp: 'skip' } });
    const { pausedAt, resumeSentAt, runs } = await pauseForAWhile(job);
    const missed = whilePaused(runs, pausedAt, resumeSentAt);
    // One record per missed whole second: nothing disappears silently.
    const expected = Math.floor(resumeSentAt / 1000) - Math.floor(pausedAt / 1000);
    expect(missed.map((r) => ms(r.fireAt))).toEqual(
      Array.from({ length: expected }, (_, i) => (Math.floor(pausedAt / 1000) + 1 + i) * 1000),
    );
    expect(missed.length).toBeGreaterThanOrEqual(3);
    for (const r of missed) {
      expect(r.state).toBe('skipped');
      expect(r.skipReason).toContain('paused');
      expect(r.skipReason).toContain('skip');
    }
    await client.post(`/v1/jobs/${job.id}/pause`);
  });

  it('resuming with catch-up "latest" runs exactly one of the missed fires, the most recent', async () => {
    const job = await createNoopJob({ name: 'pause-latest', schedule: { every: '1s', catchUp: 'latest' } });
    const { pausedAt, resumeSentAt, runs } = await pauseForAWhile(job);
    await client.post(`/v1/jobs/${job.id}/pause`);
    const missed = whilePaused(await settled(job.id), pausedAt, resumeSentAt);
    expect(missed.length).toBeGreaterThanOrEqual(3);
    const ran = missed.filter((r) => r.state !== 'skipped');
    expect(ran.map((r) => r.fireAt)).toEqual([missed[missed.length - 1]!.fireAt]);
    expect(ran[0]?.state).toBe('succeeded');
    for (const r of missed.slice(0, -1)) {
      expect(r.state).toBe('skipped');
      expect(r.skipReason).toContain('paused');
      expect(r.skipReason).toContain('latest');
    }
    expect(runs.length).toBeGreaterThan(0);
  });

  it('answers 404 when pausing an unknown job', async () => {
    expect((await client.post<Problem>('/v1/jobs/01NOSUCHJOB/pause')).status).toBe(404);
  });
});

describe('manual triggers', () => {
  let jobId: string;
  beforeAll(async () => {
    jobId = (await createNoopJob({ name: 'manual' })).id;
  });

  it('holds a delayed run as pending until its time, then runs it', async () => {
    const res = await client.post<Run>(`/v1/jobs/${jobId}/runs`, { delay: '2s' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.state).toBe('pending');
    expect(res.body.trigger).toBe('manual');
    expect(ms(res.body.notBefore) - ms(res.body.createdAt)).toBe(2000);
    expect((await client.get<Run>(`/v1/runs/${res.body.id}`)).body.state).toBe('pending');
    const run = await waitFor(
      async () => {
        const r = (await client.get<Run>(`/v1/runs/${res.body.id}`)).body;
        return r.state === 'succeeded' ? r : undefined;
      },
      { timeoutMs: 20_000, description: 'the delayed run to succeed' },
    );
    expect(run.transitions?.map((t) => t.to)).toEqual(['pending', 'queued', 'offered', 'running', 'succeeded']);
    // Never started before its time.
    expect(ms(run.startedAt)).toBeGreaterThanOrEqual(ms(run.notBefore));
  });

  it.each(['soon', '-5s', '10 parsecs'])('refuses a delay of %j with a 400 naming delay, creating no run', async (delay) => {
    const before = await countRows(jobId);
    const res = await client.post<Problem>(`/v1/jobs/${jobId}/runs`, { delay });
    expect(res.status).toBe(400);
    expect(res.body.errors?.map((e) => e.field)).toContain('delay');
    expect(await countRows(jobId)).toBe(before);
  });

  it('returns the same run for the same Idempotency-Key and body, 422 for another body, a new run for another key', async () => {
    const body = { parameters: { DAY: '2026-11-21' } };
    const key = { headers: { 'idempotency-key': 'nightly-2026-11-21' } };
    const first = await client.post<Run>(`/v1/jobs/${jobId}/runs`, body, key);
    expect(first.status).toBe(201);
    const again = await client.post<Run>(`/v1/jobs/${jobId}/runs`, { parameters: { DAY: '2026-11-21' } }, key);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect(again.headers.get('location')).toBe(`/v1/runs/${first.body.id}`);

    const other = await client.post<Problem>(`/v1/jobs/${jobId}/runs`, { parameters: { DAY: '2026-11-22' } }, key);
    expect(other.status).toBe(422);
    expect(other.headers.get('content-type')).toContain('application/problem+json');
    expect(other.body.detail).toContain('nightly-2026-11-21');
    expect(other.body.detail).toContain(first.body.id);

    const fresh = await client.post<Run>(`/v1/jobs/${jobId}/runs`, body, { headers: { 'idempotency-key': 'nightly-2026-11-22' } });
    expect(fresh.status).toBe(201);
    expect(fresh.body.id).not.toBe(first.body.id);
    const res = await db.query('SELECT id FROM runs WHERE job_id = $1 AND idempotency_key IS NOT NULL ORDER BY id', [jobId]);
    expect(res.rows.map((r: { id: string }) => r.id)).toEqual([first.body.id, fresh.body.id].sort());
  });

  it('answers concurrent requests with one key with one run', async () => {
    const key = { headers: { 'idempotency-key': 'racing' } };
    const answers = await Promise.all(Array.from({ length: 8 }, () => client.post<Run>(`/v1/jobs/${jobId}/runs`, {}, key)));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 201]);
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
  });
});

describe.concurrent('changing and deleting a schedule', () => {
  it('a PATCH from every 1s to every 1h stops the fast fires', async () => {
    const job = await createNoopJob({ name: 'slows-down', schedule: { every: '1s' } });
    await succeeded(job.id, 2);
    // The hourly schedule must not fire during the quiet spell below: keep clear of an hour boundary.
    const toHour = 3_600_000 - (Date.now() % 3_600_000);
    if (toHour < 10_000) await sleep(toHour + 500);
    const res = await client.patch<{ schedule: { every: string } }>(`/v1/jobs/${job.id}`, { schedule: { every: '1h' } });
    expect(res.status).toBe(200);
    expect(res.body.schedule.every).toBe('1h');
    await expectNoNewFires(job.id);
    const preview = await client.get<Preview>(`/v1/jobs/${job.id}/schedule?next=1`);
    expect(ms(preview.body.fires[0]!.utc) % 3_600_000).toBe(0);
  });

  it('deleting a scheduled job stops its fires', async () => {
    const job = await createNoopJob({ name: 'deleted', schedule: { every: '1s' } });
    await succeeded(job.id, 2);
    expect((await client.del(`/v1/jobs/${job.id}`)).status).toBe(204);
    await expectNoNewFires(job.id);
  });
});
