// Schedule fires as PostgreSQL recorded them, held against the fires each schedule asked for:
// a fire is lost when no run records it, doubled when two do or when its run executed twice.
// The expected fires come from the product's own schedule arithmetic (compileSchedule), so a
// cron expression, an interval and a catch-up window are judged by one definition.
import { compileSchedule, firesBetween, type ScheduleSpec } from '@drover/shared';
import type pg from 'pg';
import type { MarkedExecution } from './marks.js';

/** A chaos executor (marks.ts's lines) that ends at once, with one fork: for fifty fires a second. */
export function lightMarkingExecutor(marks: string): { type: 'exec'; command: string[] } {
  const script = [
    `t=$(date +%s%N)`,
    `echo "start $DROVER_RUN_ID $DROVER_ATTEMPT $t" >> '${marks}'`,
    `echo "finished $DROVER_RUN_ID $DROVER_ATTEMPT $t" >> '${marks}'`,
  ].join('\n');
  return { type: 'exec', command: ['sh', '-c', script] };
}

export interface FireRow {
  id: string;
  jobId: string;
  fireAt: number;
  state: string;
  attempt: number;
  reason: string | null;
  /** How long after its fire time the run was created (ms, on PostgreSQL's clock). */
  lagMs: number;
}

/** Every run of `jobIds` made by a schedule, with its fire time (epoch ms). */
export async function fireRuns(db: pg.Client, jobIds: readonly string[]): Promise<FireRow[]> {
  const { rows } = await db.query<{
    id: string;
    job_id: string;
    fire: string;
    state: string;
    attempt: number;
    reason: string | null;
    lag: number;
  }>(
    `SELECT id, job_id, (extract(epoch FROM fire_at) * 1000)::bigint::text AS fire, state, attempt,
            coalesce(skip_reason, queue_reason) AS reason, (extract(epoch FROM created_at - fire_at) * 1000)::float8 AS lag
       FROM runs WHERE job_id = ANY($1) AND fire_at IS NOT NULL ORDER BY fire_at`,
    [jobIds],
  );
  return rows.map((r) => ({
    id: r.id,
    jobId: r.job_id,
    fireAt: Number(r.fire),
    state: r.state,
    attempt: r.attempt,
    reason: r.reason,
    lagMs: Number(r.lag),
  }));
}

export interface FireAudit {
  /** Fires the schedules asked for in the audited span. */
  expected: number;
  /** Fires with no run. */
  lost: Array<{ jobId: string; fireAt: number }>;
  /** Fires with more than one run, or whose run executed more than once. */
  doubled: Array<{ jobId: string; fireAt: number; runs: number; executions: number }>;
  /** Runs of the span that ran (not skipped) but never executed. */
  unexecuted: FireRow[];
  /** Runs of the span that ran (not recorded as skipped). */
  ran: FireRow[];
  skipped: FireRow[];
}

/**
 * Checks every fire of each job in (`fromMs`, `untilMs`] on the schedule's own arithmetic:
 * exactly one run per fire, and each run that was not skipped executed exactly once.
 */
export function auditFires(
  jobs: ReadonlyArray<{ id: string; schedule: ScheduleSpec }>,
  runs: readonly FireRow[],
  executions: readonly MarkedExecution[],
  fromMs: number,
  untilMs: number,
): FireAudit {
  const executed = new Map<string, number>();
  for (const e of executions) executed.set(e.runId, (executed.get(e.runId) ?? 0) + 1);
  const audit: FireAudit = { expected: 0, lost: [], doubled: [], unexecuted: [], ran: [], skipped: [] };
  for (const job of jobs) {
    const fires = firesBetween(compileSchedule(job.schedule), fromMs, untilMs, 100_000);
    audit.expected += fires.length;
    const byFire = new Map<number, FireRow[]>();
    for (const r of runs) if (r.jobId === job.id) byFire.set(r.fireAt, [...(byFire.get(r.fireAt) ?? []), r]);
    for (const fireAt of fires) {
      const rows = byFire.get(fireAt) ?? [];
      if (rows.length === 0) audit.lost.push({ jobId: job.id, fireAt });
      const ran = rows.filter((r) => r.state !== 'skipped');
      audit.ran.push(...ran);
      audit.skipped.push(...rows.filter((r) => r.state === 'skipped'));
      const times = ran.reduce((n, r) => n + (executed.get(r.id) ?? 0), 0);
      if (rows.length > 1 || times > ran.length) audit.doubled.push({ jobId: job.id, fireAt, runs: rows.length, executions: times });
      audit.unexecuted.push(...ran.filter((r) => !executed.has(r.id)));
    }
  }
  return audit;
}

/** PostgreSQL's clock (epoch ms): the cluster's one clock, which schedules follow. */
export async function databaseNow(db: pg.Client): Promise<number> {
  const { rows } = await db.query<{ ms: string }>(`SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint::text AS ms`);
  return Number(rows[0]!.ms);
}
