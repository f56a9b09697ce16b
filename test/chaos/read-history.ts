// Reads a scenario's history for the checker: runs and every run transition from the test's
// database (run_transitions keeps each step with its attempt token), executions from its marks.
import pg from 'pg';
import type { History } from './history.js';
import { readMarkedExecutions } from './marks.js';

/** The runs of `jobIds` (all runs when omitted), their transitions in write order, and the marks file's executions. */
export async function readHistory(databaseUrl: string, marks: string, jobIds?: readonly string[]): Promise<History> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const where = jobIds ? 'WHERE r.job_id = ANY($1)' : '';
    const params = jobIds ? [jobIds] : [];
    const runs = await db.query<{ id: string; job_id: string; state: string; attempt: number; fire_ms: string | null }>(
      `SELECT r.id, r.job_id, r.state, r.attempt, (extract(epoch FROM r.fire_at) * 1000)::bigint AS fire_ms FROM runs r ${where} ORDER BY r.id`,
      params,
    );
    const steps = await db.query<{ run_id: string; from_state: string | null; to_state: string; token: string; reason: string | null }>(
      `SELECT t.run_id, t.from_state, t.to_state, t.attempt_token AS token, t.reason
         FROM run_transitions t JOIN runs r ON r.id = t.run_id ${where} ORDER BY t.id`,
      params,
    );
    return {
      runs: runs.rows.map((r) => ({
        id: r.id,
        jobId: r.job_id,
        state: r.state,
        attempt: r.attempt,
        fireAtMs: r.fire_ms === null ? null : Number(r.fire_ms),
      })),
      transitions: steps.rows.map((t) => ({
        runId: t.run_id,
        from: t.from_state,
        to: t.to_state,
        token: Number(t.token),
        reason: t.reason,
      })),
      executions: readMarkedExecutions(marks),
    };
  } finally {
    await db.end();
  }
}
