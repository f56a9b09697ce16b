// Every `code` an API problem (application/problem+json) can carry, in one list: clients branch
// on these, never on titles or details. docs/api-errors.md describes each; a test checks that
// the two agree and the API fuzz test that no answer carries a code outside this list.

/** The stable codes of API problems, with the status each is sent with. */
export const API_ERROR_STATUS = {
  // 400: the request cannot be read or a field is wrong; `errors` names the fields.
  VALIDATION_FAILED: 400,
  INVALID_JSON: 400,
  INVALID_URL: 400,
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  REQUEST_TIMEOUT: 408,
  JOB_NAME_TAKEN: 409,
  JOB_NAME_AMBIGUOUS: 409,
  JOB_DELETED: 409,
  JOB_HAS_NO_SCHEDULE: 409,
  RUN_FINISHED: 409,
  RUN_NOT_FINISHED: 409,
  RUN_ALREADY_REQUEUED: 409,
  DEAD_LETTER_RESOLVED: 409,
  AGENT_STATE_CONFLICT: 409,
  SECRETS_KEY_NOT_CONFIGURED: 409,
  BODY_TOO_LARGE: 413,
  URI_TOO_LONG: 414,
  UNSUPPORTED_MEDIA_TYPE: 415,
  IDEMPOTENCY_KEY_REUSED: 422,
  RATE_LIMITED: 429,
  AUTH_THROTTLED: 429,
  TOO_MANY_FOLLOWERS: 429,
  HEADERS_TOO_LARGE: 431,
  INTERNAL_ERROR: 500,
  CLUSTER_KEY_NOT_LOADED: 503,
  STORE_UNAVAILABLE: 503,
} as const;

/** A stable code of an API problem. */
export type ApiErrorCode = keyof typeof API_ERROR_STATUS;

/** Every API problem code. */
export const API_ERROR_CODES = Object.keys(API_ERROR_STATUS) as readonly ApiErrorCode[];

/** The code of a problem only its status describes (framework errors without a code of their own). */
export function apiErrorCodeOfStatus(status: number): ApiErrorCode {
  const generic: Partial<Record<number, ApiErrorCode>> = {
    401: 'UNAUTHENTICATED',
    403: 'FORBIDDEN',
    404: 'ROUTE_NOT_FOUND',
    408: 'REQUEST_TIMEOUT',
    413: 'BODY_TOO_LARGE',
    414: 'URI_TOO_LONG',
    415: 'UNSUPPORTED_MEDIA_TYPE',
    429: 'RATE_LIMITED',
    431: 'HEADERS_TOO_LARGE',
  };
  return generic[status] ?? (status >= 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST');
}
