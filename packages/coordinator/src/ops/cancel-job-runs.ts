// Cancelling a job's queued runs (when the job is deleted): guarded update, then the queue.
import { sql } from 'kysely';
import type { CoordinatorContext } from '../context.js';
import { unqueueCommitted } from './queue-committed.js';

/** queued → cancelled for every queued run of a job; returns how many. */
export async function cancelQueuedRunsOfJob(
  ctx: Pick<CoordinatorContext, 'db' | 'queue' | 'now' | 'metrics' | 'log'>,
  jobId: string,
  reason: string,
): Promise<number> {
  const at = ctx.now();
  const res = await sql<{ id: string }>`
    WITH upd AS (
      UPDATE runs SET state = 'cancelled', finished_at = to_timestamp(${at} / 1000.0), error = ${reason}
       WHERE job_id = ${jobId} AND state = 'queued'
      RETURNING id, attempt_token
    ), tr AS (
      INSERT INTO run_transitions (run_id, from_state, to_state, attempt_token, reason, at)
      SELECT id, 'queued', 'cancelled', attempt_token, ${reason}, to_timestamp(${at} / 1000.0) FROM upd
    )
    SELECT id FROM upd`.execute(ctx.db);
  await unqueueCommitted(ctx.queue, ctx.log, new Map([[jobId, res.rows.map((r) => r.id)]]));
  ctx.metrics.runsEnded(res.rows.map(() => 'cancelled'));
  return res.rows.length;
}
