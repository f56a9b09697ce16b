// Telling agents to stop attempts the coordinator took back (cancelled, replaced, re-queued).
// Fire and forget: an agent that misses it is told again when its heartbeat lists the run.
import type { ServiceBroker } from 'moleculer';
import type { Logger } from 'pino';
import { ACTIONS, type HeldRun, type StopRequest } from '@drover/shared';

/** Sends each agent (by Moleculer node id) the attempts it must stop, with the reason. */
export function askAgentsToStop(ctx: { broker: ServiceBroker; log: Logger }, byNode: ReadonlyMap<string, HeldRun[]>, reason: string): void {
  for (const [nodeID, runs] of byNode) {
    const req: StopRequest = { runs, reason };
    ctx.broker.call(ACTIONS.stop, req, { nodeID, retries: 0 }).catch((err: Error) =>
      ctx.log.warn(
        // Agents join the bus as node `agent-<agentId>`.
        { agentId: nodeID.replace(/^agent-/, ''), nodeID, runs: runs.map((r) => r.runId), err: err.message },
        'could not ask an agent to stop runs',
      ),
    );
  }
}
