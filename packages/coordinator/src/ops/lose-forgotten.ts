// An agent's list of held runs against the coordinator's records: attempts it was running but
// no longer holds (its process restarted faster than it could be declared down, or it lost
// them) are lost and retried, instead of staying `running` forever.
import { unheldAttempts, type HeldRun } from '@drover/shared';
import type { CoordinatorContext } from '../context.js';
import { loseUnheldAttempts, runningAttemptsOn } from '../store/lose-runs.js';

/** Loses the attempts `agentId` runs in the records but did not list in `held` (taken at `heldAsOf`). */
export async function loseForgottenAttempts(
  ctx: CoordinatorContext,
  agentId: string,
  held: readonly HeldRun[],
  heldAsOf: number,
): Promise<void> {
  const forgotten = unheldAttempts(held, await runningAttemptsOn(ctx.db, agentId), heldAsOf);
  if (forgotten.length === 0) return;
  const { runs: lost, actions } = await loseUnheldAttempts(ctx.db, agentId, forgotten, ctx.now(), (ids) => ctx.jobs.retryPolicies(ids));
  if (actions > 0) ctx.actions.poke();
  if (lost.length === 0) return;
  ctx.metrics.runsEnded(lost.map((l) => l.state));
  ctx.log.warn({ agentId, runs: lost.map((l) => l.runId) }, 'the agent no longer holds runs it was running; they are lost');
  const requeued = lost.filter((l) => l.requeued);
  if (requeued.length > 0) {
    await ctx.queue.enqueue(requeued);
    ctx.signals.queueReady();
  }
}
