// Scheduler statistics, read from the runs that fires created: how many fires, how many late
// or skipped, and how late (due → queued, due → started).
import { sql } from 'kysely';
import type { Db } from './db.js';

/** A fire is late when its run was queued more than this after it was due. */
export const LATE_AFTER_MS = 1000;

export interface LatencySummary {
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

export interface SchedulerStats {
  since: string;
  until: string;
  fires: number;
  late: number;
  skipped: number;
  waiting: number;
  dueToQueued: LatencySummary;
  dueToStarted: LatencySummary;
  /** Per-bucket counts over the range, oldest first. */
  series: Array<{ at: string; fires: number; late: number; skipped: number }>;
}

const summary = (row: { p50: number | null; p90: number | null; p99: number | null; max: number | null }): LatencySummary => ({
  p50Ms: row.p50 === null ? null : Number(Number(row.p50).toFixed(1)),
  p90Ms: row.p90 === null ? null : Number(Number(row.p90).toFixed(1)),
  p99Ms: row.p99 === null ? null : Number(Number(row.p99).toFixed(1)),
  maxMs: row.max === null ? null : Number(Number(row.max).toFixed(1)),
});

/**
 * Statistics of fires due in [since, until), optionally for one job, in buckets of `bucket`;
 * only of jobs in `namespaces` unless it is 'all'.
 */
export async function schedulerStats(
  db: Db,
  since: number,
  until: number,
  bucket: 'minute' | 'hour' | 'day',
  jobId?: string,
  namespaces: readonly string[] | 'all' = 'all',
): Promise<SchedulerStats> {
  const job = jobId ?? null;
  const scoped = namespaces === 'all' ? sql`TRUE` : sql`job_id IN (SELECT id FROM jobs WHERE namespace = ANY(${[...namespaces]}::text[]))`;
  const range = sql`fire_at >= to_timestamp(${since} / 1000.0) AND fire_at < to_timestamp(${until} / 1000.0) AND (${job}::text IS NULL OR job_id = ${job}) AND ${scoped}`;
  const lateness = (col: string) => sql.raw(`EXTRACT(EPOCH FROM ${col} - fire_at) * 1000`);
  const totals = await sql<{ fires: number; late: number; skipped: number; waiting: number }>`
    SELECT count(*)::int AS fires,
           count(*) FILTER (WHERE queued_at - fire_at > make_interval(secs => ${LATE_AFTER_MS / 1000}))::int AS late,
           count(*) FILTER (WHERE state = 'skipped')::int AS skipped,
           count(*) FILTER (WHERE state = 'pending')::int AS waiting
      FROM runs WHERE ${range}`.execute(db);
  const pct = (col: string) =>
    sql<{ p50: number | null; p90: number | null; p99: number | null; max: number | null }>`
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ${lateness(col)}) AS p50,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY ${lateness(col)}) AS p90,
           percentile_cont(0.99) WITHIN GROUP (ORDER BY ${lateness(col)}) AS p99,
           max(${lateness(col)}) AS max
      FROM runs WHERE ${range} AND ${sql.raw(col)} IS NOT NULL`.execute(db);
  const [queued, started, series] = await Promise.all([
    pct('queued_at'),
    pct('started_at'),
    sql<{ at: Date; fires: number; late: number; skipped: number }>`
      SELECT date_trunc(${bucket}, fire_at) AS at, count(*)::int AS fires,
             count(*) FILTER (WHERE queued_at - fire_at > make_interval(secs => ${LATE_AFTER_MS / 1000}))::int AS late,
             count(*) FILTER (WHERE state = 'skipped')::int AS skipped
        FROM runs WHERE ${range} GROUP BY 1 ORDER BY 1 LIMIT 2000`.execute(db),
  ]);
  const t = totals.rows[0] ?? { fires: 0, late: 0, skipped: 0, waiting: 0 };
  const empty = { p50: null, p90: null, p99: null, max: null };
  return {
    since: new Date(since).toISOString(),
    until: new Date(until).toISOString(),
    ...t,
    dueToQueued: summary(queued.rows[0] ?? empty),
    dueToStarted: summary(started.rows[0] ?? empty),
    series: series.rows.map((r) => ({ at: new Date(r.at).toISOString(), fires: r.fires, late: r.late, skipped: r.skipped })),
  };
}
