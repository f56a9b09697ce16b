// Chaos: all coordinators down across a schedule window. Two coordinators schedule every-second
// jobs, one per catch-up rule; both are stopped (one killed, one shut down) for longer than a
// fire counts as on time (10 s), then a coordinator is started again. Catch-up applies each
// job's rule to the missed fires — "all" runs each, "latest" the newest, "skip" none, and a
// 15 s window drops older ones — and records every fire it does not run as skipped: no fire
// lost, none doubled, every run executed once.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ScheduleSpec } from '@drover/shared';
import { api, leaderOf, sleep, waitFor } from '../support/index.js';
import { startChaosCluster, type ChaosCluster } from './cluster.js';
import { openDatabase, settleAndCheck, startClusterCoordinator } from './coordinators.js';
import { auditFires, databaseNow, fireRuns, lightMarkingExecutor, type FireRow } from './fires.js';
import { recoveryMs, reportScenario } from './report.js';

const NAME = 'all coordinators down across a schedule window (15 s)';
const DOWN_MS = 15_000;
/** A fire handled later than this is missed (the scheduler's MISSED_AFTER_MS). */
const MISSED_AFTER_MS = 10_000;
/**
 * A run's creation time is a moment after its tick decided (on a loaded machine, a second or
 * more): fires whose run was made this close to a bound are not judged against it.
 */
const DECIDED_WITHIN_MS = 2000;
const RULES: Record<string, ScheduleSpec> = {
  all: { every: '1s', catchUp: 'all' },
  latest: { every: '1s', catchUp: 'latest' },
  skip: { every: '1s', catchUp: 'skip' },
  window: { every: '1s', catchUp: 'all', catchUpWindow: '15s' },
};

let cluster: ChaosCluster;
beforeAll(async () => {
  cluster = await startChaosCluster({ agents: 1, slots: 16 });
});
afterAll(async () => cluster?.close());

it('all coordinators down: catch-up by each job’s rule, no fire lost or doubled', async () => {
  const db = await openDatabase(cluster);
  const coordinators = [cluster.coordinator, await startClusterCoordinator(cluster, 'coordinator-b')];
  const marks = cluster.marksFile(NAME);
  const jobs: Array<{ rule: string; id: string; schedule: ScheduleSpec }> = [];
  for (const [rule, schedule] of Object.entries(RULES))
    jobs.push({
      rule,
      schedule,
      id: await cluster.createJob(`catch-up-${rule}`, {
        marks,
        maxAttempts: 1,
        extra: { executor: lightMarkingExecutor(marks), schedule },
      }),
    });
  const probeJob = await cluster.createJob('probe', { marks, seconds: 0, maxAttempts: 1 });
  const ids = jobs.map((j) => j.id);
  const fromMs = (await databaseNow(db)) + 1000;
  await sleep(5000);

  const leader = await leaderOf(coordinators);
  await leader.proc.kill();
  await coordinators.find((c) => c !== leader)!.stop();
  const downFrom = await databaseNow(db);
  await sleep(DOWN_MS);
  const restartedAt = Date.now();
  const back = await startClusterCoordinator(cluster, 'coordinator-c');
  const probe = (await api(back.url).post<{ id: string }>(`/v1/jobs/${probeJob}/runs`, {})).body.id;
  const downUntil = await databaseNow(db);
  await sleep(5000);

  const untilMs = (await databaseNow(db)) - 1000;
  await waitFor(
    async () => {
      const runs = await fireRuns(db, ids);
      return ids.every((id) => runs.some((r) => r.jobId === id && r.fireAt >= untilMs)) || undefined;
    },
    { description: 'every job to have its fires up to the end of the span', timeoutMs: 30_000 },
  );
  for (const id of ids) await api(back.url).post(`/v1/jobs/${id}/pause`);
  // The checker owns the "all" job's fires (it allows none skipped); the rules' jobs are audited below.
  const all = jobs.find((j) => j.rule === 'all')!;
  const { verdict, executions } = await settleAndCheck(cluster, marks, [...ids, probeJob], {
    triggered: [probe],
    fires: [{ jobId: all.id, everyMs: 1000, fromMs, untilMs }],
  });
  const runs = await fireRuns(db, ids);
  const audit = auditFires(jobs, runs, executions, fromMs, untilMs);
  const figures = {
    ...verdict.figures,
    lost: verdict.figures.lost + audit.lost.length,
    duplicates: verdict.figures.duplicates + audit.doubled.length,
  };
  if (verdict.violations.length > 0) console.log(verdict.violations.slice(0, 20).join('\n'));
  const line = reportScenario(NAME, figures, recoveryMs(executions, restartedAt, probe));
  expect(verdict.violations).toEqual([]);
  expect(audit.lost).toEqual([]);
  expect(audit.doubled).toEqual([]);
  expect(audit.unexecuted).toEqual([]);
  expect(line).toMatchObject({ duplicates: 0, lost: 0 });
  expect(audit.ran.every((r) => r.state === 'succeeded' && r.attempt === 1)).toBe(true);

  // The missed fires: due while no coordinator ran, and handled surely more than 10 s late (the
  // scheduler's definition of missed; a fire handled sooner runs as on time).
  const missedOf = (rule: string): FireRow[] => {
    const job = jobs.find((j) => j.rule === rule)!;
    return runs.filter(
      (r) => r.jobId === job.id && r.fireAt > downFrom && r.fireAt <= downUntil && r.lagMs >= MISSED_AFTER_MS + DECIDED_WITHIN_MS,
    );
  };
  const ranOf = (rows: FireRow[]) => rows.filter((r) => r.state !== 'skipped');
  const missed = Object.fromEntries(Object.keys(RULES).map((rule) => [rule, missedOf(rule)]));
  console.log(
    `all coordinators down ${DOWN_MS} ms: missed fires run / recorded — ${Object.entries(missed)
      .map(([rule, rows]) => `${rule} ${ranOf(rows).length}/${rows.length}`)
      .join(', ')}`,
  );
  expect(missed.all!.length).toBeGreaterThanOrEqual(3);
  expect(ranOf(missed.all!)).toHaveLength(missed.all!.length);
  expect(ranOf(missed.skip!)).toEqual([]);
  expect(missed.skip!.every((r) => /catch-up policy "skip"/.test(r.reason ?? ''))).toBe(true);
  // "latest" runs the newest missed fire only (which may have been decided just under the bound).
  expect(ranOf(missed.latest!).length).toBeLessThanOrEqual(1);
  for (const r of ranOf(missed.latest!)) expect(r.fireAt).toBe(Math.max(...missed.latest!.map((m) => m.fireAt)));
  // A 15 s window: a fire missed by more than 15 s when handled is recorded skipped, the rest run.
  for (const r of missed.window!)
    if (r.lagMs < 15_000 - DECIDED_WITHIN_MS || r.lagMs > 15_000 + DECIDED_WITHIN_MS)
      expect({ lagMs: r.lagMs, ran: r.state !== 'skipped' }).toEqual({ lagMs: r.lagMs, ran: r.lagMs < 15_000 });
  expect(missed.window!.filter((r) => r.state === 'skipped').every((r) => /catch-up window/.test(r.reason ?? ''))).toBe(true);
});
