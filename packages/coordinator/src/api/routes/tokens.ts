// /v1/tokens: API tokens, created (the token string is in the response once, never again),
// listed without secrets, and revoked. Admin only: an operator handing out tokens could mint
// one for a namespace or role it does not hold, so delegation waits for a design of its own.
import { Type } from '@sinclair/typebox';
import { NAMESPACE_PATTERN, parseDuration } from '@drover/shared';
import { invalidInput, notFound } from '../../domain-error.js';
import { createToken, listTokens, revokeToken } from '../../store/tokens.js';
import { recordAudit, type AuditEntry } from '../../store/audit.js';
import { ROLES } from '../access.js';
import { auditRoleOf, type TokenResolver } from '../auth.js';
import { defineOperation, type AnyOperation, type Caller } from '../operation.js';

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

/** A security event of a token call for the audit log, beside the call's own record. */
function tokenEvent(caller: Caller, status: number, event: Pick<AuditEntry, 'action' | 'target' | 'detail'>): AuditEntry {
  const p = caller.principal;
  return {
    actor: p.actor,
    role: auditRoleOf(p),
    namespace: caller.audit.namespace ?? null,
    outcome: 'ok',
    status,
    ip: caller.ip,
    ...event,
  };
}

/** The token operations; revoking one makes `resolver` forget it at once. */
export function tokenOperations(resolver: TokenResolver): readonly AnyOperation[] {
  const createTokenOperation = defineOperation({
    operationId: 'createToken',
    method: 'POST',
    path: '/v1/tokens',
    summary: 'Create an API token; the response holds the token string, shown this once only',
    tags: ['tokens'],
    access: 'admin',
    body: NewTokenSchema,
    responses: { 201: Type.Intersect([TokenSchema, Type.Object({ token: Type.String() })]) },
    errors: ['VALIDATION_FAILED'],
    handler: async ({ body }, caller, ctx) => {
      const namespaces = body.namespaces ?? [];
      if (body.role === 'admin' && namespaces.length > 0)
        throw invalidInput([{ field: 'namespaces', message: 'admin tokens see every namespace: give none, or choose role operator' }]);
      if (body.role !== 'admin' && body.role !== 'agent' && namespaces.length === 0)
        throw invalidInput([{ field: 'namespaces', message: `a ${body.role} token needs at least one namespace, e.g. ["default"]` }]);
      let expiresAt: Date | null = null;
      if (body.expiresIn !== undefined) {
        const ms = parseDuration(body.expiresIn);
        if (ms === undefined || ms <= 0)
          throw invalidInput([{ field: 'expiresIn', message: `"${body.expiresIn}" is not a duration; use e.g. "30d" or "12h"` }]);
        expiresAt = new Date(ctx.now() + ms);
      }
      const { token, secret } = await createToken(ctx.db, {
        name: body.name ?? body.role,
        role: body.role,
        namespaces,
        createdBy: caller.principal.actor,
        expiresAt,
      });
      caller.audit.target = `token=${token.id}`;
      await recordAudit(
        ctx.db,
        tokenEvent(caller, 201, { action: 'token.created', target: token.id, detail: { role: token.role, namespaces, name: token.name } }),
      );
      return { status: 201, body: { ...token, token: secret }, headers: { location: `/v1/tokens/${token.id}` } };
    },
  });

  const listTokensOperation = defineOperation({
    operationId: 'listTokens',
    method: 'GET',
    path: '/v1/tokens',
    summary: 'List API tokens, newest first (never their secrets)',
    tags: ['tokens'],
    access: 'admin',
    query: Type.Object(
      { namespace: Type.Optional(Type.String({ description: 'Only tokens of this namespace.' })) },
      { additionalProperties: false },
    ),
    responses: { 200: Type.Object({ items: Type.Array(TokenSchema) }) },
    errors: [],
    handler: async ({ query }, caller, ctx) => ({
      status: 200,
      body: { items: await listTokens(ctx.db, query.namespace ? [query.namespace] : caller.principal.namespaces) },
    }),
  });

  const revokeTokenOperation = defineOperation({
    operationId: 'revokeToken',
    method: 'DELETE',
    path: '/v1/tokens/{id}',
    summary: 'Revoke a token: it is refused from now on (by other coordinators within 10 s)',
    tags: ['tokens'],
    access: 'admin',
    params: Type.Object({ id: Type.String() }),
    responses: { 200: TokenSchema },
    errors: ['NOT_FOUND'],
    handler: async ({ params: { id } }, caller, ctx) => {
      // Revoking reads the token back: none means there was none to revoke.
      const token = await revokeToken(ctx.db, id, new Date(ctx.now()));
      if (!token) throw notFound('token', id, 'list them with GET /v1/tokens');
      resolver.forget(id);
      await recordAudit(
        ctx.db,
        tokenEvent(caller, 200, { action: 'token.revoked', target: id, detail: { role: token.role, name: token.name } }),
      );
      return { status: 200, body: token };
    },
  });

  return [createTokenOperation, listTokensOperation, revokeTokenOperation];
}
