// Chaos: two leaders. The lease holder is frozen (SIGSTOP) past its 6 s lease while ten jobs fire
// every second and one-off runs are triggered; the other coordinator takes the lease; the first
// is resumed (SIGCONT) and, for a moment, both believe they lead. The resumed one must notice
// its lapse before acting and step down: no fire doubled or lost, no run offered twice, each run
// executed once.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ScheduleSpec } from '@drover/shared';
import { api, leaderOf, sleep, waitFor, type StartedCoordinator } from '../support/index.js';
import { startChaosCluster, type ChaosCluster } from './cluster.js';
import { openDatabase, settleAndCheck, startClusterCoordinator } from './coordinators.js';
import { databaseNow, fireRuns, lightMarkingExecutor } from './fires.js';
import { recoveryMs, reportScenario } from './report.js';

const NAME = 'two leaders: the leader frozen past its lease, resumed';
const JOBS = 10;
const SCHEDULE: ScheduleSpec = { every: '1s', catchUp: 'all' };
const FROZEN_MS = 10_000;

let cluster: ChaosCluster;
beforeAll(async () => {
  cluster = await startChaosCluster({ agents: 1, slots: 32 });
});
afterAll(async () => cluster?.close());

const leads = async (c: StartedCoordinator) => (await api(c.url).get<{ leader: boolean }>('/readyz')).body.leader;

it('two leaders: the resumed one steps down; nothing fired, offered or executed twice', async () => {
  const db = await openDatabase(cluster);
  const coordinators = [cluster.coordinator, await startClusterCoordinator(cluster, 'coordinator-b')];
  const marks = cluster.marksFile(NAME);
  const jobs: string[] = [];
  for (let i = 0; i < JOBS; i++)
    jobs.push(
      await cluster.createJob(`every-second-${i}`, {
        marks,
        maxAttempts: 1,
        extra: { executor: lightMarkingExecutor(marks), schedule: SCHEDULE },
      }),
    );
  const oneOff = await cluster.createJob('one-off', { marks, seconds: 1, maxAttempts: 1 });
  const fromMs = (await databaseNow(db)) + 1000;
  await sleep(5000);

  const leader = await leaderOf(coordinators);
  const survivor = coordinators.find((c) => c !== leader)!;
  const trigger = async () => (await api(survivor.url).post<{ id: string }>(`/v1/jobs/${oneOff}/runs`, {})).body.id;
  const triggered: string[] = [];
  process.kill(leader.proc.pid, 'SIGSTOP');
  const frozenAt = Date.now();
  for (let i = 0; i < 3; i++) triggered.push(await trigger());
  await waitFor(async () => (await leads(survivor)) || undefined, { description: 'the survivor to take the lease', timeoutMs: 30_000 });
  await sleep(Math.max(0, FROZEN_MS - (Date.now() - frozenAt)));
  const resumedAt = Date.now();
  process.kill(leader.proc.pid, 'SIGCONT');
  // Runs queued right as the old leader resumes: both dispatchers could reach for them.
  const probe = await trigger();
  for (let i = 0; i < 5; i++) triggered.push(await trigger());
  await sleep(8000);
  expect(await leads(leader)).toBe(false);

  const untilMs = (await databaseNow(db)) - 1000;
  await waitFor(
    async () => {
      const newest = new Map<string, number>();
      for (const r of await fireRuns(db, jobs)) newest.set(r.jobId, Math.max(newest.get(r.jobId) ?? 0, r.fireAt));
      return jobs.every((id) => (newest.get(id) ?? 0) >= untilMs) || undefined;
    },
    { description: 'every job to have its fires up to the end of the span', timeoutMs: 30_000 },
  );
  for (const id of jobs) await api(survivor.url).post(`/v1/jobs/${id}/pause`);
  const { verdict, executions } = await settleAndCheck(cluster, marks, [...jobs, oneOff], {
    triggered: [...triggered, probe],
    fires: jobs.map((jobId) => ({ jobId, everyMs: 1000, fromMs, untilMs })),
  });
  if (verdict.violations.length > 0) console.log(verdict.violations.slice(0, 20).join('\n'));
  const line = reportScenario(NAME, verdict.figures, recoveryMs(executions, resumedAt, probe));

  // The resumed leader noticed its lapse before acting, then stepped down.
  const resumedLines = leader.proc.lines.filter((l) => Date.parse(String(l.json?.time ?? 0)) >= resumedAt - 1000);
  const lapse = resumedLines.findIndex((l) => l.json?.msg?.toString().startsWith('the dispatcher lease lapsed'));
  const steppedDown = resumedLines.findIndex((l) => l.json?.msg === 'stepped down as dispatcher');
  expect(lapse).toBeGreaterThanOrEqual(0);
  expect(steppedDown).toBeGreaterThan(lapse);
  // One offer per attempt: a second dispatcher acting on a run would offer it again.
  const offeredTwice = (
    await db.query<{ run_id: string }>(
      `SELECT t.run_id FROM run_transitions t JOIN runs r ON r.id = t.run_id
        WHERE r.job_id = ANY($1) AND t.to_state = 'offered' GROUP BY t.run_id HAVING count(*) > 1`,
      [[...jobs, oneOff]],
    )
  ).rows;
  expect(offeredTwice).toEqual([]);
  expect(verdict.violations).toEqual([]);
  expect(line).toMatchObject({ duplicates: 0, lost: 0 });
  expect(verdict.figures.retried).toBe(0);
  expect(executions.every((e) => e.attempt === 1)).toBe(true);
});
