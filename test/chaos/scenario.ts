// The course of every chaos scenario: traffic (a triggered run every second and a job every 2 s
// on a schedule, catching up on what it missed), a fault dealt mid-traffic, a probe run when it
// ends, more traffic, then the schedule removed, the traffic stopped and every run awaited; the
// history is read and checked, and the scenario's line of figures reported. The scenario's own
// test asserts on what it returns.
import { sleep } from '../support/index.js';
import type { ChaosCluster } from './cluster.js';
import { checkHistory, type History, type Verdict } from './history.js';
import { watchKilled, withKilledEnds, type MarkedExecution } from './marks.js';
import { readHistory } from './read-history.js';
import { recoveryMs, reportScenario, type ScenarioLine } from './report.js';
import { startTraffic, type TrafficFigures } from './traffic.js';

const CRON_EVERY_MS = 2000;

export interface ScenarioCourse {
  /** The name in the figures and the table of docs/chaos.md. */
  name: string;
  /** Deals the fault and resolves when it ends (its end: the moment recovery is counted from). */
  fault: (cluster: ChaosCluster) => Promise<void>;
  /** The jobs' disconnect rule (default: the job default). */
  disconnect?: { mode: 'stop' | 'keep'; after?: string };
  /** Traffic before the fault (default 6 s) and after it ends (default 10 s). */
  beforeMs?: number;
  afterMs?: number;
  /** How long each triggered execution sleeps (default 4 s). */
  seconds?: number;
}

export interface ScenarioResult {
  verdict: Verdict;
  executions: MarkedExecution[];
  traffic: TrafficFigures;
  line: ScenarioLine;
  faultEndMs: number;
  probe: string;
  marks: string;
  jobs: { triggered: string; scheduled: string };
}

/** Runs one scenario's course on `cluster`; see the file comment. */
export async function runScenario(cluster: ChaosCluster, course: ScenarioCourse): Promise<ScenarioResult> {
  const extra = course.disconnect ? { disconnect: course.disconnect } : {};
  const marks = cluster.marksFile(course.name);
  const slug = course.name.replace(/[^a-z0-9-]+/gi, '-');
  const triggered = await cluster.createJob(`${slug}-triggered`, { marks, seconds: course.seconds ?? 4, extra });
  const scheduledAt = Date.now();
  const scheduled = await cluster.createJob(`${slug}-scheduled`, {
    marks,
    seconds: 2,
    extra: { ...extra, schedule: { every: `${CRON_EVERY_MS / 1000}s`, catchUp: 'all', catchUpWindow: '10m' } },
  });
  const killed = watchKilled(marks);
  const traffic = startTraffic(cluster.client, triggered, 1000);
  await sleep(course.beforeMs ?? 6000);
  await course.fault(cluster);
  const faultEndMs = Date.now();
  const probe = await traffic.probe();
  await sleep(course.afterMs ?? 10_000);

  const stopAt = Date.now();
  const unscheduled = await cluster.client.patch(`/v1/jobs/${scheduled}`, { schedule: null });
  if (unscheduled.status !== 200) throw new Error(`removing the schedule: ${unscheduled.status} ${JSON.stringify(unscheduled.body)}`);
  const figures = await traffic.stop();
  await cluster.settle(marks);

  const read = await readHistory(cluster.env.databaseUrl, marks, [triggered, scheduled]);
  const history = { ...read, executions: withKilledEnds(read.executions, killed.stop()) };
  const verdict = checkHistory(history, {
    triggered: [...figures.triggered, probe],
    // The first fire after the job existed, to the last one surely due before its schedule was removed.
    fires: [{ jobId: scheduled, everyMs: CRON_EVERY_MS, fromMs: scheduledAt + CRON_EVERY_MS, untilMs: stopAt - 2 * CRON_EVERY_MS }],
    maxAttempts: cluster.maxAttempts,
  });
  if (verdict.violations.length > 0) console.log(explain(history, verdict.violations));
  const line = reportScenario(course.name, verdict.figures, recoveryMs(history.executions, faultEndMs, probe));
  return { verdict, executions: history.executions, traffic: figures, line, faultEndMs, probe, marks, jobs: { triggered, scheduled } };
}

/** The history of each run a violation names: what a failing scenario prints to be understood. */
function explain(history: History, violations: readonly string[]): string {
  const named = new Set(violations.flatMap((v) => /^run (\S+):/.exec(v)?.[1] ?? []));
  const at = (ms: number | undefined) => (ms === undefined ? '…' : new Date(ms).toISOString().slice(11, 23));
  return [...named]
    .map((id) => {
      const steps = history.transitions
        .filter((t) => t.runId === id)
        .map((t) => `  ${t.from ?? '(new)'} → ${t.to} [token ${t.token}] ${t.reason ?? ''}`);
      const runs = history.executions
        .filter((e) => e.runId === id)
        .map((e) => `  attempt ${e.attempt} pid ${e.pid}: ${at(e.startMs)} – ${at(e.endMs)} ${e.how ?? ''}`);
      return [`run ${id}:`, ...steps, ...runs].join('\n');
    })
    .join('\n');
}
