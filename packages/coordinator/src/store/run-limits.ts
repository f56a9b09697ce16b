// The time limits the coordinator enforces itself (the agent enforces `timeout`):
// - expectedRunTime: an attempt running longer records a violation (once per attempt) and
//   fires `on_violation` actions; the run goes on.
// - maxQueueTime: a run waiting in the queue longer ends `expired`, saying what it waited for.
// Both are one guarded statement each, cheap enough for a sweep every second: they read
// through the partial indexes on running and queued runs.
import { sql } from 'kysely';
import type { Db } from './db.js';
import { recordActions } from './run-changes.js';

/** Records a violation on every running attempt past its job's expectedRunTime; returns them and the actions recorded. */
export async function markViolations(db: Db, at: number): Promise<{ runs: string[]; actions: number }> {
  const res = await sql<{ id: string; actions: number }>`
    WITH late AS (
      SELECT r.id, j.expected_run_ms FROM runs r JOIN jobs j ON j.id = r.job_id
       WHERE r.state = 'running' AND r.violated_at IS NULL AND j.expected_run_ms IS NOT NULL
         AND r.started_at < to_timestamp(${at} / 1000.0) - make_interval(secs => j.expected_run_ms / 1000.0)
       FOR UPDATE OF r SKIP LOCKED
    ), upd AS (
      UPDATE runs r SET violated_at = to_timestamp(${at} / 1000.0) FROM late
       WHERE r.id = late.id AND r.state = 'running' AND r.violated_at IS NULL
      RETURNING r.id, r.job_id, r.attempt, r.attempt_token, r.agent_id, late.expected_run_ms, '["on_violation"]'::jsonb AS triggers
    ), tr AS (
      INSERT INTO run_transitions (run_id, from_state, to_state, attempt_token, agent_id, reason, at)
      SELECT id, 'running', 'running', attempt_token, agent_id,
             'violation: attempt ' || attempt || ' is running past its expected run time of ' || round(expected_run_ms / 1000.0, 3)::float8 || 's',
             to_timestamp(${at} / 1000.0)
        FROM upd
    ), act AS (${recordActions(sql`SELECT id, job_id, attempt, attempt_token, triggers FROM upd`)})
    SELECT id, (SELECT count(*) FROM act)::int AS actions FROM upd`.execute(db);
  return { runs: res.rows.map((r) => r.id), actions: res.rows[0]?.actions ?? 0 };
}

/** Ends queued runs that waited past their job's maxQueueTime; returns them (to drop from the ready queue). */
export async function expireQueuedRuns(db: Db, at: number): Promise<{ runs: Array<{ runId: string; jobId: string }>; actions: number }> {
  const res = await sql<{ id: string; job_id: string; actions: number }>`
    WITH late AS (
      SELECT r.id, j.max_queue_ms, r.queue_reason FROM runs r JOIN jobs j ON j.id = r.job_id
       WHERE r.state = 'queued' AND j.max_queue_ms IS NOT NULL
         AND r.queued_at < to_timestamp(${at} / 1000.0) - make_interval(secs => j.max_queue_ms / 1000.0)
       FOR UPDATE OF r SKIP LOCKED
    ), upd AS (
      UPDATE runs r SET state = 'expired', finished_at = to_timestamp(${at} / 1000.0),
             error = 'waited longer than its maxQueueTime of ' || round(late.max_queue_ms / 1000.0, 3)::float8 || 's for an agent'
                     || COALESCE(': ' || late.queue_reason, '')
        FROM late WHERE r.id = late.id AND r.state = 'queued'
      RETURNING r.id, r.job_id, r.attempt, r.attempt_token, r.error, '["on_failure"]'::jsonb AS triggers
    ), tr AS (
      INSERT INTO run_transitions (run_id, from_state, to_state, attempt_token, reason, at)
      SELECT id, 'queued', 'expired', attempt_token, error, to_timestamp(${at} / 1000.0) FROM upd
    ), act AS (${recordActions(sql`SELECT id, job_id, attempt, attempt_token, triggers FROM upd`)})
    SELECT id, job_id, (SELECT count(*) FROM act)::int AS actions FROM upd`.execute(db);
  return { runs: res.rows.map((r) => ({ runId: r.id, jobId: r.job_id })), actions: res.rows[0]?.actions ?? 0 };
}

/** When the next violation or expiry is due among runs that exist now (ms), or null. */
export async function nextLimitDue(db: Db): Promise<number | null> {
  const res = await sql<{ at: Date | null }>`
    SELECT least(
      (SELECT min(r.started_at + make_interval(secs => j.expected_run_ms / 1000.0)) FROM runs r JOIN jobs j ON j.id = r.job_id
        WHERE r.state = 'running' AND r.violated_at IS NULL AND j.expected_run_ms IS NOT NULL),
      (SELECT min(r.queued_at + make_interval(secs => j.max_queue_ms / 1000.0)) FROM runs r JOIN jobs j ON j.id = r.job_id
        WHERE r.state = 'queued' AND j.max_queue_ms IS NOT NULL)
    ) AS at`.execute(db);
  return res.rows[0]?.at?.getTime() ?? null;
}
