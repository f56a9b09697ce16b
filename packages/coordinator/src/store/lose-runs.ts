// Runs whose agent can no longer be running them are lost: the agent went `down`, or it came
// back without them (it restarted faster than it could be declared down). Their attempt ends
// `lost` and, while the run has retries left, it goes straight back to the queue; the next
// offer gives it a new attempt token, so anything the agent says about the old one is fenced.
import { sql, type RawBuilder } from 'kysely';
import type { Db } from './db.js';

/** A run lost with its agent is retried once by default. */
export const DEFAULT_LOST_RETRIES = 1;

export interface LostRun {
  runId: string;
  jobId: string;
  priority: number;
  agentId: string;
  /** True when the run went back to the queue; false when it ended `lost`. */
  requeued: boolean;
}

/**
 * Loses the running attempts `candidates` selects (`id, agent_id, attempt, attempt_token` of
 * runs, locked FOR UPDATE), saying `why` in each run's error and transition.
 */
async function loseAttempts(db: Db, candidates: RawBuilder<unknown>, why: string, at: number, retries: number): Promise<LostRun[]> {
  const res = await sql<{ id: string; job_id: string; priority: number; agent_id: string; requeued: boolean }>`
    WITH candidates AS (${candidates}),
    lost AS (
      -- Attempts refused or never taken up do not count against the retries: only earlier losses do.
      SELECT c.*, (SELECT count(*) FROM run_transitions t WHERE t.run_id = c.id AND t.to_state = 'lost') < ${retries} AS retry
        FROM candidates c
    ), upd AS (
      UPDATE runs r SET
        state = CASE WHEN lost.retry THEN 'queued' ELSE 'lost' END,
        queued_at = CASE WHEN lost.retry THEN to_timestamp(${at} / 1000.0) ELSE r.queued_at END,
        finished_at = CASE WHEN lost.retry THEN NULL ELSE to_timestamp(${at} / 1000.0) END,
        agent_id = CASE WHEN lost.retry THEN NULL ELSE r.agent_id END,
        error = 'agent ' || lost.agent_id || ' ' || ${why} || ' (attempt ' || lost.attempt || ')'
      FROM lost WHERE r.id = lost.id AND r.state = 'running'
      RETURNING r.id, r.job_id, r.priority, lost.agent_id, lost.attempt, lost.attempt_token, r.state = 'queued' AS requeued
    ), tr AS (
      INSERT INTO run_transitions (run_id, from_state, to_state, attempt_token, agent_id, reason, at)
      SELECT id, 'running', 'lost', attempt_token, agent_id, ${why}, to_timestamp(${at} / 1000.0) FROM upd
      UNION ALL
      SELECT id, 'lost', 'queued', attempt_token, NULL, 'retrying a run lost with its agent (attempt ' || (attempt + 1) || ')', to_timestamp(${at} / 1000.0)
        FROM upd WHERE requeued
    )
    SELECT id, job_id, priority, agent_id, requeued FROM upd`.execute(db);
  return res.rows.map((r) => ({ runId: r.id, jobId: r.job_id, priority: r.priority, agentId: r.agent_id, requeued: r.requeued }));
}

/** Ends the running attempts of every `down` or `gone` agent; returns what it did. */
export async function loseRunsOfDownAgents(db: Db, at: number, retries = DEFAULT_LOST_RETRIES): Promise<LostRun[]> {
  const candidates = sql`
    SELECT r.id, r.agent_id, r.attempt, r.attempt_token
      FROM runs r JOIN agents a ON a.id = r.agent_id
     WHERE r.state = 'running' AND a.state IN ('down', 'gone')
     FOR UPDATE OF r`;
  return loseAttempts(db, candidates, 'stopped heartbeating', at, retries);
}

/** Ends attempts an agent was running but no longer holds (guarded by token and state). */
export async function loseUnheldAttempts(
  db: Db,
  agentId: string,
  attempts: ReadonlyArray<{ runId: string; token: number }>,
  at: number,
  retries = DEFAULT_LOST_RETRIES,
): Promise<LostRun[]> {
  if (attempts.length === 0) return [];
  const input = JSON.stringify(attempts.map((a) => ({ id: a.runId, token: a.token })));
  const candidates = sql`
    SELECT r.id, r.agent_id, r.attempt, r.attempt_token
      FROM runs r JOIN jsonb_to_recordset(${input}::jsonb) AS i(id text, token bigint) ON i.id = r.id AND i.token = r.attempt_token
     WHERE r.state = 'running' AND r.agent_id = ${agentId}
     FOR UPDATE OF r`;
  return loseAttempts(db, candidates, 'no longer holds the attempt (it restarted or lost it)', at, retries);
}
