// queued → offered for a whole dispatch batch, in one statement. The new attempt token is
// what the agent must quote from now on; anything quoting an older one is fenced.
// Offers commit asynchronously: a lost offer leaves the run queued and the reconciler redoes it.
// The setting is local to the transaction, so no session state is assumed (PgBouncer in
// transaction mode hands each transaction any server connection).
import { sql } from 'kysely';
import type { Db } from './db.js';

export interface OfferedRun {
  runId: string;
  jobId: string;
  agentId: string;
  token: number;
  attempt: number;
  parameters: Record<string, string>;
  /** When the run was queued (epoch ms): the offer ends its wait. */
  queuedAt: number;
}

/** A run to offer to an agent. */
export interface Assignment {
  runId: string;
  agentId: string;
  /** The job's disconnect rule as a silence (see redispatchAfterSilenceMs); null or absent: `keep`. */
  redispatchAfterSilenceMs?: number | null;
}

/**
 * Marks runs offered to the given agents, bumping attempt and token, and records the
 * transitions. Only runs still `queued` are taken (guarded update): a run cancelled or
 * already offered by another dispatcher is simply not returned.
 */
export async function markOffered(db: Db, assignments: Assignment[], at: number): Promise<OfferedRun[]> {
  if (assignments.length === 0) return [];
  const input = JSON.stringify(assignments.map((a) => ({ id: a.runId, agent: a.agentId, silence: a.redispatchAfterSilenceMs ?? null })));
  const res = await db.transaction().execute(async (tx) => {
    await sql`SET LOCAL synchronous_commit = off`.execute(tx);
    return sql<{
      id: string;
      job_id: string;
      agent_id: string;
      attempt_token: number;
      attempt: number;
      parameters: Record<string, string>;
      queued_at: Date | null;
    }>`
    WITH input AS (
      SELECT * FROM jsonb_to_recordset(${input}::jsonb) AS x(id text, agent text, silence integer)
    ), upd AS (
      UPDATE runs r
         SET state = 'offered', agent_id = i.agent, redispatch_after_silence_ms = i.silence, attempt = r.attempt + 1, attempt_token = r.attempt_token + 1,
             offered_at = to_timestamp(${at} / 1000.0), queue_reason = NULL,
             -- A new attempt starts clean; what earlier attempts did stays in run_transitions.
             started_at = NULL, finished_at = NULL, exit_code = NULL, signal = NULL, error = NULL,
             duration_ms = NULL, cpu_time_ms = NULL, peak_memory_bytes = NULL, http_status = NULL,
             output_bytes = NULL, dropped_bytes = NULL, last_lines = NULL, violated_at = NULL
        FROM input i
       WHERE r.id = i.id AND r.state = 'queued'
      RETURNING r.id, r.job_id, r.agent_id, r.attempt_token, r.attempt, r.parameters, r.queued_at
    ), tr AS (
      INSERT INTO run_transitions (run_id, from_state, to_state, attempt_token, agent_id, at)
      SELECT id, 'queued', 'offered', attempt_token, agent_id, to_timestamp(${at} / 1000.0) FROM upd
    )
    SELECT * FROM upd`.execute(tx);
  });
  return res.rows.map((r) => ({
    runId: r.id,
    jobId: r.job_id,
    agentId: r.agent_id,
    token: Number(r.attempt_token),
    attempt: r.attempt,
    parameters: r.parameters,
    queuedAt: r.queued_at ? new Date(r.queued_at).getTime() : at,
  }));
}

/**
 * offered → queued for runs an agent refused or never answered for, guarded by the token
 * that was offered. The attempt never ran, so its number is given back (the token, which
 * fences, keeps growing). Returns the runs actually put back (to re-add to the ready queue).
 */
export async function returnToQueue(
  db: Db,
  runs: Array<{ runId: string; token: number; reason: string }>,
  at: number,
): Promise<Array<{ runId: string; jobId: string; priority: number }>> {
  if (runs.length === 0) return [];
  const input = JSON.stringify(runs.map((r) => ({ id: r.runId, token: r.token, reason: r.reason })));
  const res = await sql<{ id: string; job_id: string; priority: number }>`
    WITH input AS (
      SELECT * FROM jsonb_to_recordset(${input}::jsonb) AS x(id text, token bigint, reason text)
    ), upd AS (
      -- queued_at stays: the run has been waiting since then (maxQueueTime counts it all).
      UPDATE runs r SET state = 'queued', agent_id = NULL, attempt = r.attempt - 1
        FROM input i
       WHERE r.id = i.id AND r.attempt_token = i.token AND r.state = 'offered'
      RETURNING r.id, r.job_id, r.priority, r.attempt, r.attempt_token, i.reason
    ), tr AS (
      INSERT INTO run_transitions (run_id, from_state, to_state, attempt_token, reason, at)
      SELECT id, 'offered', 'queued', attempt_token, reason, to_timestamp(${at} / 1000.0) FROM upd
    ), gone AS (
      -- Output an agent reported for the offer before it was handed back belongs to no attempt:
      -- the number is given to the next one, whose output must not collide with it.
      DELETE FROM run_logs l USING upd WHERE l.run_id = upd.id AND l.attempt = upd.attempt + 1
    )
    SELECT id, job_id, priority FROM upd`.execute(db);
  return res.rows.map((r) => ({ runId: r.id, jobId: r.job_id, priority: r.priority }));
}

/**
 * Sets the visible reason on the queued runs of each job (null: no reason), in one statement.
 * Only rows whose reason differs are written, so the dispatcher can state every job's reason on
 * every pass instead of remembering what it wrote: a run that came (back) to the queue since,
 * with an unchanged count, still gets its reason.
 */
export async function setQueueReasons(db: Db, reasons: ReadonlyMap<string, string | null>): Promise<void> {
  if (reasons.size === 0) return;
  const input = JSON.stringify([...reasons].map(([job, reason]) => ({ job, reason })));
  await sql`
    UPDATE runs r SET queue_reason = i.reason
      FROM jsonb_to_recordset(${input}::jsonb) AS i(job text, reason text)
     WHERE r.job_id = i.job AND r.state = 'queued' AND r.queue_reason IS DISTINCT FROM i.reason`.execute(db);
}
