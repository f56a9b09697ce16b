// GET /v1/whoami: who the caller's token makes it, so the dashboard and `drover whoami` can say
// what it may do before it tries.
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { ROLES } from '../access.js';
import type { AuthMode } from '../auth.js';

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

export async function whoamiRoutes(app: FastifyInstance, mode: AuthMode): Promise<void> {
  app.get(
    '/v1/whoami',
    {
      // Every role that can use the dashboard (viewer and above); an agent join token gets 403.
      config: { access: 'read' },
      schema: {
        summary: "The caller's role, namespaces and actor, and how the coordinator authenticates",
        tags: ['tokens'],
        response: { 200: WhoamiSchema },
      },
    },
    async (req) => {
      const p = req.principal;
      return { role: p.role, namespaces: p.namespaces, actor: p.actor, tokenId: p.tokenId, authMode: mode };
    },
  );
}
