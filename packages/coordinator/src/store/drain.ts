// A drain's deadline: runs still on a draining agent when it passes go back to the queue
// (the agent is asked to stop them; its later reports about them are fenced by the new token).
import { sql } from 'kysely';
import type { Db } from './db.js';

export interface TakenBackRun {
  runId: string;
  jobId: string;
  priority: number;
  token: number;
  nodeId: string;
}

/** Re-queues the live runs of draining agents whose deadline has passed. */
export async function takeBackFromDrainedAgents(db: Db, at: number): Promise<TakenBackRun[]> {
  const res = await sql<{ id: string; job_id: string; priority: number; attempt_token: number; node_id: string }>`
    WITH late AS (
      SELECT r.id, r.state, r.agent_id, a.node_id
        FROM runs r JOIN agents a ON a.id = r.agent_id
       WHERE r.state IN ('offered', 'running') AND a.state = 'draining' AND a.drain_deadline <= to_timestamp(${at} / 1000.0)
       FOR UPDATE OF r
    ), upd AS (
      -- An offer never ran: its attempt number is given back. A running attempt taken back is
      -- on record (cancelled) but does not count against the job's retries: the job did not fail.
      UPDATE runs r SET state = 'queued', agent_id = NULL, queued_at = to_timestamp(${at} / 1000.0),
             attempt = CASE WHEN late.state = 'offered' THEN r.attempt - 1 ELSE r.attempt END,
             retry_base = CASE WHEN late.state = 'running' THEN r.retry_base + 1 ELSE r.retry_base END
        FROM late WHERE r.id = late.id
      RETURNING r.id, r.job_id, r.priority, r.attempt, r.attempt_token, r.offered_at, r.started_at,
                late.state AS from_state, late.agent_id, late.node_id
    ), tr AS (
      INSERT INTO run_transitions (run_id, from_state, to_state, attempt_token, agent_id, reason, at)
      SELECT id, from_state, 'queued', attempt_token, agent_id, 'the drain deadline of agent ' || agent_id || ' passed', to_timestamp(${at} / 1000.0)
        FROM upd
    ), att AS (
      INSERT INTO run_attempts (run_id, attempt, attempt_token, agent_id, outcome, offered_at, started_at, finished_at, error, retry_at)
      SELECT id, attempt, attempt_token, agent_id, 'cancelled', offered_at, started_at, to_timestamp(${at} / 1000.0),
             'taken back: the drain deadline of agent ' || agent_id || ' passed', to_timestamp(${at} / 1000.0)
        FROM upd WHERE from_state = 'running'
      ON CONFLICT DO NOTHING
    )
    SELECT id, job_id, priority, attempt_token, node_id FROM upd`.execute(db);
  return res.rows.map((r) => ({ runId: r.id, jobId: r.job_id, priority: r.priority, token: Number(r.attempt_token), nodeId: r.node_id }));
}
