// AgentChannel over Moleculer: the agent service's `offer` and `stop` actions, called on the
// agent's node, never retried (a retry could deliver an offer twice).
import type { ServiceBroker } from 'moleculer';
import { ACTIONS, SERVICES, type OfferRequest, type OfferResponse, type StopRequest } from '@drover/shared';
import { AgentNoAnswer, type AgentChannel } from './agent-channel.js';

/** Moleculer's errors for a request that left but got no answer. */
const SENT_UNANSWERED = new Set(['RequestTimeoutError', 'RequestRejectedError']);

export class MoleculerAgentChannel implements AgentChannel {
  constructor(private readonly broker: ServiceBroker) {}

  reachable(nodeId: string): boolean {
    return this.broker.registry.hasService(SERVICES.agent, nodeId);
  }

  async offer(nodeId: string, req: OfferRequest, timeoutMs: number): Promise<OfferResponse> {
    try {
      return (await this.broker.call(ACTIONS.offer, req, { nodeID: nodeId, timeout: timeoutMs, retries: 0 })) as OfferResponse;
    } catch (err) {
      if (SENT_UNANSWERED.has((err as Error).name)) throw new AgentNoAnswer((err as Error).message, { cause: err });
      throw err;
    }
  }

  async stop(nodeId: string, req: StopRequest): Promise<void> {
    await this.broker.call(ACTIONS.stop, req, { nodeID: nodeId, retries: 0 });
  }
}
