// Cancelling runs in the records: each statement locks the runs it changes and records their
// transitions with them. ops/cancel-runs.ts and ops/cancel-job-runs.ts then tidy the queue and
// ask agents to stop.
import { sql } from 'kysely';
import type { Db } from './db.js';

/** A run the cancel statement changed, with the state it found it in. */
export interface CancelledRow {
  id: string;
  job_id: string;
  from_state: string;
  agent_id: string | null;
  attempt_token: number;
}

/**
 * Cancels these runs by the state each is found in under its row lock: one not on an agent ends
 * `cancelled` at `at`; a running one is only marked cancel-requested (its agent ends it).
 */
export async function cancelRunRecords(db: Db, runIds: readonly string[], reason: string, at: number): Promise<CancelledRow[]> {
  const res = await sql<CancelledRow>`
    WITH old AS (
      SELECT id, state FROM runs
       WHERE id = ANY(${[...runIds]}::text[]) AND state IN ('pending', 'queued', 'offered', 'retrying', 'running')
       FOR UPDATE
    ), upd AS (
      UPDATE runs r SET
        state = CASE WHEN old.state = 'running' THEN r.state ELSE 'cancelled' END,
        finished_at = CASE WHEN old.state = 'running' THEN r.finished_at ELSE to_timestamp(${at} / 1000.0) END,
        error = CASE WHEN old.state = 'running' THEN r.error ELSE ${reason} END,
        cancel_requested_at = CASE WHEN old.state = 'running' THEN COALESCE(r.cancel_requested_at, to_timestamp(${at} / 1000.0))
                                   ELSE r.cancel_requested_at END
        FROM old WHERE r.id = old.id
      RETURNING r.id, r.job_id, old.state AS from_state, r.agent_id, r.attempt_token
    ), tr AS (
      INSERT INTO run_transitions (run_id, from_state, to_state, attempt_token, agent_id, reason, at)
      SELECT id, from_state, CASE WHEN from_state = 'running' THEN 'running' ELSE 'cancelled' END, attempt_token, agent_id,
             CASE WHEN from_state = 'running' THEN 'cancel requested: ' || ${reason} ELSE ${reason} END, to_timestamp(${at} / 1000.0)
        FROM upd
    )
    SELECT * FROM upd`.execute(db);
  return res.rows;
}

/** queued → cancelled for every queued run of a job; returns their ids. */
export async function cancelQueuedRunRecords(db: Db, jobId: string, reason: string, at: number): Promise<string[]> {
  const res = await sql<{ id: string }>`
    WITH upd AS (
      UPDATE runs SET state = 'cancelled', finished_at = to_timestamp(${at} / 1000.0), error = ${reason}
       WHERE job_id = ${jobId} AND state = 'queued'
      RETURNING id, attempt_token
    ), tr AS (
      INSERT INTO run_transitions (run_id, from_state, to_state, attempt_token, reason, at)
      SELECT id, 'queued', 'cancelled', attempt_token, ${reason}, to_timestamp(${at} / 1000.0) FROM upd
    )
    SELECT id FROM upd`.execute(db);
  return res.rows.map((r) => r.id);
}
