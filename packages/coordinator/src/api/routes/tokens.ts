// /v1/tokens: API tokens, created (the token string is in the response once, never again),
// listed without secrets, and revoked. Admin only: an operator handing out tokens could mint
// one for a namespace or role it does not hold, so delegation waits for a design of its own.
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { NAMESPACE_PATTERN, parseDuration } from '@drover/shared';
import type { CoordinatorContext } from '../../context.js';
import { createToken, getToken, listTokens, revokeToken } from '../../store/tokens.js';
import { recordAudit } from '../../store/audit.js';
import { ROLES, type Role } from '../access.js';
import { auditEntryOf, type TokenResolver } from '../auth.js';
import { badRequest, notFound } from '../problem.js';
import { ProblemSchema } from '../schemas.js';

/** Token names: the same characters as job names, shorter. */
export const TOKEN_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$';

const TokenSchema = Type.Object(
  {
    id: Type.String({ description: 'A ULID; safe to show and log (it is not the secret).' }),
    name: Type.String(),
    role: Type.Union(ROLES.map((r) => Type.Literal(r))),
    namespaces: Type.Array(Type.String(), { description: 'Empty for admin tokens, which see every namespace.' }),
    createdBy: Type.Union([Type.String(), Type.Null()]),
    createdAt: Type.String({ format: 'date-time' }),
    expiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'To the minute.' }),
  },
  { $id: 'Token' },
);

const NewTokenSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ pattern: TOKEN_NAME_PATTERN, description: 'What it is for; defaults to the role.' })),
    role: Type.Union(ROLES.map((r) => Type.Literal(r))),
    namespaces: Type.Optional(
      Type.Array(Type.String({ pattern: NAMESPACE_PATTERN }), {
        maxItems: 100,
        uniqueItems: true,
        description: 'The namespaces it may see and act in; required for operator, submitter and viewer, none for admin.',
      }),
    ),
    expiresIn: Type.Optional(Type.String({ description: 'e.g. "30d", "12h"; never expires when absent.' })),
  },
  { additionalProperties: false },
);

export async function tokenRoutes(app: FastifyInstance, ctx: CoordinatorContext, resolver: TokenResolver): Promise<void> {
  app.post(
    '/v1/tokens',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Create an API token; the response holds the token string, shown this once only',
        tags: ['tokens'],
        body: NewTokenSchema,
        response: { 201: Type.Intersect([TokenSchema, Type.Object({ token: Type.String() })]), 400: ProblemSchema },
      },
    },
    async (req, reply) => {
      const body = req.body as { name?: string; role: Role; namespaces?: string[]; expiresIn?: string };
      const namespaces = body.namespaces ?? [];
      if (body.role === 'admin' && namespaces.length > 0)
        throw badRequest([{ field: 'namespaces', message: 'admin tokens see every namespace: give none, or choose role operator' }]);
      if (body.role !== 'admin' && body.role !== 'agent' && namespaces.length === 0)
        throw badRequest([{ field: 'namespaces', message: `a ${body.role} token needs at least one namespace, e.g. ["default"]` }]);
      let expiresAt: Date | null = null;
      if (body.expiresIn !== undefined) {
        const ms = parseDuration(body.expiresIn);
        if (ms === undefined || ms <= 0)
          throw badRequest([{ field: 'expiresIn', message: `"${body.expiresIn}" is not a duration; use e.g. "30d" or "12h"` }]);
        expiresAt = new Date(ctx.now() + ms);
      }
      const { token, secret } = await createToken(ctx.db, {
        name: body.name ?? body.role,
        role: body.role,
        namespaces,
        createdBy: req.principal.actor,
        expiresAt,
      });
      req.audit.target = `token=${token.id}`;
      await recordAudit(
        ctx.db,
        auditEntryOf(req, 201, { action: 'token.created', target: token.id, detail: { role: token.role, namespaces, name: token.name } }),
      );
      return reply
        .status(201)
        .header('location', `/v1/tokens/${token.id}`)
        .send({ ...token, token: secret });
    },
  );

  app.get(
    '/v1/tokens',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'List API tokens, newest first (never their secrets)',
        tags: ['tokens'],
        querystring: Type.Object(
          { namespace: Type.Optional(Type.String({ description: 'Only tokens of this namespace.' })) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ items: Type.Array(TokenSchema) }) },
      },
    },
    async (req) => {
      const q = req.query as { namespace?: string };
      return { items: await listTokens(ctx.db, q.namespace ? [q.namespace] : req.principal.namespaces) };
    },
  );

  app.delete(
    '/v1/tokens/:id',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Revoke a token: it is refused from now on (by other coordinators within 10 s)',
        tags: ['tokens'],
        params: Type.Object({ id: Type.String() }),
        response: { 200: TokenSchema, 404: ProblemSchema },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      if (!(await getToken(ctx.db, id))) throw notFound('token', id, 'list them with GET /v1/tokens');
      const token = await revokeToken(ctx.db, id, new Date(ctx.now()));
      resolver.forget(id);
      await recordAudit(
        ctx.db,
        auditEntryOf(req, 200, { action: 'token.revoked', target: id, detail: { role: token?.role, name: token?.name } }),
      );
      return token;
    },
  );
}
