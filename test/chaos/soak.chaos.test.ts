// The soak: a cluster (two coordinators, one agent, private servers) under steady cron load and
// one-off runs, with a fault every 30 s drawn (seeded) from the scenarios — the leader killed,
// the leader frozen past its lease, every coordinator down, a coordinator's clock jumping an
// hour. It lasts DROVER_SOAK_MS (60 s in the chaos suite; `npm run chaos:soak` runs 10 min) and
// checks that memory (RSS), open file descriptors and Redis keys stay flat and that the history
// holds at the end: no fire lost or doubled, every run executed once.
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ScheduleSpec } from '@drover/shared';
import { api, leaderOf, sleep, waitFor, type StartedCoordinator } from '../support/index.js';
import { startChaosCluster, type ChaosCluster } from './cluster.js';
import { openDatabase, settleAndCheck, startClusterCoordinator } from './coordinators.js';
import { databaseNow, fireRuns, lightMarkingExecutor } from './fires.js';
import { fakeClockEnv } from './libfaketime.js';
import { reportScenario } from './report.js';
import { startTraffic } from './traffic.js';

const SOAK_MS = Number(process.env.DROVER_SOAK_MS ?? 60_000);
const FAULT_EVERY_MS = Number(process.env.DROVER_SOAK_FAULT_EVERY_MS ?? 30_000);
const SEED = Number(process.env.DROVER_SOAK_SEED ?? 14);
const JOBS = 10;
const SCHEDULE: ScheduleSpec = { every: '1s', catchUp: 'all' };
const FAULTS = ['leader kill -9', 'leader frozen past its lease', 'all coordinators down', 'clock jump ±1 h'] as const;
type Fault = (typeof FAULTS)[number];

/** mulberry32: a small seeded generator, so a soak's fault sequence can be replayed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rssBytes = (pid: number): number => {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? 0) * 1024;
};
const openFds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

interface Sample {
  at: number;
  agentRss: number;
  agentFds: number;
  coordinatorRss: number;
  coordinatorFds: number;
  redisKeys: number;
}

let cluster: ChaosCluster;
let clockFile: string;
beforeAll(async () => {
  clockFile = join(tmpdir(), `drover-soak-clock-${randomBytes(4).toString('hex')}`);
  writeFileSync(clockFile, '+0\n');
  // The cluster's coordinator never sees a fault but its clock's: its memory and handles are measured.
  cluster = await startChaosCluster({ agents: 1, slots: 32, coordinatorEnv: fakeClockEnv(clockFile) });
  cluster.env.onCleanup(() => rmSync(clockFile, { force: true }));
});
afterAll(async () => cluster?.close());

it('soak: memory, handles and Redis keys flat, the history sound, through a fault every 30 s', { timeout: SOAK_MS + 240_000 }, async () => {
  const db = await openDatabase(cluster);
  let serial = 0;
  const steady = cluster.coordinator;
  const start = () => startClusterCoordinator(cluster, `coordinator-other-${++serial}`);
  let other = await start();
  const agent = cluster.agents[0]!;
  const marks = cluster.marksFile('soak');
  const jobs: string[] = [];
  for (let i = 0; i < JOBS; i++)
    jobs.push(
      await cluster.createJob(`soak-${i}`, { marks, maxAttempts: 1, extra: { executor: lightMarkingExecutor(marks), schedule: SCHEDULE } }),
    );
  const oneOff = await cluster.createJob('one-off', { marks, maxAttempts: 1, extra: { executor: lightMarkingExecutor(marks) } });
  const fromMs = (await databaseNow(db)) + 1000;
  const redis = await cluster.redis.client();
  // A run triggered every second through the steady coordinator, retried with its key when unanswered.
  const traffic = startTraffic(cluster.client, oneOff, 1000);

  const samples: Sample[] = [];
  const sample = async () =>
    samples.push({
      at: Date.now(),
      agentRss: rssBytes(agent.proc.pid),
      agentFds: openFds(agent.proc.pid),
      coordinatorRss: rssBytes(steady.proc.pid),
      coordinatorFds: openFds(steady.proc.pid),
      redisKeys: await redis.dbsize(),
    });

  const random = seeded(SEED);
  const faults: Array<{ fault: Fault; recoveryMs: number }> = [];
  const live = (): StartedCoordinator[] => [steady, other];
  const inject = async (fault: Fault): Promise<number> => {
    const t0 = Date.now();
    if (fault === 'leader kill -9' || fault === 'leader frozen past its lease') {
      // Fault the other coordinator only, so the steady one's figures span the whole soak; make it the leader first.
      if ((await leaderOf(live())) === steady) {
        process.kill(steady.proc.pid, 'SIGSTOP');
        await leaderOf([other]);
        process.kill(steady.proc.pid, 'SIGCONT');
      }
      const t1 = Date.now();
      if (fault === 'leader kill -9') {
        await other.proc.kill();
        await leaderOf([steady]);
        const took = Date.now() - t1;
        other = await start();
        return took;
      }
      process.kill(other.proc.pid, 'SIGSTOP');
      await leaderOf([steady]);
      const took = Date.now() - t1;
      await sleep(Math.max(0, 10_000 - (Date.now() - t1)));
      process.kill(other.proc.pid, 'SIGCONT');
      return took;
    }
    if (fault === 'all coordinators down') {
      // The steady one is frozen rather than stopped (its figures must span the soak): to the
      // cluster it is as gone as the other, which is killed and started again.
      await other.proc.kill();
      process.kill(steady.proc.pid, 'SIGSTOP');
      await sleep(12_000);
      const t1 = Date.now();
      process.kill(steady.proc.pid, 'SIGCONT');
      other = await start();
      await leaderOf(live());
      return Date.now() - t1;
    }
    // A clock jump on the steady coordinator: an hour ahead, then behind, then back.
    for (const offset of ['+1h', '-1h', '+0']) {
      writeFileSync(clockFile, `${offset}\n`);
      await sleep(4000);
    }
    return Date.now() - t0 - 12_000;
  };

  const soakStart = Date.now();
  let nextFault = soakStart + FAULT_EVERY_MS;
  await sample();
  while (Date.now() - soakStart < SOAK_MS) {
    if (Date.now() >= nextFault) {
      const fault = FAULTS[Math.floor(random() * FAULTS.length)]!;
      faults.push({ fault, recoveryMs: await inject(fault) });
      nextFault = Date.now() + FAULT_EVERY_MS;
    }
    await sleep(1000);
    if (samples.length === 0 || Date.now() - samples[samples.length - 1]!.at >= 5000) await sample();
  }

  const untilMs = (await databaseNow(db)) - 1000;
  await waitFor(
    async () => {
      const newest = new Map<string, number>();
      for (const r of await fireRuns(db, jobs)) newest.set(r.jobId, Math.max(newest.get(r.jobId) ?? 0, r.fireAt));
      return jobs.every((id) => (newest.get(id) ?? 0) >= untilMs) || undefined;
    },
    { description: 'every job to have its fires up to the end of the span', timeoutMs: 30_000 },
  );
  for (const id of jobs) await api(steady.url).post(`/v1/jobs/${id}/pause`);
  const figures = await traffic.stop();
  const { verdict, executions } = await settleAndCheck(cluster, marks, [...jobs, oneOff], {
    triggered: figures.triggered,
    fires: jobs.map((jobId) => ({ jobId, everyMs: 1000, fromMs, untilMs })),
  });
  if (verdict.violations.length > 0) console.log(verdict.violations.slice(0, 20).join('\n'));
  await sample();
  redis.disconnect();

  // Flat: the last sample against the one a third of the way in (after warm-up).
  const base = samples[Math.floor(samples.length / 3)]!;
  const last = samples[samples.length - 1]!;
  const mb = (b: number) => Math.round(b / 2 ** 20);
  const line = reportScenario(
    `soak ${Math.round(SOAK_MS / 60_000) >= 1 ? `${Math.round(SOAK_MS / 60_000)} min` : `${Math.round(SOAK_MS / 1000)} s`}, a fault every ${FAULT_EVERY_MS / 1000} s`,
    verdict.figures,
    faults.length > 0 ? Math.max(...faults.map((f) => f.recoveryMs)) : null,
  );
  console.log(
    JSON.stringify({
      soak: line.scenario,
      seed: SEED,
      faults,
      agentRssMb: [mb(base.agentRss), mb(last.agentRss)],
      coordinatorRssMb: [mb(base.coordinatorRss), mb(last.coordinatorRss)],
      agentFds: [base.agentFds, last.agentFds],
      coordinatorFds: [base.coordinatorFds, last.coordinatorFds],
      redisKeys: [base.redisKeys, last.redisKeys],
      triggered: figures.triggered.length,
    }),
  );
  expect(verdict.violations).toEqual([]);
  expect(line).toMatchObject({ duplicates: 0, lost: 0 });
  expect(verdict.figures.retried).toBe(0);
  expect(executions.every((e) => e.attempt === 1)).toBe(true);
  // Flat, with room for a garbage collector's mood: no growth beyond half again or 64 MB.
  for (const [what, before, after] of [
    ['agent RSS', base.agentRss, last.agentRss],
    ['coordinator RSS', base.coordinatorRss, last.coordinatorRss],
  ] as const)
    expect(after, what).toBeLessThanOrEqual(Math.max(before * 1.5, before + 64 * 2 ** 20));
  expect(last.agentFds).toBeLessThanOrEqual(base.agentFds + 16);
  expect(last.coordinatorFds).toBeLessThanOrEqual(base.coordinatorFds + 16);
  expect(last.redisKeys).toBeLessThanOrEqual(base.redisKeys + 16);
});
