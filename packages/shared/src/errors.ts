/** A problem with one field of user input; `field` is a dotted path such as `executor.command`. */
export interface FieldError {
  field: string;
  message: string;
}

/** Base class of Drover errors: every error has a stable `code` and may carry a `cause`. */
export class DroverError extends Error {
  override name = 'DroverError';
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Input that cannot be accepted; lists every offending field so a user can fix them all at once. */
export class ValidationError extends DroverError {
  override name = 'ValidationError';
  constructor(readonly errors: FieldError[]) {
    super('VALIDATION_FAILED', errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; '));
  }
}
