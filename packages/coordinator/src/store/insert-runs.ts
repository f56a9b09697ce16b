// Creating runs: one statement for a whole batch (up to 10,000), with their first transition.
import { sql } from 'kysely';
import type { RunTrigger } from '@drover/shared';
import type { Db } from './db.js';

/** A run to create. Most are `queued`; delayed and waiting runs are `pending`, refused fires `skipped`. */
export interface NewRun {
  id: string;
  jobId: string;
  state: 'queued' | 'pending' | 'skipped';
  priority: number;
  trigger: RunTrigger;
  parameters: Record<string, string>;
  /** Epoch ms, from the coordinator's clock. */
  createdAt: number;
  /** The schedule fire (epoch ms) this run is for: at most one run per job and fire. */
  fireAt?: number;
  /** A delayed run stays pending until then (epoch ms). */
  notBefore?: number;
  /** Why it is pending (queue reason) or skipped (skip reason). */
  reason?: string;
  idempotencyKey?: string;
  requestHash?: string;
}

/** A run that was actually inserted (not a duplicate fire or a reused idempotency key). */
export interface InsertedRun {
  id: string;
  jobId: string;
  state: NewRun['state'];
  priority: number;
}

/**
 * Inserts runs and their first transitions in one statement. The rows travel as one jsonb
 * parameter (jsonb_to_recordset): faster than multi-row VALUES for large batches, and never
 * near the 65,535 bind-parameter limit. A run for a fire that already has one, or with an
 * idempotency key already used on its job, is silently not inserted (and not returned).
 */
export async function insertRuns(db: Db, runs: readonly NewRun[]): Promise<InsertedRun[]> {
  if (runs.length === 0) return [];
  const rows = JSON.stringify(
    runs.map((r) => ({
      id: r.id,
      job_id: r.jobId,
      state: r.state,
      priority: r.priority,
      trigger: r.trigger,
      parameters: r.parameters,
      at: r.createdAt,
      fire_at: r.fireAt ?? null,
      not_before: r.notBefore ?? null,
      reason: r.reason ?? null,
      idem: r.idempotencyKey ?? null,
      hash: r.requestHash ?? null,
    })),
  );
  const res = await sql<{ id: string; job_id: string; state: NewRun['state']; priority: number }>`
    WITH input AS (
      SELECT * FROM jsonb_to_recordset(${rows}::jsonb) AS x(
        id text, job_id text, state text, priority int, trigger text, parameters jsonb, at double precision,
        fire_at double precision, not_before double precision, reason text, idem text, hash text)
    ), ins AS (
      INSERT INTO runs (id, job_id, state, priority, trigger, parameters, created_at, queued_at, finished_at,
                        fire_at, not_before, queue_reason, skip_reason, idempotency_key, request_hash)
      SELECT id, job_id, state, priority, trigger, parameters, to_timestamp(at / 1000.0),
             CASE WHEN state = 'queued' THEN to_timestamp(at / 1000.0) END,
             CASE WHEN state = 'skipped' THEN to_timestamp(at / 1000.0) END,
             to_timestamp(fire_at / 1000.0), to_timestamp(not_before / 1000.0),
             CASE WHEN state = 'pending' THEN reason END, CASE WHEN state = 'skipped' THEN reason END, idem, hash
        FROM input
      ON CONFLICT DO NOTHING
      RETURNING id, job_id, state, priority, created_at
    ), tr AS (
      INSERT INTO run_transitions (run_id, from_state, to_state, attempt_token, reason, at)
      SELECT ins.id, NULL, ins.state, 0, input.reason, ins.created_at FROM ins JOIN input USING (id)
    )
    SELECT id, job_id, state, priority FROM ins`.execute(db);
  return res.rows.map((r) => ({ id: r.id, jobId: r.job_id, state: r.state, priority: r.priority }));
}
