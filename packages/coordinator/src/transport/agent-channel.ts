// How the coordinator talks to one agent: offer it runs and hear its answer, ask it to stop
// attempts. Agents are addressed by their bus node id (`agent-<agentId>`). The dispatcher and
// ops/ see only this interface; transport/moleculer-channel.ts implements it over the bus, and
// tests can pass a fake that records offers.
import type { OfferRequest, OfferResponse, StopRequest } from '@drover/shared';

export interface AgentChannel {
  /** Whether the agent on this node can be addressed now (its services are on the bus). */
  reachable(nodeId: string): boolean;
  /**
   * Offers runs and waits up to `timeoutMs` for the answer. Rejects with `AgentNoAnswer` when
   * the offer left but no answer came (the agent may have acted on it), with any other error
   * when it surely did not reach the agent.
   */
  offer(nodeId: string, req: OfferRequest, timeoutMs: number): Promise<OfferResponse>;
  /** Asks the agent to stop attempts; resolves once it acknowledged, rejects if it could not be told. */
  stop(nodeId: string, req: StopRequest): Promise<void>;
}

/** A request that left for an agent but got no answer: the agent may have acted on it. */
export class AgentNoAnswer extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AgentNoAnswer';
  }
}
