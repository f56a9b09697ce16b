// Retrying finished runs by hand and replaying dead letters: both put the run back in the
// ready queue for one more attempt (see store/retry-runs.ts) and wake the dispatcher.
import type { CoordinatorContext } from '../context.js';
import { requeueFinishedRuns, type RequeuedRun } from '../store/retry-runs.js';

/** Requeues the finished runs among `runIds`; returns those requeued. */
export async function retryRunsByHand(ctx: CoordinatorContext, runIds: readonly string[], why: string): Promise<RequeuedRun[]> {
  const requeued = await requeueFinishedRuns(ctx.db, runIds, ctx.now(), why);
  if (requeued.length === 0) return requeued;
  await ctx.queue.enqueue(requeued);
  ctx.signals.queueReady();
  return requeued;
}
