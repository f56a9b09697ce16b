// Errors as RFC 9457 `application/problem+json`, naming the offending field or reason and
// saying what to do next. Every problem carries a `code` from the one list in
// @drover/shared (api-error-codes.ts) and a title that is its status's reason phrase.
// Domain code raises DomainError (../domain-error.ts) by code; here the code becomes its status.
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { API_ERROR_STATUS, ValidationError, apiErrorCodeOfStatus, type ApiErrorCode, type FieldError } from '@drover/shared';
import { isStoreUnavailable } from '../store/store-unavailable.js';
import { DomainError, invalidInput, notFound } from '../domain-error.js';

/** Seconds a client is asked to wait before retrying a request refused while PostgreSQL is away. */
const STORE_RETRY_AFTER_S = 5;

/** The title of a problem with this status: RFC 9110's reason phrase (Node keeps a few older ones). */
export function titleOf(status: number): string {
  if (status === 413) return 'Content Too Large';
  if (status === 422) return 'Unprocessable Content';
  return STATUS_CODES[status] ?? 'Error';
}

/**
 * An error only the HTTP side raises (authentication, rate limits, log follows), with its
 * status at hand; operations raise DomainError, which the error handler maps the same way.
 */
export class HttpProblem extends DomainError {
  override name = 'HttpProblem';
  readonly status: number;
  readonly title: string;
  constructor(code: ApiErrorCode, detail: string, errors?: FieldError[]) {
    super(code, detail, errors);
    this.status = API_ERROR_STATUS[code];
    this.title = titleOf(this.status);
  }
}

// The domain's own constructors, under the names the routes not yet converted to operations use.
export { notFound, invalidInput as badRequest };

/** Sends a problem document; the title follows from the status. */
export function sendProblem(reply: FastifyReply, status: number, code: ApiErrorCode, detail: string, errors?: FieldError[]): FastifyReply {
  return reply
    .status(status)
    .type('application/problem+json')
    .send({
      type: 'about:blank',
      title: titleOf(status),
      status,
      code,
      detail,
      ...(errors ? { errors } : {}),
      instance: reply.request.url,
    });
}

/** The problem for an error fastify raised itself (parsing, content type, body size). */
function frameworkProblem(reply: FastifyReply, fe: FastifyError): FastifyReply {
  const status = fe.statusCode!;
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': {
      // Refused while reading the body: nothing was parsed, stored or published.
      const limit = reply.request.routeOptions.bodyLimit;
      return sendProblem(
        reply,
        413,
        'BODY_TOO_LARGE',
        `the request body is larger than the ${limit ? `${limit} bytes` : 'size'} this endpoint accepts; nothing was changed. Send less (split a batch into several requests)`,
      );
    }
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_INVALID_TYPE':
      return sendProblem(
        reply,
        status,
        apiErrorCodeOfStatus(status),
        `${fe.message}; send a JSON body with Content-Type: application/json`,
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return sendProblem(reply, 400, 'INVALID_JSON', `the body is not valid JSON (${fe.message}); send a JSON document`);
    default:
      // JSON.parse's own errors, prototype poisoning, a bad Content-Encoding…
      if (fe instanceof SyntaxError || /JSON/.test(fe.message))
        return sendProblem(reply, 400, 'INVALID_JSON', `the body is not valid JSON (${fe.message}); send a JSON document`);
      return sendProblem(reply, status, apiErrorCodeOfStatus(status), fe.message);
  }
}

/** Installs the error and not-found handlers that speak problem+json. */
export function installProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | Error, _req, reply) => {
    if (err instanceof DomainError) return sendProblem(reply, API_ERROR_STATUS[err.code], err.code, err.message, err.errors);
    if (err instanceof ValidationError) return sendProblem(reply, 400, 'VALIDATION_FAILED', err.message, err.errors);
    const fe = err as FastifyError;
    if (fe.validation) {
      const errors = fe.validation.map((v) => {
        // A missing or an unknown member is named by Ajv's params, not by the path.
        const { missingProperty, additionalProperty } = v.params as { missingProperty?: string; additionalProperty?: string };
        const path = v.instancePath.replace(/^\//, '').replace(/\//g, '.');
        const field = [path, missingProperty ?? additionalProperty].filter(Boolean).join('.') || (fe.validationContext ?? 'body');
        return { field, message: additionalProperty ? 'is not a known field' : (v.message ?? 'is invalid') };
      });
      return sendProblem(reply, 400, 'VALIDATION_FAILED', errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);
    }
    if (isStoreUnavailable(err)) {
      // Nothing was committed: the same request (with its Idempotency-Key) is safe to send again.
      reply.log.warn({ err: (err as Error).message }, 'request refused: PostgreSQL is unavailable');
      reply.header('retry-after', String(STORE_RETRY_AFTER_S));
      return sendProblem(
        reply,
        503,
        'STORE_UNAVAILABLE',
        `PostgreSQL, where the coordinator keeps jobs and runs, cannot be reached (${(err as Error).message}); nothing was changed. Retry in a few seconds; send triggers with an Idempotency-Key header so that a retry makes one run at most`,
      );
    }
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) return frameworkProblem(reply, fe);
    reply.log.error({ err }, 'request failed');
    return sendProblem(reply, 500, 'INTERNAL_ERROR', 'the coordinator failed to handle this request; see its log for details');
  });
  app.setNotFoundHandler((req, reply) =>
    sendProblem(reply, 404, 'ROUTE_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}; see /openapi.json for the API`),
  );
}
