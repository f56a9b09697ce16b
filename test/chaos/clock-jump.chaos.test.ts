// Chaos: clock jumps of ±1 h while running. The coordinator and a joined agent run under
// libfaketime (Debian's `faketime`) reading their offset from a file on every call; their wall
// clocks jump +1 h and −1 h in turn while long runs execute and a job fires every two seconds.
// The monotonic clock runs on, as when NTP steps a clock. Drover times everything by
// PostgreSQL's clock (ClusterClock on coordinators, the learned cluster clock on agents): the
// long runs end once, at attempt 1; nothing is taken back from the agent early (no offer refused
// as expired, no run lost); every fire is made once, near its time on PostgreSQL's clock.
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ScheduleSpec } from '@drover/shared';
import { createJoinToken, sleep, startAgent, waitFor } from '../support/index.js';
import { startChaosCluster, type ChaosCluster } from './cluster.js';
import { openDatabase, settleAndCheck } from './coordinators.js';
import { databaseNow, fireRuns } from './fires.js';
import { fakeClockEnv } from './libfaketime.js';
import { recoveryMs, reportScenario } from './report.js';

const NAME = 'clock jump ±1 h on the coordinator and an agent';
const LONG_RUN_S = 24;
const CRON_EVERY_MS = 2000;
/** How far from its fire time a fire's run may be made: well under the jumps' hour. */
const FIRE_LAG_BOUND_MS = 10_000;

/** The chaos executor's marks, timed by the real clock: the job's own `date` must not inherit the fake one. */
function realTimeMarkingExecutor(marks: string, seconds: number): { type: 'exec'; command: string[] } {
  const script = [
    `echo "start $DROVER_RUN_ID $DROVER_ATTEMPT $(date +%s%N) $$" >> '${marks}'`,
    `sleep ${seconds}`,
    `echo "finished $DROVER_RUN_ID $DROVER_ATTEMPT $(date +%s%N)" >> '${marks}'`,
  ].join('\n');
  return { type: 'exec', command: ['env', '-u', 'LD_PRELOAD', 'sh', '-c', script] };
}

let cluster: ChaosCluster;
let clocks: { coordinator: string; agent: string };
beforeAll(async () => {
  const dir = join(tmpdir(), `drover-clocks-${randomBytes(4).toString('hex')}`);
  clocks = { coordinator: `${dir}-coordinator`, agent: `${dir}-agent` };
  for (const file of Object.values(clocks)) writeFileSync(file, '+0\n');
  cluster = await startChaosCluster({
    agents: 0,
    coordinatorArgs: ['--offer-timeout', '3s', '--reconcile-interval', '300ms', '--heartbeat-interval', '1s'],
    coordinatorEnv: fakeClockEnv(clocks.coordinator),
  });
  // Joined: every message the agent sends is signed, and every one it gets checked, on its clock.
  const joinToken = await createJoinToken(cluster.client);
  await startAgent(cluster.env, {
    name: 'agent-1',
    slots: 16,
    labels: { pool: 'chaos' },
    extraArgs: ['--nats', cluster.natsUrl],
    env: { ...fakeClockEnv(clocks.agent), DROVER_JOIN_TOKEN: joinToken },
  });
  cluster.env.onCleanup(() => {
    for (const file of Object.values(clocks)) rmSync(file, { force: true });
  });
});
afterAll(async () => cluster?.close());

it('clock jump ±1 h: runs, offers and fires stay on PostgreSQL’s clock', async () => {
  const db = await openDatabase(cluster);
  const marks = cluster.marksFile(NAME);
  const job = (name: string, seconds: number, extra: Record<string, unknown> = {}) =>
    cluster.createJob(name, { marks, maxAttempts: 1, extra: { executor: realTimeMarkingExecutor(marks, seconds), ...extra } });
  const long = await job('long', LONG_RUN_S);
  const short = await job('short', 0);
  const schedule: ScheduleSpec = { every: `${CRON_EVERY_MS / 1000}s`, catchUp: 'all' };
  const cron = await job('every-two-seconds', 0, { schedule });
  const fromMs = (await databaseNow(db)) + CRON_EVERY_MS;
  const trigger = async (jobId: string) => (await cluster.client.post<{ id: string }>(`/v1/jobs/${jobId}/runs`, {})).body.id;
  const triggered: string[] = [];
  for (let i = 0; i < 4; i++) triggered.push(await trigger(long));
  await waitFor(
    async () => ((await db.query(`SELECT 1 FROM runs WHERE job_id = $1 AND state = 'running'`, [long])).rowCount === 4 ? true : undefined),
    {
      description: 'the long runs to run',
    },
  );

  // Each clock jumps in turn, a short run triggered after each jump.
  const jumps: Array<[keyof typeof clocks, string]> = [
    ['coordinator', '+1h'],
    ['agent', '-1h'],
    ['coordinator', '-1h'],
    ['agent', '+1h'],
    ['coordinator', '+0'],
    ['agent', '+0'],
  ];
  for (const [who, offset] of jumps) {
    writeFileSync(clocks[who], `${offset}\n`);
    await sleep(3000);
    triggered.push(await trigger(short));
  }
  const jumpsEndedAt = Date.now();
  const probe = await trigger(short);

  const untilMs = (await databaseNow(db)) - 1000;
  await waitFor(async () => (await fireRuns(db, [cron])).some((r) => r.fireAt >= untilMs) || undefined, {
    description: 'the schedule to fire up to the end of the span',
  });
  await cluster.client.post(`/v1/jobs/${cron}/pause`);
  const { verdict, executions } = await settleAndCheck(cluster, marks, [long, short, cron], {
    triggered: [...triggered, probe],
    fires: [{ jobId: cron, everyMs: CRON_EVERY_MS, fromMs, untilMs }],
  });
  if (verdict.violations.length > 0) console.log(verdict.violations.slice(0, 20).join('\n'));
  const line = reportScenario(NAME, verdict.figures, recoveryMs(executions, jumpsEndedAt, probe));

  // Work taken back from the agent (an offer refused or unanswered, a run lost) is re-queued early.
  const takenBack = (
    await db.query<{ run_id: string; reason: string | null }>(
      `SELECT t.run_id, t.reason FROM run_transitions t JOIN runs r ON r.id = t.run_id
        WHERE r.job_id = ANY($1) AND t.from_state IN ('offered', 'running') AND t.to_state NOT IN ('running', 'succeeded')`,
      [[long, short, cron]],
    )
  ).rows;
  const lags = (await fireRuns(db, [cron])).map((f) => f.lagMs);
  console.log(
    `clock jumps: fires made ${Math.round(Math.min(...lags))}..${Math.round(Math.max(...lags))} ms after their time on PostgreSQL's clock; ${takenBack.length} runs taken back`,
  );
  expect(takenBack).toEqual([]);
  expect(verdict.violations).toEqual([]);
  expect(line).toMatchObject({ duplicates: 0, lost: 0 });
  expect(verdict.figures.retried).toBe(0);
  expect(lags.every((l) => Math.abs(l) < FIRE_LAG_BOUND_MS)).toBe(true);
  // The long runs spanned every jump and ended once, succeeded.
  const longRuns = (await db.query<{ state: string; attempt: number }>(`SELECT state, attempt FROM runs WHERE job_id = $1`, [long])).rows;
  expect(longRuns).toEqual(Array.from({ length: 4 }, () => ({ state: 'succeeded', attempt: 1 })));
  expect(executions.every((e) => e.attempt === 1 && e.how === 'finished')).toBe(true);
});
