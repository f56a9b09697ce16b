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
      UPDATE runs r SET state = 'queued', agent_id = NULL, queued_at = to_timestamp(${at} / 1000.0)
        FROM late WHERE r.id = late.id
      RETURNING r.id, r.job_id, r.priority, r.attempt_token, late.state AS from_state, late.agent_id, late.node_id
    ), tr AS (
      INSERT INTO run_transitions (run_id, from_state, to_state, attempt_token, agent_id, reason, at)
      SELECT id, from_state, 'queued', attempt_token, agent_id, 'the drain deadline of agent ' || agent_id || ' passed', to_timestamp(${at} / 1000.0)
        FROM upd
    )
    SELECT id, job_id, priority, attempt_token, node_id FROM upd`.execute(db);
  return res.rows.map((r) => ({ runId: r.id, jobId: r.job_id, priority: r.priority, token: Number(r.attempt_token), nodeId: r.node_id }));
}
