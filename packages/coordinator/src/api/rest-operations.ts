// The REST adapter of the operation layer (operation.ts): each definition becomes one fastify
// route with the TypeBox type provider, so the route's schema both validates the request and
// types what the handler gets. The OpenAPI document is generated from these routes; the
// statuses of the codes an operation raises are declared as problem responses, and the
// error handler (problem.ts) answers a DomainError with its code's status.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { TSchema } from '@sinclair/typebox';
import { API_ERROR_STATUS } from '@drover/shared';
import type { CoordinatorContext } from '../context.js';
import type { AnyOperation, Caller } from './operation.js';
import { ProblemSchema } from './schemas.js';

/** The fastify form of an OpenAPI path: `/v1/runs/{id}` → `/v1/runs/:id`. */
export const restUrl = (path: string): string => path.replace(/\{([^}]+)\}/g, ':$1');

/** The response schemas of an operation: its successes, and a problem for each status its codes have. */
export function responseSchemas(op: AnyOperation): Record<number, TSchema> {
  const problems = Object.fromEntries(op.errors.map((code) => [API_ERROR_STATUS[code], ProblemSchema]));
  return { ...op.responses, ...problems };
}

/** Registers operations as routes; the handler runs with the request's principal and audit record. */
export function registerOperations(app: FastifyInstance, ctx: CoordinatorContext, operations: readonly AnyOperation[]): void {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  for (const op of operations) {
    const { bodyDefault } = op;
    typed.route({
      method: op.method,
      url: restUrl(op.path),
      config: { access: op.access, audit: op.audit },
      ...(op.bodyLimit !== undefined ? { bodyLimit: op.bodyLimit } : {}),
      ...(op.bodyCheckedByHandler ? { validatorCompiler: () => () => true } : {}),
      ...(bodyDefault !== undefined
        ? {
            preValidation: async (req) => {
              if (req.body === undefined || req.body === null) req.body = structuredClone(bodyDefault);
            },
          }
        : {}),
      schema: {
        operationId: op.operationId,
        summary: op.summary,
        ...(op.description !== undefined ? { description: op.description } : {}),
        tags: [...op.tags],
        ...(op.params ? { params: op.params } : {}),
        ...(op.headers ? { headers: op.headers } : {}),
        ...(op.query ? { querystring: op.query } : {}),
        ...(op.body ? { body: op.body } : {}),
        response: responseSchemas(op),
      },
      handler: async (req, reply) => {
        const caller: Caller = { principal: req.principal, audit: req.audit, method: req.method, ip: req.ip };
        // Validated against the operation's own schemas, which type its handler's input.
        const input = { params: req.params, query: req.query, headers: req.headers, body: req.body };
        const result = await op.handler(input, caller, ctx);
        if (result.headers) void reply.headers(result.headers);
        return reply.status(result.status).send(result.body);
      },
    });
  }
}
