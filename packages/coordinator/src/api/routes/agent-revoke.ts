// POST /v1/agents/{id}/revoke: an admin takes an agent's identity away (ops/revoke-agent.ts).
import { Type } from '@sinclair/typebox';
import { notFound } from '../../domain-error.js';
import { revokeAgentNow } from '../../ops/revoke-agent.js';
import { defineOperation, type AnyOperation } from '../operation.js';
import { AgentSchema } from '../schemas.js';

const revokeAgent = defineOperation({
  operationId: 'revokeAgent',
  method: 'POST',
  path: '/v1/agents/{id}/revoke',
  summary:
    'Revoke an agent: its messages are refused, its running runs are lost (and retried per policy), its offers re-queued; it must join again with a new join token',
  tags: ['agents'],
  access: 'admin',
  params: Type.Object({ id: Type.String() }),
  responses: { 200: AgentSchema },
  errors: ['NOT_FOUND'],
  handler: async ({ params: { id } }, caller, ctx) => {
    const agent = await revokeAgentNow(ctx, id, caller.principal.actor);
    if (!agent) throw notFound('agent', id, 'list agents with GET /v1/agents');
    return { status: 200, body: agent };
  },
});

export const agentRevokeOperations: readonly AnyOperation[] = [revokeAgent];
