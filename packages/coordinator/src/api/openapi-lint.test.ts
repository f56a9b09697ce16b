// The OpenAPI document (as GET /openapi.json serves it, built offline) held to Redocly's
// linter with its `recommended` rules, plus problem+json on every 4xx: any error or warning
// fails. And what clients and the NATS API build on: a stable, unique camelCase operationId
// on every operation, and the error statuses every operation can answer.
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { describe, expect, it } from 'vitest';
import { openApiDocument, type OpenApiDocument } from './openapi.js';
import { OPERATION_IDS } from './operations.js';

interface Operation {
  operationId?: string;
  requestBody?: unknown;
  responses: Record<string, { $ref?: string; content?: Record<string, unknown> }>;
  'x-drover-access'?: string;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

function operations(doc: OpenApiDocument): Array<{ key: string; path: string; method: string; op: Operation }> {
  const paths = (doc as unknown as { paths: Record<string, Record<string, Operation>> }).paths;
  return Object.entries(paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((method) => ({
      key: `${method.toUpperCase()} ${path}`,
      path,
      method,
      op: item[method] as Operation,
    })),
  );
}

/** Redocly's findings on a document, one line each: severity, rule, where, what. */
async function lintOpenApi(doc: unknown): Promise<string[]> {
  const config = await createConfig({ extends: ['recommended'], rules: { 'operation-4xx-problem-details-rfc7807': 'error' } });
  const problems = await lintFromString({ source: JSON.stringify(doc, null, 2), absoluteRef: 'openapi.json', config });
  return problems.map((p) => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer ?? ''}: ${p.message}`);
}

describe('the OpenAPI document', () => {
  it("lints clean with Redocly's recommended rules and problem+json on every 4xx", async () => {
    expect(await lintOpenApi(await openApiDocument())).toEqual([]);
  });

  // The ids themselves are pinned by the generated client (packages/client/src/schema.ts),
  // whose drift test fails when one changes.
  it('names every operation with a unique camelCase operationId, and operations.ts lists no stale one', async () => {
    const ops = operations(await openApiDocument());
    expect(ops.length).toBeGreaterThan(40);
    for (const { key, op } of ops)
      expect(op.operationId, `${key}: give its operation an operationId (api/operation.ts)`).toMatch(/^[a-z][a-zA-Z0-9]*$/);
    const ids = ops.map((o) => o.op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    const byKey = new Map(ops.map((o) => [o.key, o.op.operationId]));
    for (const [key, id] of Object.entries(OPERATION_IDS)) expect(byKey.get(key), key).toBe(id);
  });

  it('declares the statuses that come from around each route, each a problem', async () => {
    for (const { key, path, method, op } of operations(await openApiDocument())) {
      const declared = Object.keys(op.responses).map(Number);
      const want = [400, 408, 431];
      if (op['x-drover-access'] !== 'public') want.push(401, 403, 429, 503);
      if (path.includes('{')) want.push(404, 414);
      if (method !== 'get') want.push(413, 415);
      expect(declared, key).toEqual(expect.arrayContaining(want));
      for (const status of declared.filter((s) => s >= 400 && key !== 'GET /readyz')) {
        const response = op.responses[String(status)];
        expect(response?.$ref ?? Object.keys(response?.content ?? {}).join(), `${key} ${status}`).toMatch(
          /^#\/components\/responses\/|^application\/problem\+json$/,
        );
      }
    }
  });
});
