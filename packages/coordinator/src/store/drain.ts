// A drain's deadline: runs still on a draining agent when it passes go back to the queue
// (the agent is asked to stop them; its later reports about them are fenced by the new token).
// A run someone was cancelling ends `cancelled` instead.
import { sql } from 'kysely';
import type { Db } from './db.js';

export interface TakenBackRun {
  runId: string;
  jobId: string;
  priority: number;
  token: number;
  nodeId: string;
  /** False for a run that ended `cancelled` (a cancel was pending) instead of going back to the queue. */
  requeued: boolean;
}

/** Re-queues the live runs of draining agents whose deadline has passed. */
export async function takeBackFromDrainedAgents(db: Db, at: number): Promise<TakenBackRun[]> {
  const res = await sql<{ id: string; job_id: string; priority: number; attempt_token: number; node_id: string; state: string }>`
    WITH late AS (
      SELECT r.id, r.state, r.agent_id, a.node_id, (r.state = 'running' AND r.cancel_requested_at IS NOT NULL) AS cancel
        FROM runs r JOIN agents a ON a.id = r.agent_id
       WHERE r.state IN ('offered', 'running') AND a.state = 'draining' AND a.drain_deadline <= to_timestamp(${at} / 1000.0)
       FOR UPDATE OF r
    ), upd AS (
      -- An offer never ran: its attempt number is given back. A running attempt taken back is
      -- on record (cancelled) but does not count against the job's retries: the job did not fail.
      UPDATE runs r SET state = CASE WHEN late.cancel THEN 'cancelled' ELSE 'queued' END,
             agent_id = CASE WHEN late.cancel THEN r.agent_id END,
             queued_at = CASE WHEN late.cancel THEN r.queued_at ELSE to_timestamp(${at} / 1000.0) END,
             finished_at = CASE WHEN late.cancel THEN to_timestamp(${at} / 1000.0) END,
             attempt = CASE WHEN late.state = 'offered' THEN r.attempt - 1 ELSE r.attempt END,
             retry_base = CASE WHEN late.state = 'running' THEN r.retry_base + 1 ELSE r.retry_base END
        FROM late WHERE r.id = late.id
      RETURNING r.id, r.job_id, r.priority, r.attempt, r.attempt_token, r.offered_at, r.started_at, r.state,
                late.state AS from_state, late.agent_id, late.node_id
    ), tr AS (
      INSERT INTO run_transitions (run_id, from_state, to_state, attempt_token, agent_id, reason, at)
      SELECT id, from_state, state, attempt_token, agent_id,
             CASE WHEN state = 'cancelled' THEN 'the drain deadline of agent ' || agent_id || ' passed while the run was being cancelled'
                  ELSE 'the drain deadline of agent ' || agent_id || ' passed' END,
             to_timestamp(${at} / 1000.0)
        FROM upd
    ), gone AS (
      -- An offer taken back gives its number to the next attempt: drop any output reported for it.
      DELETE FROM run_logs l USING upd WHERE upd.from_state = 'offered' AND l.run_id = upd.id AND l.attempt = upd.attempt + 1
    ), att AS (
      INSERT INTO run_attempts (run_id, attempt, attempt_token, agent_id, outcome, offered_at, started_at, finished_at, error, retry_at)
      SELECT id, attempt, attempt_token, agent_id, 'cancelled', offered_at, started_at, to_timestamp(${at} / 1000.0),
             'taken back: the drain deadline of agent ' || agent_id || ' passed',
             CASE WHEN state = 'queued' THEN to_timestamp(${at} / 1000.0) END
        FROM upd WHERE from_state = 'running'
      ON CONFLICT DO NOTHING
    )
    SELECT id, job_id, priority, attempt_token, node_id, state FROM upd`.execute(db);
  return res.rows.map((r) => ({
    runId: r.id,
    jobId: r.job_id,
    priority: r.priority,
    token: Number(r.attempt_token),
    nodeId: r.node_id,
    requeued: r.state === 'queued',
  }));
}
