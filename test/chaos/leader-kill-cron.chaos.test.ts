// Chaos: the leader `kill -9`'d under cron load. Fifty jobs fire every second (a six-field cron
// with seconds, catch-up "all") on three coordinators; the one holding the lease is killed
// mid-load. Another takes the lease and covers the gap: every fire of the span has exactly one
// run, executed exactly once, at attempt 1.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ScheduleSpec } from '@drover/shared';
import { api, leaderOf, sleep, waitFor, type StartedCoordinator } from '../support/index.js';
import { startChaosCluster, type ChaosCluster } from './cluster.js';
import { openDatabase, settleAndCheck, startClusterCoordinator } from './coordinators.js';
import { databaseNow, fireRuns, lightMarkingExecutor } from './fires.js';
import { recoveryMs, reportScenario } from './report.js';

const NAME = 'leader kill -9 under cron load (50 jobs every second)';
const JOBS = 50;
const SCHEDULE: ScheduleSpec = { cron: '* * * * * *', catchUp: 'all' };

let cluster: ChaosCluster;
beforeAll(async () => {
  cluster = await startChaosCluster({ agents: 1, slots: 64 });
});
afterAll(async () => cluster?.close());

it('leader kill -9 under cron load: no fire lost or doubled, each executed once', async () => {
  const db = await openDatabase(cluster);
  // One at a time: two starting at once on a loaded machine can miss the start-up wait.
  const coordinators: StartedCoordinator[] = [cluster.coordinator];
  for (const n of ['b', 'c']) coordinators.push(await startClusterCoordinator(cluster, `coordinator-${n}`));
  const marks = cluster.marksFile(NAME);
  const jobs: string[] = [];
  for (let i = 0; i < JOBS; i++)
    jobs.push(
      await cluster.createJob(`cron-${i}`, { marks, maxAttempts: 1, extra: { executor: lightMarkingExecutor(marks), schedule: SCHEDULE } }),
    );
  const probeJob = await cluster.createJob('probe', { marks, seconds: 0, maxAttempts: 1 });
  // The span every job surely existed in.
  const fromMs = (await databaseNow(db)) + 1000;
  await sleep(8000);

  const leader = await leaderOf(coordinators);
  const survivors = coordinators.filter((c) => c !== leader);
  const killedAt = Date.now();
  const killedAtDb = await databaseNow(db);
  await leader.proc.kill();
  // A run triggered at the kill starts once a survivor has taken the lease.
  const probe = (await api(survivors[0]!.url).post<{ id: string }>(`/v1/jobs/${probeJob}/runs`, {})).body.id;
  const next = await leaderOf(survivors);
  await sleep(8000);

  // Every fire up to untilMs must have its run before the jobs are paused.
  const untilMs = (await databaseNow(db)) - 1000;
  await waitFor(
    async () => {
      const newest = new Map<string, number>();
      for (const r of await fireRuns(db, jobs)) newest.set(r.jobId, Math.max(newest.get(r.jobId) ?? 0, r.fireAt));
      return jobs.every((id) => (newest.get(id) ?? 0) >= untilMs) || undefined;
    },
    { description: 'every job to have its fires up to the end of the span', timeoutMs: 30_000 },
  );
  for (const id of jobs) await api(next.url).post(`/v1/jobs/${id}/pause`);

  const { verdict, executions } = await settleAndCheck(cluster, marks, [...jobs, probeJob], {
    triggered: [probe],
    fires: jobs.map((jobId) => ({ jobId, everyMs: 1000, fromMs, untilMs })),
  });
  if (verdict.violations.length > 0) console.log(verdict.violations.slice(0, 20).join('\n'));
  // How far behind its fires the cluster ran, before the kill and after: the load, not the fault, may set it.
  const lag = await db.query<{ after: boolean; p50: number; max: number }>(
    `SELECT fire_at >= to_timestamp($2 / 1000.0) AS after,
            (percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - fire_at)) * 1000)::int AS p50,
            (max(extract(epoch FROM started_at - fire_at)) * 1000)::int AS max
       FROM runs WHERE job_id = ANY($1) AND started_at IS NOT NULL GROUP BY 1 ORDER BY 1`,
    [jobs, killedAtDb],
  );
  console.log(
    `fire → start: ${lag.rows.map((r) => `${r.after ? 'after' : 'before'} the kill p50 ${r.p50} ms, max ${r.max} ms`).join('; ')}`,
  );
  const line = reportScenario(NAME, verdict.figures, recoveryMs(executions, killedAt, probe));
  expect(verdict.violations).toEqual([]);
  expect(line).toMatchObject({ duplicates: 0, lost: 0 });
  expect(verdict.figures.retried).toBe(0);
  // Fifty jobs for the whole span: the load really was there.
  expect(verdict.figures.runs).toBeGreaterThanOrEqual(JOBS * Math.floor((untilMs - fromMs) / 1000));
  expect(executions.every((e) => e.attempt === 1)).toBe(true);
});
