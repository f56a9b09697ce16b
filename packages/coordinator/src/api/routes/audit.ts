// GET /v1/audit: the audit log, newest first, for admins.
import { Type } from '@sinclair/typebox';
import { invalidInput } from '../../domain-error.js';
import { listAudit } from '../../store/audit.js';
import { defineOperation, type AnyOperation } from '../operation.js';

const OUTCOMES = ['ok', 'denied', 'failed', 'rejected'] as const;

const AuditRecordSchema = Type.Object(
  {
    id: Type.String(),
    at: Type.String({ format: 'date-time' }),
    actor: Type.String({ description: '`token:<id>`, `agent:<id>`, `anonymous`, `dev` or `system`.' }),
    role: Type.Union([Type.String(), Type.Null()]),
    namespace: Type.Union([Type.String(), Type.Null()]),
    action: Type.String({
      description: '`<METHOD> <route>` for API requests; `auth.failed`, `auth.forbidden`, `token.created`… for security events.',
    }),
    target: Type.Union([Type.String(), Type.Null()]),
    outcome: Type.Union(OUTCOMES.map((o) => Type.Literal(o))),
    status: Type.Union([Type.Integer(), Type.Null()]),
    ip: Type.Union([Type.String(), Type.Null()]),
    detail: Type.Record(Type.String(), Type.Unknown()),
  },
  { $id: 'AuditRecord' },
);

const listAuditRecords = defineOperation({
  operationId: 'listAuditRecords',
  method: 'GET',
  path: '/v1/audit',
  summary: 'Read the audit log, newest first: every mutating request and every security event',
  tags: ['audit'],
  access: 'admin',
  query: Type.Object(
    {
      actor: Type.Optional(Type.String()),
      action: Type.Optional(Type.String({ description: 'Exact, e.g. "POST /v1/jobs" or "auth.failed".' })),
      outcome: Type.Optional(Type.Union(OUTCOMES.map((o) => Type.Literal(o)))),
      namespace: Type.Optional(Type.String()),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
      cursor: Type.Optional(Type.String({ description: 'nextCursor of the previous page.' })),
    },
    { additionalProperties: false },
  ),
  responses: { 200: Type.Object({ items: Type.Array(AuditRecordSchema), nextCursor: Type.Union([Type.String(), Type.Null()]) }) },
  errors: [],
  handler: async ({ query }, _caller, ctx) => {
    // An audit id is a bigint: more digits than one holds is no cursor this API gave out.
    if (query.cursor !== undefined && !/^\d{1,18}$/.test(query.cursor))
      throw invalidInput([{ field: 'cursor', message: 'is not a nextCursor this API gave out' }]);
    const limit = query.limit ?? 100;
    const items = await listAudit(ctx.db, { ...query, before: query.cursor, limit });
    return { status: 200, body: { items, nextCursor: items.length === limit ? (items[items.length - 1]?.id ?? null) : null } };
  },
});

export const auditOperations: readonly AnyOperation[] = [listAuditRecords];
