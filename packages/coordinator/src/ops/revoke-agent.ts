// Revoking an agent: from now on its messages are refused (every coordinator drops its cached
// key), it leaves the fleet, the runs it was running are lost and retried per their job's
// policy, and the runs offered to it go back to the queue. It can come back only by joining
// again with a join token created after this moment.
import type { CoordinatorContext } from '../context.js';
import { revokeAgent } from '../store/agent-identity.js';
import { getAgent, type Agent } from '../store/agents.js';
import { loseRunsOfAgent } from '../store/lose-runs.js';
import { returnToQueue } from '../store/offer-runs.js';
import { offersToAgent } from '../store/open-offers.js';
import { recordAudit } from '../store/audit.js';

/** Revokes an agent as `actor`; returns it as it is now, or undefined when there is no such agent. */
export async function revokeAgentNow(ctx: CoordinatorContext, agentId: string, actor: string): Promise<Agent | undefined> {
  const revoked = await revokeAgent(ctx.db, agentId);
  if (!revoked) return undefined;
  ctx.identities.invalidate(agentId);
  ctx.signals.agentRevoked(agentId);
  const now = ctx.now();
  const { runs: lost, actions } = await loseRunsOfAgent(ctx.db, agentId, 'was revoked', now, (ids) => ctx.jobs.retryPolicies(ids));
  if (actions > 0) ctx.actions.poke();
  if (lost.length > 0) ctx.metrics.runsEnded(lost.map((l) => l.state));
  const offered = await offersToAgent(ctx.db, agentId);
  const back = await returnToQueue(
    ctx.db,
    offered.map((o) => ({ runId: o.runId, token: o.token, reason: `agent ${agentId} was revoked` })),
    now,
  );
  const requeued = [...back, ...lost.filter((l) => l.requeued)];
  if (requeued.length > 0) await ctx.queue.enqueue(requeued);
  await recordAudit(ctx.db, {
    actor,
    action: 'agent.revoked',
    target: agentId,
    outcome: 'ok',
    detail: { lostRuns: lost.map((l) => l.runId), requeuedOffers: back.map((b) => b.runId) },
  });
  ctx.log.warn({ agentId, by: actor, lost: lost.length, offersRequeued: back.length }, 'agent revoked');
  ctx.signals.fleetChanged(agentId);
  if (requeued.length > 0) ctx.signals.queueReady();
  // No stop request is sent: a revoked agent is not trusted to obey. It is refused at its next
  // heartbeat, and a genuine agent then shuts down, ending its attempts.
  return getAgent(ctx.db, agentId);
}
