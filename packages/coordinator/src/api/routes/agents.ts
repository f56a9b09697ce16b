// /v1/agents and /v1/fleet: the fleet as registered, and cordoning or draining one agent.
import { Type } from '@sinclair/typebox';
import { parseDuration, parseInstant } from '@drover/shared';
import type { CoordinatorContext } from '../../context.js';
import { DomainError, invalidInput, notFound } from '../../domain-error.js';
import { agentMetrics, getAgent, setAgentState, type Agent } from '../../store/agents.js';
import { listAgentPage } from '../../store/agent-page.js';
import { fleetSummary } from '../../store/fleet-summary.js';
import { agentOutOfReach } from '../access.js';
import { defineOperation, type AnyOperation } from '../operation.js';
import { AgentMetricsSchema, AgentSchema, FleetSummarySchema } from '../schemas.js';

// Without a limit the list is the whole fleet, as before pagination existed; bounded all the same.
const MAX_AGENTS_UNPAGED = 100_000;

const AgentIdParams = Type.Object({ id: Type.String() });

/** `region=eu,pool=gpu` as a label map; refused naming `label` when a pair has no `=`. */
function parseLabels(value: string | undefined): Record<string, string> | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const labels: Record<string, string> = {};
  for (const pair of value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw invalidInput([{ field: 'label', message: `"${pair}" is not key=value, e.g. region=eu` }]);
    labels[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return labels;
}

async function agentById(ctx: CoordinatorContext, id: string): Promise<Agent> {
  const agent = await getAgent(ctx.db, id);
  if (!agent) throw notFound('agent', id, 'list agents with GET /v1/agents');
  return agent;
}

const listAgents = defineOperation({
  operationId: 'listAgents',
  method: 'GET',
  path: '/v1/agents',
  summary: 'List agents by name, optionally filtered by state and labels, whole or a page at a time',
  tags: ['agents'],
  access: 'read',
  query: Type.Object(
    {
      state: Type.Optional(Type.String({ description: 'Comma-separated states.' })),
      label: Type.Optional(Type.String({ description: 'Comma-separated key=value labels; an agent must carry all of them.' })),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'A page of this many; every agent when absent.' })),
      cursor: Type.Optional(Type.String({ description: 'nextCursor of the previous page.' })),
    },
    { additionalProperties: false },
  ),
  responses: {
    200: Type.Object({
      items: Type.Array(
        Type.Intersect([AgentSchema, Type.Object({ runningRuns: Type.Integer({ description: 'Runs offered to or running on it.' }) })]),
      ),
      total: Type.Integer(),
      nextCursor: Type.Union([Type.String(), Type.Null()]),
    }),
  },
  errors: ['VALIDATION_FAILED'],
  handler: async ({ query }, _caller, ctx) => {
    const labels = parseLabels(query.label);
    const limit = query.limit ?? MAX_AGENTS_UNPAGED;
    const { agents, total } = await listAgentPage(ctx.db, {
      states: query.state?.split(',').filter(Boolean),
      labels,
      limit,
      after: query.cursor,
    });
    const last = agents[agents.length - 1];
    const nextCursor = query.limit !== undefined && agents.length === limit && last ? last.id : null;
    return { status: 200, body: { items: agents, total, nextCursor } };
  },
});

const getAgentOperation = defineOperation({
  operationId: 'getAgent',
  method: 'GET',
  path: '/v1/agents/{id}',
  summary: 'Get an agent',
  tags: ['agents'],
  access: 'read',
  params: AgentIdParams,
  responses: { 200: AgentSchema },
  errors: ['NOT_FOUND'],
  handler: async ({ params }, _caller, ctx) => ({ status: 200, body: await agentById(ctx, params.id) }),
});

const STATE_CHANGES = {
  drain: {
    operationId: 'drainAgent',
    summary: 'Drain an agent: it finishes its runs and takes nothing new; after the optional deadline the rest are re-queued',
    done: 'drained',
  },
  cordon: { operationId: 'cordonAgent', summary: 'Cordon an agent: it takes nothing new (its runs continue)', done: 'cordoned' },
  uncordon: { operationId: 'uncordonAgent', summary: 'Uncordon (or stop draining) an agent: it takes runs again', done: 'uncordoned' },
} as const;

/** Sets an agent's state by hand, if the caller may reach it and its state allows. */
async function changeAgentState(
  ctx: CoordinatorContext,
  caller: { principal: Parameters<typeof agentOutOfReach>[0] },
  id: string,
  action: keyof typeof STATE_CHANGES,
  deadline: string | undefined,
): Promise<Agent> {
  let at: number | null = null;
  if (deadline !== undefined) {
    const ms = parseDuration(deadline);
    if (ms === undefined) throw invalidInput([{ field: 'deadline', message: `"${deadline}" is not a duration; use e.g. "30s", "10m"` }]);
    at = ctx.now() + ms;
  }
  const agent = await agentById(ctx, id);
  const why = agentOutOfReach(caller.principal, agent.namespaces);
  if (why) throw new DomainError('FORBIDDEN', `this token may not ${action} agent ${id}: ${why}`);
  const changed = await setAgentState(ctx.db, id, action, at);
  if (!changed) throw notFound('agent', id, 'list agents with GET /v1/agents');
  if ('refused' in changed)
    throw new DomainError(
      'AGENT_STATE_CONFLICT',
      `agent ${id} is ${changed.refused}: it cannot be ${STATE_CHANGES[action].done} from that state`,
    );
  ctx.signals.fleetChanged(id);
  return changed;
}

const STATE_CHANGE_ERRORS = ['VALIDATION_FAILED', 'FORBIDDEN', 'NOT_FOUND', 'AGENT_STATE_CONFLICT'] as const;

const drainAgent = defineOperation({
  operationId: STATE_CHANGES.drain.operationId,
  method: 'POST',
  path: '/v1/agents/{id}/drain',
  summary: STATE_CHANGES.drain.summary,
  tags: ['agents'],
  access: 'operate',
  params: AgentIdParams,
  body: Type.Object(
    { deadline: Type.Optional(Type.String({ description: 'e.g. "10m": then its remaining runs are re-queued.' })) },
    { additionalProperties: false },
  ),
  bodyDefault: {},
  responses: { 200: AgentSchema },
  errors: STATE_CHANGE_ERRORS,
  handler: async ({ params, body }, caller, ctx) => ({
    status: 200,
    body: await changeAgentState(ctx, caller, params.id, 'drain', body.deadline),
  }),
});

const [cordonAgent, uncordonAgent] = (['cordon', 'uncordon'] as const).map((action) =>
  defineOperation({
    operationId: STATE_CHANGES[action].operationId,
    method: 'POST',
    path: `/v1/agents/{id}/${action}`,
    summary: STATE_CHANGES[action].summary,
    tags: ['agents'],
    access: 'operate',
    params: AgentIdParams,
    responses: { 200: AgentSchema },
    errors: STATE_CHANGE_ERRORS,
    handler: async ({ params }, caller, ctx) => ({ status: 200, body: await changeAgentState(ctx, caller, params.id, action, undefined) }),
  }),
);

const getAgentMetrics = defineOperation({
  operationId: 'getAgentMetrics',
  method: 'GET',
  path: '/v1/agents/{id}/metrics',
  summary: "An agent's heartbeat history: per-minute averages of CPU, load, memory and slots in use (kept a day)",
  tags: ['agents'],
  access: 'read',
  params: AgentIdParams,
  query: Type.Object(
    { since: Type.Optional(Type.String({ description: 'A duration back from now ("1h", the default) or an ISO instant.' })) },
    { additionalProperties: false },
  ),
  responses: { 200: AgentMetricsSchema },
  errors: ['NOT_FOUND', 'VALIDATION_FAILED'],
  handler: async ({ params: { id }, query: { since } }, _caller, ctx) => {
    await agentById(ctx, id);
    const back = since === undefined ? 3_600_000 : parseDuration(since);
    const from = back !== undefined ? ctx.now() - back : parseInstant(since ?? '');
    if (from === undefined)
      throw invalidInput([{ field: 'since', message: `"${since}" is neither a duration ("1h") nor an ISO instant with an offset` }]);
    return { status: 200, body: { agentId: id, since: new Date(from).toISOString(), points: await agentMetrics(ctx.db, id, from) } };
  },
});

const getFleet = defineOperation({
  operationId: 'getFleet',
  method: 'GET',
  path: '/v1/fleet',
  summary: 'The fleet at a glance: agents by state, total and free capacity (by label too), agents down, runs lost in the last hour',
  tags: ['agents'],
  access: 'read',
  responses: { 200: FleetSummarySchema },
  errors: [],
  handler: async (_input, _caller, ctx) => ({ status: 200, body: await fleetSummary(ctx.db) }),
});

/** The agent operations, in the order the API registers them. */
export const agentOperations: readonly AnyOperation[] = [
  listAgents,
  getAgentOperation,
  drainAgent,
  cordonAgent as AnyOperation,
  uncordonAgent as AnyOperation,
  getAgentMetrics,
  getFleet,
];
