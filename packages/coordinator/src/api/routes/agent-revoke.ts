// POST /v1/agents/{id}/revoke: an admin takes an agent's identity away (ops/revoke-agent.ts).
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { CoordinatorContext } from '../../context.js';
import { revokeAgentNow } from '../../ops/revoke-agent.js';
import { notFound } from '../problem.js';
import { AgentSchema, ProblemSchema } from '../schemas.js';

export async function agentRevokeRoutes(app: FastifyInstance, ctx: CoordinatorContext): Promise<void> {
  app.post(
    '/v1/agents/:id/revoke',
    {
      config: { access: 'admin' },
      schema: {
        summary:
          'Revoke an agent: its messages are refused, its running runs are lost (and retried per policy), its offers re-queued; it must join again with a new join token',
        tags: ['agents'],
        params: Type.Object({ id: Type.String() }),
        response: { 200: AgentSchema, 404: ProblemSchema },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const actor = (req as unknown as { principal?: { actor?: string } }).principal?.actor ?? 'anonymous';
      const agent = await revokeAgentNow(ctx, id, actor);
      if (!agent) throw notFound('agent', id, 'list agents with GET /v1/agents');
      return agent;
    },
  );
}
