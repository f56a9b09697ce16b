// Runs on agents that went `down` are lost: their attempt ends `lost` and, while the run has
// attempts left, it goes straight back to the queue (the next offer gives it a new attempt
// token, so anything the silent agent says about the old attempt later is fenced).
import { sql } from 'kysely';
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

/** Ends the running attempts of every `down` or `gone` agent; returns what it did. */
export async function loseRunsOfDownAgents(db: Db, at: number, retries = DEFAULT_LOST_RETRIES): Promise<LostRun[]> {
  const res = await sql<{ id: string; job_id: string; priority: number; agent_id: string; requeued: boolean }>`
    WITH lost AS (
      -- Attempts refused or never taken up do not count: only earlier losses do.
      SELECT r.id, r.agent_id, r.attempt, r.attempt_token,
             (SELECT count(*) FROM run_transitions t WHERE t.run_id = r.id AND t.to_state = 'lost') < ${retries} AS retry
        FROM runs r JOIN agents a ON a.id = r.agent_id
       WHERE r.state = 'running' AND a.state IN ('down', 'gone')
       FOR UPDATE OF r
    ), upd AS (
      UPDATE runs r SET
        state = CASE WHEN lost.retry THEN 'queued' ELSE 'lost' END,
        queued_at = CASE WHEN lost.retry THEN to_timestamp(${at} / 1000.0) ELSE r.queued_at END,
        finished_at = CASE WHEN lost.retry THEN NULL ELSE to_timestamp(${at} / 1000.0) END,
        agent_id = CASE WHEN lost.retry THEN NULL ELSE r.agent_id END,
        error = 'agent ' || lost.agent_id || ' stopped heartbeating while running attempt ' || lost.attempt
      FROM lost WHERE r.id = lost.id
      RETURNING r.id, r.job_id, r.priority, lost.agent_id, lost.attempt, lost.attempt_token, r.state = 'queued' AS requeued
    ), tr AS (
      INSERT INTO run_transitions (run_id, from_state, to_state, attempt_token, agent_id, reason, at)
      SELECT id, 'running', 'lost', attempt_token, agent_id, 'agent stopped heartbeating', to_timestamp(${at} / 1000.0) FROM upd
      UNION ALL
      SELECT id, 'lost', 'queued', attempt_token, NULL,
             'retrying a run lost with its agent (attempt ' || (attempt + 1) || ')', to_timestamp(${at} / 1000.0)
        FROM upd WHERE requeued
    )
    SELECT id, job_id, priority, agent_id, requeued FROM upd`.execute(db);
  return res.rows.map((r) => ({ runId: r.id, jobId: r.job_id, priority: r.priority, agentId: r.agent_id, requeued: r.requeued }));
}

/**
 * Ends attempts an agent was running but no longer holds (it restarted, or lost them): each
 * becomes `lost` and, the first time, queued again. Guarded by token and state, so an attempt
 * that reported meanwhile is left alone.
 */
export async function loseUnheldAttempts(
  db: Db,
  agentId: string,
  attempts: ReadonlyArray<{ runId: string; token: number }>,
  at: number,
  retries = DEFAULT_LOST_RETRIES,
): Promise<LostRun[]> {
  if (attempts.length === 0) return [];
  const input = JSON.stringify(attempts.map((a) => ({ id: a.runId, token: a.token })));
  const res = await sql<{ id: string; job_id: string; priority: number; requeued: boolean }>`
    WITH input AS (SELECT * FROM jsonb_to_recordset(${input}::jsonb) AS x(id text, token bigint)),
    lost AS (
      SELECT r.id, r.attempt, r.attempt_token,
             (SELECT count(*) FROM run_transitions t WHERE t.run_id = r.id AND t.to_state = 'lost') < ${retries} AS retry
        FROM runs r JOIN input i ON i.id = r.id AND i.token = r.attempt_token
       WHERE r.state = 'running' AND r.agent_id = ${agentId}
       FOR UPDATE OF r
    ), upd AS (
      UPDATE runs r SET
        state = CASE WHEN lost.retry THEN 'queued' ELSE 'lost' END,
        queued_at = CASE WHEN lost.retry THEN to_timestamp(${at} / 1000.0) ELSE r.queued_at END,
        finished_at = CASE WHEN lost.retry THEN NULL ELSE to_timestamp(${at} / 1000.0) END,
        agent_id = CASE WHEN lost.retry THEN NULL ELSE r.agent_id END,
        error = 'agent ' || ${agentId} || ' no longer holds attempt ' || lost.attempt || ' (it restarted or lost it)'
      FROM lost WHERE r.id = lost.id
      RETURNING r.id, r.job_id, r.priority, lost.attempt, lost.attempt_token, r.state = 'queued' AS requeued
    ), tr AS (
      INSERT INTO run_transitions (run_id, from_state, to_state, attempt_token, agent_id, reason, at)
      SELECT id, 'running', 'lost', attempt_token, ${agentId}, 'the agent no longer holds the attempt', to_timestamp(${at} / 1000.0) FROM upd
      UNION ALL
      SELECT id, 'lost', 'queued', attempt_token, NULL, 'retrying a lost run (attempt ' || (attempt + 1) || ')', to_timestamp(${at} / 1000.0)
        FROM upd WHERE requeued
    )
    SELECT id, job_id, priority, requeued FROM upd`.execute(db);
  return res.rows.map((r) => ({ runId: r.id, jobId: r.job_id, priority: r.priority, agentId, requeued: r.requeued }));
}
