// Cancelling a job's queued runs (when the job is deleted): guarded update, then the queue.
import type { CoordinatorContext } from '../context.js';
import { unqueueCommitted } from './queue-committed.js';
import { cancelQueuedRunRecords } from '../store/cancel-runs.js';

/** queued → cancelled for every queued run of a job; returns how many. */
export async function cancelQueuedRunsOfJob(
  ctx: Pick<CoordinatorContext, 'db' | 'queue' | 'now' | 'metrics' | 'log'>,
  jobId: string,
  reason: string,
): Promise<number> {
  const at = ctx.now();
  const ids = await cancelQueuedRunRecords(ctx.db, jobId, reason, at);
  await unqueueCommitted(ctx.queue, ctx.log, new Map([[jobId, ids]]));
  ctx.metrics.runsEnded(ids.map(() => 'cancelled'));
  return ids.length;
}
