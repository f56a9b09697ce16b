// GET /v1/whoami: who the caller's token makes it, so the dashboard and `drover whoami` can say
// what it may do before it tries.
import { Type } from '@sinclair/typebox';
import { ROLES } from '../access.js';
import type { AuthMode } from '../auth.js';
import { defineOperation, type AnyOperation } from '../operation.js';

export const WhoamiSchema = Type.Object(
  {
    role: Type.Union(
      ROLES.map((r) => Type.Literal(r)),
      { description: 'admin with --insecure and in drover dev.' },
    ),
    namespaces: Type.Union([Type.Literal('all'), Type.Array(Type.String())], {
      description: 'The job namespaces it may see and touch.',
    }),
    actor: Type.String({ description: 'As the audit log records it: token:<id>, anonymous (--insecure) or dev.' }),
    tokenId: Type.Union([Type.String(), Type.Null()]),
    authMode: Type.Union([Type.Literal('tokens'), Type.Literal('insecure'), Type.Literal('dev')], {
      description: 'tokens: every call needs one; insecure and dev: none, every caller is admin.',
    }),
  },
  { $id: 'Whoami' },
);

/** GET /v1/whoami, answering how this coordinator authenticates (`mode`). */
export function whoamiOperations(mode: AuthMode): readonly AnyOperation[] {
  const whoami = defineOperation({
    operationId: 'whoami',
    method: 'GET',
    path: '/v1/whoami',
    summary: "The caller's role, namespaces and actor, and how the coordinator authenticates",
    tags: ['tokens'],
    // Every role that can use the dashboard (viewer and above); an agent join token gets 403.
    access: 'read',
    responses: { 200: WhoamiSchema },
    errors: [],
    handler: async (_input, { principal: p }) => ({
      status: 200,
      body: {
        role: p.role,
        namespaces: p.namespaces === 'all' ? ('all' as const) : [...p.namespaces],
        actor: p.actor,
        tokenId: p.tokenId,
        authMode: mode,
      },
    }),
  });
  return [whoami];
}
