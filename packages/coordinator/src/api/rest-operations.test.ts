import Fastify from 'fastify';
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import type { CoordinatorContext } from '../context.js';
import { DomainError } from '../domain-error.js';
import type { RequestAudit } from './auth.js';
import { defineOperation } from './operation.js';
import { installProblemHandlers } from './problem.js';
import { registerOperations, responseSchemas, restUrl } from './rest-operations.js';

const poke = defineOperation({
  operationId: 'pokeThing',
  method: 'POST',
  path: '/v1/things/{id}/poke',
  summary: 'Poke a thing',
  tags: ['things'],
  access: 'operate',
  params: Type.Object({ id: Type.String({ pattern: '^[a-z]+$' }) }),
  body: Type.Object({ times: Type.Optional(Type.Integer({ minimum: 1 })) }, { additionalProperties: false }),
  bodyDefault: {},
  responses: { 201: Type.Object({ id: Type.String(), times: Type.Integer() }) },
  errors: ['NOT_FOUND', 'RUN_FINISHED'],
  handler: async ({ params, body }, caller) => {
    if (params.id === 'gone') throw new DomainError('RUN_FINISHED', `thing ${params.id} is gone`);
    caller.audit.target = params.id;
    return { status: 201, body: { id: params.id, times: body.times ?? 1 }, headers: { location: `/v1/things/${params.id}` } };
  },
});

async function api() {
  const app = Fastify();
  installProblemHandlers(app);
  app.decorateRequest('audit', null as unknown as RequestAudit);
  app.addHook('onRequest', async (req) => {
    req.audit = {};
  });
  registerOperations(app, {} as CoordinatorContext, [poke]);
  await app.ready();
  return app;
}

describe('the REST adapter of operations', () => {
  it('serves an operation at its path, with its status, body and headers', async () => {
    const app = await api();
    const res = await app.inject({ method: 'POST', url: '/v1/things/abc/poke', payload: { times: 3 } });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({ id: 'abc', times: 3 });
    expect(res.headers.location).toBe('/v1/things/abc');
    // No body at all is the operation's bodyDefault.
    const bare = await app.inject({ method: 'POST', url: '/v1/things/abc/poke' });
    expect(bare.json()).toEqual({ id: 'abc', times: 1 });
  });

  it('answers a domain error with its code, its status and a problem document', async () => {
    const app = await api();
    const res = await app.inject({ method: 'POST', url: '/v1/things/gone/poke', payload: {} });
    expect(res.statusCode).toBe(409);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ status: 409, code: 'RUN_FINISHED', detail: 'thing gone is gone', title: 'Conflict' });
  });

  it('refuses input its schemas do not allow before the handler runs', async () => {
    const app = await api();
    const res = await app.inject({ method: 'POST', url: '/v1/things/ABC/poke', payload: { times: 0, extra: 1 } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('declares the access, the audit and a problem for each status its codes have', () => {
    expect(restUrl('/v1/dead-letters/{runId}/replay')).toBe('/v1/dead-letters/:runId/replay');
    expect(Object.keys(responseSchemas(poke))).toEqual(['201', '404', '409']);
    expect(poke.audit).toBe(true);
    const { audit: _audit, ...spec } = poke;
    expect(defineOperation({ ...spec, method: 'GET' }).audit).toBe(false);
  });
});
