// A retry by hand (POST /v1/runs/{id}/retry, or replaying a dead letter): a finished run goes
// back to the queue for one more attempt, with a fresh retry budget (its policy's attempts are
// counted from here). Its earlier attempts stay on record; its dead letter, if any, is resolved.
import { sql } from 'kysely';
import { TERMINAL_RUN_STATES } from '@drover/shared';
import type { Db } from './db.js';

export interface RequeuedRun {
  runId: string;
  jobId: string;
  priority: number;
}

/** Requeues the finished runs among `runIds` whose job still exists; returns them. */
export async function requeueFinishedRuns(db: Db, runIds: readonly string[], at: number, why: string): Promise<RequeuedRun[]> {
  if (runIds.length === 0) return [];
  const res = await sql<{ id: string; job_id: string; priority: number }>`
    WITH old AS (
      SELECT r.id, r.state FROM runs r JOIN jobs j ON j.id = r.job_id AND j.deleted_at IS NULL
       WHERE r.id = ANY(${[...runIds]}::text[]) AND r.state = ANY(${[...TERMINAL_RUN_STATES]}::text[])
       FOR UPDATE OF r
    ), upd AS (
      -- A new token: events of the run from here on are new ones (the actions' unique key).
      UPDATE runs r SET state = 'queued', queued_at = to_timestamp(${at} / 1000.0), retry_base = r.attempt,
             attempt_token = r.attempt_token + 1,
             finished_at = NULL, not_before = NULL, agent_id = NULL, queue_reason = NULL, cancel_requested_at = NULL
        FROM old WHERE r.id = old.id
      RETURNING r.id, r.job_id, r.priority, r.attempt_token, old.state AS from_state
    ), tr AS (
      INSERT INTO run_transitions (run_id, from_state, to_state, attempt_token, reason, at)
      SELECT id, from_state, 'queued', attempt_token, ${why}, to_timestamp(${at} / 1000.0) FROM upd
    ), dl AS (
      UPDATE dead_letters d SET resolved_at = to_timestamp(${at} / 1000.0), resolution = 'replayed'
        FROM upd WHERE d.run_id = upd.id AND d.resolved_at IS NULL
    )
    SELECT id, job_id, priority FROM upd`.execute(db);
  return res.rows.map((r) => ({ runId: r.id, jobId: r.job_id, priority: r.priority }));
}
