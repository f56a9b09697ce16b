// /v1/agents: the fleet as registered.
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { CoordinatorContext } from '../../context.js';
import { getAgent, listAgents } from '../../store/agents.js';
import { notFound } from '../problem.js';
import { AgentSchema, ProblemSchema } from '../schemas.js';

export async function agentRoutes(app: FastifyInstance, ctx: CoordinatorContext): Promise<void> {
  app.get(
    '/v1/agents',
    {
      schema: {
        summary: 'List agents',
        tags: ['agents'],
        querystring: Type.Object(
          { state: Type.Optional(Type.String({ description: 'Comma-separated states.' })) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ items: Type.Array(AgentSchema), total: Type.Integer() }) },
      },
    },
    async (req) => {
      const q = req.query as { state?: string };
      const items = await listAgents(ctx.db, q.state?.split(',').filter(Boolean));
      return { items, total: items.length };
    },
  );

  app.get(
    '/v1/agents/:id',
    {
      schema: {
        summary: 'Get an agent',
        tags: ['agents'],
        params: Type.Object({ id: Type.String() }),
        response: { 200: AgentSchema, 404: ProblemSchema },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const agent = await getAgent(ctx.db, id);
      if (!agent) throw notFound('agent', id, 'list agents with GET /v1/agents');
      return agent;
    },
  );
}
