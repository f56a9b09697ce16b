// The errors domain code (ops/, store/, actions/, dispatch/, schedule/) raises when a request
// cannot be carried out: a stable code from the one list in @drover/shared (api-error-codes.ts),
// a detail that says what to do next, and the offending fields. They know nothing of HTTP:
// each transport maps the code to its answer (the REST API to a status and a problem document,
// api/problem.ts; the NATS API will reply with the same document).
import { DroverError, type ApiErrorCode, type FieldError } from '@drover/shared';

/** A stable error code clients branch on (the list and its statuses: @drover/shared api-error-codes.ts). */
export type ErrorCode = ApiErrorCode;

/** A request the domain refuses, by code; `errors` names each offending field when there are some. */
export class DomainError extends DroverError {
  override name = 'DomainError';
  override readonly code: ErrorCode;
  constructor(
    code: ErrorCode,
    detail: string,
    readonly errors?: FieldError[],
    options?: { cause?: unknown },
  ) {
    super(code, detail, options);
    this.code = code;
  }
}

/** Nothing with this id (or none the caller may see); `hint` says how to find what exists. */
export const notFound = (what: string, id: string, hint = ''): DomainError =>
  new DomainError('NOT_FOUND', `no ${what} with id ${JSON.stringify(id)}${hint ? `; ${hint}` : ''}`);

/** Input fields that cannot be accepted, every one of them so that a caller can fix them all at once. */
export const invalidInput = (errors: FieldError[]): DomainError =>
  new DomainError('VALIDATION_FAILED', errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; '), errors);
