// Telling agents to stop attempts the coordinator took back (cancelled, replaced, re-queued).
// Fire and forget: an agent that misses it is told again when its heartbeat lists the run.
import type { Logger } from 'pino';
import type { HeldRun, StopRequest } from '@drover/shared';
import type { AgentIdentities } from '../security/agent-identities.js';
import type { AgentChannel } from '../transport/agent-channel.js';

/** Sends each agent (by bus node id) the attempts it must stop, with the reason. */
export function askAgentsToStop(
  ctx: { agents: AgentChannel; log: Logger; identities?: Pick<AgentIdentities, 'signFor'> },
  byNode: ReadonlyMap<string, HeldRun[]>,
  reason: string,
): void {
  for (const [nodeID, runs] of byNode) {
    const req: StopRequest = { runs, reason };
    // Signed for that node: an agent that pinned the cluster's key ignores stops without it.
    req.auth = ctx.identities?.signFor('stop', nodeID, req);
    ctx.agents.stop(nodeID, req).catch((err: Error) =>
      ctx.log.warn(
        // Agents join the bus as node `agent-<agentId>`.
        { agentId: nodeID.replace(/^agent-/, ''), nodeID, runs: runs.map((r) => r.runId), err: err.message },
        'could not ask an agent to stop runs',
      ),
    );
  }
}
