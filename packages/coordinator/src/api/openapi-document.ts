// What the OpenAPI document says beyond the route schemas: info, license, servers, tags, the
// stable ids of routes not yet defined as operations (operations.ts), and every error status an
// operation can answer.
// Routes declare the statuses of their own logic (a 409 for a run that is not finished); the
// ones that come from around the route are added here by rule, so a new route gets them too:
// - any request:        400 (malformed URL or request, or a bad field), 408, 431
// - any non-public one: 401, 403 (auth.ts), 429 (--rate-limit), 503 (PostgreSQL away)
// - a path parameter:   404, 414 (longer than the router takes)
// - a request body:     413 (over the body limit), 415 (not JSON)
// Every 4xx and 5xx is application/problem+json with the Problem schema. The OpenAPI lint
// test (openapi-lint.test.ts) holds the document to a standard linter's recommended rules.
import type { FastifyDynamicSwaggerOptions, SwaggerTransformObject } from '@fastify/swagger';
import { ProblemSchema } from './schemas.js';
import { OPERATION_IDS } from './operations.js';

/** The parts of the document that are not generated from routes (a fresh object each call). */
export const openApiBase = (version: string): NonNullable<FastifyDynamicSwaggerOptions['openapi']> => ({
  openapi: '3.1.0',
  info: {
    title: 'Drover API',
    version,
    description:
      'Jobs, runs, logs and the agent fleet of a Drover cluster. Errors are application/problem+json with a stable `code`. Every operation but the public ones needs `Authorization: Bearer <token>`; `x-drover-access` says which access level (public, read, trigger, operate, admin) it needs.',
    license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
  },
  servers: [
    { url: '/', description: 'The coordinator that serves this document' },
    { url: 'http://127.0.0.1:7400', description: 'A coordinator on this host at the default --api-addr' },
  ],
  components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API token (drover tokens create).' } } },
  tags: [
    { name: 'jobs', description: 'Job definitions: what to run, where, how often and how to react.' },
    { name: 'runs', description: 'Runs of jobs: triggering, their attempts and logs, cancelling and retrying.' },
    { name: 'dead letters', description: 'Runs that failed for good, kept until replayed or dismissed.' },
    { name: 'actions', description: 'What the actions fired by run events did.' },
    { name: 'schedules', description: "Pausing, resuming and previewing schedules, and the scheduler's figures." },
    { name: 'agents', description: 'The fleet: agents and their slots, drain and cordon, alerts, the cluster key.' },
    { name: 'health', description: 'Liveness and readiness probes; public.' },
    { name: 'secrets', description: 'Encrypted values that jobs reference by name; values are never returned.' },
    { name: 'tokens', description: 'API tokens, and who the caller is.' },
    { name: 'audit', description: 'Who changed what, for admins.' },
  ],
});

const RETRY_AFTER = { 'Retry-After': { description: 'Seconds to wait before sending the request again.', schema: { type: 'integer' } } };

/** The shared error responses, by status: their component name and what they mean. */
const ERROR_RESPONSES: Readonly<Record<number, { name: string; description: string; headers?: object }>> = {
  400: {
    name: 'BadRequest',
    description:
      'The request is malformed (not HTTP, a URL that does not decode) or a parameter or body field is invalid; `errors` names each field. Nothing was changed.',
  },
  401: { name: 'Unauthorized', description: 'No token, or one that is unknown, expired or revoked: send `Authorization: Bearer <token>`.' },
  403: {
    name: 'Forbidden',
    description: "The token's role does not hold this operation's access level (`x-drover-access`), or the namespace is not the token's.",
  },
  404: { name: 'NotFound', description: 'No such resource (or none in the namespaces of the token).' },
  408: { name: 'RequestTimeout', description: 'The request was not received in time (--api-request-timeout); send it again, whole.' },
  409: {
    name: 'Conflict',
    description: 'The state of the resource does not allow it now; `code` says which conflict. Nothing was changed.',
  },
  413: { name: 'ContentTooLarge', description: 'The body is larger than this operation accepts. Nothing was changed.' },
  414: { name: 'UriTooLong', description: 'A path parameter is longer than any id or name can be.' },
  415: { name: 'UnsupportedMediaType', description: 'The body has a Content-Type the coordinator does not read: send `application/json`.' },
  422: { name: 'UnprocessableContent', description: 'The request is well formed but cannot be carried out as asked; `detail` says why.' },
  429: {
    name: 'TooManyRequests',
    description:
      'More requests than --rate-limit allows for this token (or, for log follows, too many open follows); retry after Retry-After.',
    headers: RETRY_AFTER,
  },
  431: { name: 'HeadersTooLarge', description: 'The request line and headers are larger than the coordinator reads.' },
  503: {
    name: 'ServiceUnavailable',
    description: 'PostgreSQL (or what the operation needs) cannot be reached now; nothing was changed. Retry after Retry-After.',
    headers: RETRY_AFTER,
  },
};

/** Responses an operation declares that are not problems. */
const OWN_RESPONSES: Readonly<Record<string, Record<number, object>>> = {
  'GET /readyz': { 503: { description: 'Not ready: the same report, with the check that failed.' } },
};

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const WITH_BODY = new Set(['post', 'put', 'patch', 'delete']);
const PROBLEM_REF = '#/components/schemas/Problem';

interface Operation {
  parameters?: unknown[];
  requestBody?: unknown;
  responses?: Record<string, unknown>;
  operationId?: string;
  'x-drover-access'?: string;
}

/** The error statuses an operation can answer, from where its request meets the server. */
function statusesOf(method: string, path: string, op: Operation, own: Record<number, object>): number[] {
  const statuses = new Set([400, 408, 431, ...Object.keys(own).map(Number)]);
  if (op['x-drover-access'] !== 'public') for (const s of [401, 403, 429, 503]) statuses.add(s);
  if (path.includes('{')) for (const s of [404, 414]) statuses.add(s);
  if (WITH_BODY.has(method) || op.requestBody) for (const s of [413, 415]) statuses.add(s);
  for (const key of Object.keys(op.responses ?? {})) if (Number(key) >= 400) statuses.add(Number(key));
  return [...statuses];
}

function problemResponse(description: string, headers?: object): object {
  return { description, ...(headers ? { headers } : {}), content: { 'application/problem+json': { schema: { $ref: PROBLEM_REF } } } };
}

/**
 * @fastify/swagger's `transformObject`: adds operation ids and the error responses above to
 * the document generated from the routes. Pure: the same routes give the same document.
 */
export const finishDocument: SwaggerTransformObject = (documentObject) => {
  if (!('openapiObject' in documentObject)) return documentObject.swaggerObject;
  const { openapiObject } = documentObject;
  const doc = openapiObject as { paths?: Record<string, Record<string, Operation>>; components?: Record<string, Record<string, unknown>> };
  const used = new Set<number>();
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const key = `${method.toUpperCase()} ${path}`;
      // An operation's own id (operation.ts), else the list's; written last, where it has always been.
      const id = op.operationId ?? OPERATION_IDS[key];
      delete op.operationId;
      if (id) op.operationId = id;
      const responses: Record<string, unknown> = {};
      const own = OWN_RESPONSES[key] ?? {};
      for (const [status, response] of Object.entries(op.responses ?? {})) if (Number(status) < 400) responses[status] = response;
      for (const status of statusesOf(method, path, op, own).sort((a, b) => a - b)) {
        const shared = ERROR_RESPONSES[status];
        if (own[status]) responses[status] = own[status];
        else if (shared) {
          responses[status] = { $ref: `#/components/responses/${shared.name}` };
          used.add(status);
        } else {
          const declared = op.responses?.[String(status)] as { description?: string } | undefined;
          responses[status] = problemResponse(declared?.description ?? `HTTP ${status}`);
        }
      }
      op.responses = responses;
    }
  }
  const components = (doc.components ??= {});
  // JSON round trip: plain JSON Schema, without TypeBox's symbols and $id.
  const { $id: _id, ...problem } = JSON.parse(JSON.stringify(ProblemSchema)) as Record<string, unknown>;
  components.schemas = { ...components.schemas, Problem: problem };
  components.responses = Object.fromEntries(
    [...used]
      .sort((a, b) => a - b)
      .flatMap((status) => {
        const r = ERROR_RESPONSES[status];
        return r ? [[r.name, problemResponse(r.description, r.headers)]] : [];
      }),
  );
  return openapiObject;
};
