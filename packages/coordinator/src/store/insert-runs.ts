// Creating runs: one statement for a whole batch (up to 10,000), with their first transition.
import { sql } from 'kysely';
import type { RunTrigger } from '@drover/shared';
import type { Db } from './db.js';

export interface NewRun {
  id: string;
  jobId: string;
  priority: number;
  trigger: RunTrigger;
  parameters: Record<string, string>;
  /** Epoch ms, from the coordinator's clock. */
  createdAt: number;
}

/**
 * Inserts queued runs and their `→ queued` transitions in one statement. The rows travel as one
 * jsonb parameter (jsonb_to_recordset): measured faster than multi-row VALUES for large batches
 * and never hits the 65,535 bind-parameter limit.
 */
export async function insertQueuedRuns(db: Db, runs: NewRun[]): Promise<void> {
  if (runs.length === 0) return;
  const rows = JSON.stringify(
    runs.map((r) => ({ id: r.id, job_id: r.jobId, priority: r.priority, trigger: r.trigger, parameters: r.parameters, at: r.createdAt })),
  );
  await sql`
    WITH input AS (
      SELECT * FROM jsonb_to_recordset(${rows}::jsonb)
        AS x(id text, job_id text, priority int, trigger text, parameters jsonb, at double precision)
    ), ins AS (
      INSERT INTO runs (id, job_id, state, priority, trigger, parameters, created_at, queued_at)
      SELECT id, job_id, 'queued', priority, trigger, parameters, to_timestamp(at / 1000.0), to_timestamp(at / 1000.0) FROM input
      RETURNING id, created_at
    )
    INSERT INTO run_transitions (run_id, from_state, to_state, attempt_token, at)
    SELECT id, NULL, 'queued', 0, created_at FROM ins`.execute(db);
}
