// /v1/agents: the fleet as registered.
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { CoordinatorContext } from '../../context.js';
import { agentMetrics, getAgent, listAgents, setAgentState } from '../../store/agents.js';
import { fleetSummary } from '../../store/fleet-summary.js';
import { EVENTS, parseDuration, parseInstant } from '@drover/shared';
import { HttpProblem, badRequest, notFound } from '../problem.js';
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

  for (const action of ['drain', 'cordon', 'uncordon'] as const) {
    app.post(
      `/v1/agents/:id/${action}`,
      {
        schema: {
          summary:
            action === 'drain'
              ? 'Drain an agent: it finishes its runs and takes nothing new; after the optional deadline the rest are re-queued'
              : action === 'cordon'
                ? 'Cordon an agent: it takes nothing new (its runs continue)'
                : 'Uncordon (or stop draining) an agent: it takes runs again',
          tags: ['agents'],
          params: Type.Object({ id: Type.String() }),
          ...(action === 'drain'
            ? {
                body: Type.Object(
                  { deadline: Type.Optional(Type.String({ description: 'e.g. "10m": then its remaining runs are re-queued.' })) },
                  { additionalProperties: false },
                ),
              }
            : {}),
          response: { 200: AgentSchema, 400: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema },
        },
        preValidation: async (req) => {
          if (req.body === undefined || req.body === null) req.body = {};
        },
      },
      async (req) => {
        const { id } = req.params as { id: string };
        const { deadline } = (req.body ?? {}) as { deadline?: string };
        let at: number | null = null;
        if (deadline !== undefined) {
          const ms = parseDuration(deadline);
          if (ms === undefined)
            throw badRequest([{ field: 'deadline', message: `"${deadline}" is not a duration; use e.g. "30s", "10m"` }]);
          at = ctx.now() + ms;
        }
        const r = await setAgentState(ctx.db, id, action, at);
        if (!r) throw notFound('agent', id, 'list agents with GET /v1/agents');
        if ('refused' in r)
          throw new HttpProblem(
            409,
            'Conflict',
            `agent ${id} is ${r.refused}: it cannot be ${action === 'drain' ? 'drained' : `${action}ed`} from that state`,
          );
        ctx.broker.broadcast(EVENTS.fleetChanged, { agentId: id });
        return r;
      },
    );
  }

  app.get(
    '/v1/agents/:id/metrics',
    {
      schema: {
        summary: "An agent's heartbeat history: per-minute averages of CPU, load, memory and slots in use (kept a day)",
        tags: ['agents'],
        params: Type.Object({ id: Type.String() }),
        querystring: Type.Object(
          { since: Type.Optional(Type.String({ description: 'A duration back from now ("1h", the default) or an ISO instant.' })) },
          { additionalProperties: false },
        ),
        response: { 404: ProblemSchema, 400: ProblemSchema },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const { since } = req.query as { since?: string };
      const agent = await getAgent(ctx.db, id);
      if (!agent) throw notFound('agent', id, 'list agents with GET /v1/agents');
      const back = since === undefined ? 3_600_000 : parseDuration(since);
      const from = back !== undefined ? ctx.now() - back : parseInstant(since ?? '');
      if (from === undefined)
        throw badRequest([{ field: 'since', message: `"${since}" is neither a duration ("1h") nor an ISO instant with an offset` }]);
      return { agentId: id, since: new Date(from).toISOString(), points: await agentMetrics(ctx.db, id, from) };
    },
  );

  app.get(
    '/v1/fleet',
    {
      schema: {
        summary: 'The fleet at a glance: agents by state, total and free capacity (by label too), agents down, runs lost in the last hour',
        tags: ['agents'],
      },
    },
    async () => fleetSummary(ctx.db),
  );
}
