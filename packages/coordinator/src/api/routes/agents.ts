// /v1/agents: the fleet as registered.
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { CoordinatorContext } from '../../context.js';
import { agentMetrics, getAgent, setAgentState } from '../../store/agents.js';
import { listAgentPage } from '../../store/agent-page.js';
import { fleetSummary } from '../../store/fleet-summary.js';
import { parseDuration, parseInstant } from '@drover/shared';
import { HttpProblem, badRequest, notFound } from '../problem.js';
import { agentOutOfReach } from '../access.js';
import { AgentMetricsSchema, AgentSchema, FleetSummarySchema, ProblemSchema } from '../schemas.js';

// Without a limit the list is the whole fleet, as before pagination existed; bounded all the same.
const MAX_AGENTS_UNPAGED = 100_000;

/** `region=eu,pool=gpu` as a label map; a 400 naming `label` when a pair has no `=`. */
function parseLabels(value: string | undefined): Record<string, string> | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const labels: Record<string, string> = {};
  for (const pair of value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw badRequest([{ field: 'label', message: `"${pair}" is not key=value, e.g. region=eu` }]);
    labels[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return labels;
}

export async function agentRoutes(app: FastifyInstance, ctx: CoordinatorContext): Promise<void> {
  app.get(
    '/v1/agents',
    {
      config: { access: 'read' },
      schema: {
        summary: 'List agents by name, optionally filtered by state and labels, whole or a page at a time',
        tags: ['agents'],
        querystring: Type.Object(
          {
            state: Type.Optional(Type.String({ description: 'Comma-separated states.' })),
            label: Type.Optional(Type.String({ description: 'Comma-separated key=value labels; an agent must carry all of them.' })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'A page of this many; every agent when absent.' })),
            cursor: Type.Optional(Type.String({ description: 'nextCursor of the previous page.' })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            items: Type.Array(
              Type.Intersect([
                AgentSchema,
                Type.Object({ runningRuns: Type.Integer({ description: 'Runs offered to or running on it.' }) }),
              ]),
            ),
            total: Type.Integer(),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
          400: ProblemSchema,
        },
      },
    },
    async (req) => {
      const q = req.query as { state?: string; label?: string; limit?: number; cursor?: string };
      const labels = parseLabels(q.label);
      const limit = q.limit ?? MAX_AGENTS_UNPAGED;
      const { agents, total } = await listAgentPage(ctx.db, {
        states: q.state?.split(',').filter(Boolean),
        labels,
        limit,
        after: q.cursor,
      });
      const last = agents[agents.length - 1];
      return { items: agents, total, nextCursor: q.limit !== undefined && agents.length === limit && last ? last.id : null };
    },
  );

  app.get(
    '/v1/agents/:id',
    {
      config: { access: 'read' },
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
        config: { access: 'operate' },
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
          response: { 200: AgentSchema, 400: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema },
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
        const agent = await getAgent(ctx.db, id);
        if (!agent) throw notFound('agent', id, 'list agents with GET /v1/agents');
        const why = agentOutOfReach(req.principal, agent.namespaces);
        if (why) throw new HttpProblem('FORBIDDEN', `this token may not ${action} agent ${id}: ${why}`);
        const r = await setAgentState(ctx.db, id, action, at);
        if (!r) throw notFound('agent', id, 'list agents with GET /v1/agents');
        if ('refused' in r)
          throw new HttpProblem(
            'AGENT_STATE_CONFLICT',
            `agent ${id} is ${r.refused}: it cannot be ${action === 'drain' ? 'drained' : `${action}ed`} from that state`,
          );
        ctx.signals.fleetChanged(id);
        return r;
      },
    );
  }

  app.get(
    '/v1/agents/:id/metrics',
    {
      config: { access: 'read' },
      schema: {
        summary: "An agent's heartbeat history: per-minute averages of CPU, load, memory and slots in use (kept a day)",
        tags: ['agents'],
        params: Type.Object({ id: Type.String() }),
        querystring: Type.Object(
          { since: Type.Optional(Type.String({ description: 'A duration back from now ("1h", the default) or an ISO instant.' })) },
          { additionalProperties: false },
        ),
        response: { 200: AgentMetricsSchema, 404: ProblemSchema, 400: ProblemSchema },
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
      config: { access: 'read' },
      schema: {
        summary: 'The fleet at a glance: agents by state, total and free capacity (by label too), agents down, runs lost in the last hour',
        tags: ['agents'],
        response: { 200: FleetSummarySchema },
      },
    },
    async () => fleetSummary(ctx.db),
  );
}
