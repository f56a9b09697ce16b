// Errors as RFC 9457 `application/problem+json`, naming the offending field or reason and
// saying what to do next.
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { DroverError, ValidationError, type FieldError } from '@drover/shared';
import { isStoreUnavailable } from '../store/store-unavailable.js';

/** Seconds a client is asked to wait before retrying a request refused while PostgreSQL is away. */
const STORE_RETRY_AFTER_S = 5;

/** An error the API turns into a problem response with this status. */
export class HttpProblem extends DroverError {
  override name = 'HttpProblem';
  constructor(
    readonly status: number,
    readonly title: string,
    detail: string,
    readonly errors?: FieldError[],
  ) {
    super(title.toUpperCase().replace(/[^A-Z]+/g, '_'), detail);
  }
}

export const notFound = (what: string, id: string, hint = ''): HttpProblem =>
  new HttpProblem(404, 'Not Found', `no ${what} with id ${JSON.stringify(id)}${hint ? `; ${hint}` : ''}`);

export const badRequest = (errors: FieldError[]): HttpProblem =>
  new HttpProblem(400, 'Bad Request', errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; '), errors);

function send(reply: FastifyReply, status: number, title: string, detail: string, errors?: FieldError[]): FastifyReply {
  return reply
    .status(status)
    .type('application/problem+json')
    .send({ type: 'about:blank', title, status, detail, ...(errors ? { errors } : {}), instance: reply.request.url });
}

/** Installs the error and not-found handlers that speak problem+json. */
export function installProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | Error, _req, reply) => {
    if (err instanceof HttpProblem) return send(reply, err.status, err.title, err.message, err.errors);
    if (err instanceof ValidationError) return send(reply, 400, 'Bad Request', err.message, err.errors);
    const fe = err as FastifyError;
    if (fe.validation) {
      const errors = fe.validation.map((v) => {
        // A missing or an unknown member is named by Ajv's params, not by the path.
        const { missingProperty, additionalProperty } = v.params as { missingProperty?: string; additionalProperty?: string };
        const path = v.instancePath.replace(/^\//, '').replace(/\//g, '.');
        const field = [path, missingProperty ?? additionalProperty].filter(Boolean).join('.') || (fe.validationContext ?? 'body');
        return { field, message: additionalProperty ? 'is not a known field' : (v.message ?? 'is invalid') };
      });
      return send(reply, 400, 'Bad Request', errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);
    }
    if (isStoreUnavailable(err)) {
      // Nothing was committed: the same request (with its Idempotency-Key) is safe to send again.
      reply.log.warn({ err: (err as Error).message }, 'request refused: PostgreSQL is unavailable');
      return reply
        .status(503)
        .header('retry-after', String(STORE_RETRY_AFTER_S))
        .type('application/problem+json')
        .send({
          type: 'about:blank',
          title: 'Service Unavailable',
          status: 503,
          code: 'STORE_UNAVAILABLE',
          detail: `PostgreSQL, where the coordinator keeps jobs and runs, cannot be reached (${(err as Error).message}); nothing was changed. Retry in a few seconds; send triggers with an Idempotency-Key header so that a retry makes one run at most`,
          instance: reply.request.url,
        });
    }
    if (fe.statusCode === 413) {
      // Refused while reading the body: nothing was parsed, stored or published.
      const limit = reply.request.routeOptions.bodyLimit;
      return send(
        reply,
        413,
        'Content Too Large',
        `the request body is larger than the ${limit ? `${limit} bytes` : 'size'} this endpoint accepts; nothing was changed. Send less (split a batch into several requests)`,
      );
    }
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
      return send(reply, fe.statusCode, 'Bad Request', fe.message);
    }
    reply.log.error({ err }, 'request failed');
    return send(reply, 500, 'Internal Server Error', 'the coordinator failed to handle this request; see its log for details');
  });
  app.setNotFoundHandler((req, reply) =>
    send(reply, 404, 'Not Found', `no route ${req.method} ${req.url.split('?')[0]}; see /openapi.json for the API`),
  );
}
