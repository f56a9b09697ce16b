// Errors of the Drover client: what the API refused (a problem+json body) and a coordinator
// that could not be reached, each saying what to do next.

/** One offending field of a 400, e.g. `{ field: "executor.command", message: "is required" }`. */
export interface FieldError {
  field: string;
  message: string;
}

/** An RFC 9457 problem, as the API sends with every 4xx and 5xx. */
export interface Problem {
  type?: string;
  title: string;
  status: number;
  /** A stable name of the problem (API_ERROR_CODES in @drover/shared, docs/api-errors.md). */
  code?: string;
  detail: string;
  instance?: string;
  errors?: FieldError[];
}

/** A request the API answered with an error status; `detail` is its explanation. */
export class DroverApiError extends Error {
  override name = 'DroverApiError';
  /** The problem's code (e.g. VALIDATION_FAILED, RUN_NOT_FINISHED); else upper snake case of its title. */
  readonly code: string;
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  /** Every offending field of a validation failure (empty otherwise). */
  readonly errors: FieldError[];
  readonly instance: string | undefined;

  constructor(problem: Problem, options?: { cause?: unknown }) {
    super(problem.detail || problem.title, options);
    this.status = problem.status;
    this.title = problem.title;
    this.detail = problem.detail;
    this.errors = problem.errors ?? [];
    this.instance = problem.instance;
    this.code = problem.code ?? (problem.title.toUpperCase().replace(/[^A-Z]+/g, '_') || `HTTP_${problem.status}`);
  }

  /** The error for a response and its parsed body, whatever shape the body has. */
  static fromResponse(response: Response, body: unknown): DroverApiError {
    return new DroverApiError(problemOf(response, body), { cause: body });
  }
}

/** Reads a problem from a body, falling back to the status line when it is not one (a proxy's page). */
export function problemOf(response: Pick<Response, 'status' | 'statusText'>, body: unknown): Problem {
  const fallback = response.statusText || `HTTP ${response.status}`;
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
    const b = body as Record<string, unknown>;
    const errors = Array.isArray(b.errors)
      ? b.errors.filter((e): e is FieldError => typeof e?.field === 'string' && typeof e?.message === 'string')
      : undefined;
    return {
      ...(typeof b.type === 'string' ? { type: b.type } : {}),
      title: typeof b.title === 'string' ? b.title : fallback,
      status: typeof b.status === 'number' ? b.status : response.status,
      ...(typeof b.code === 'string' ? { code: b.code } : {}),
      detail: typeof b.detail === 'string' ? b.detail : typeof b.message === 'string' ? b.message : fallback,
      ...(typeof b.instance === 'string' ? { instance: b.instance } : {}),
      ...(errors && errors.length > 0 ? { errors } : {}),
    };
  }
  const text = typeof body === 'string' ? body.replace(/\s+/g, ' ').trim() : '';
  // An HTML page means something other than the API answered; its markup would only be noise.
  if (text.startsWith('<'))
    return {
      title: fallback,
      status: response.status,
      detail: `${fallback}, as an HTML page: is this the address of a Drover coordinator?`,
    };
  return { title: fallback, status: response.status, detail: text ? `${fallback}: ${text.slice(0, 200)}` : fallback };
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_SOCKET: 'connection closed',
};

/** The system error code buried in a failed fetch (undici nests it in `cause`, sometimes in an AggregateError). */
export function networkCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const x = e as { code?: unknown; errors?: unknown[]; cause?: unknown };
    if (typeof x.code === 'string' && x.code !== 'ERR_INVALID_URL') return x.code;
    const inner = Array.isArray(x.errors) ? x.errors.find((i) => typeof (i as { code?: unknown })?.code === 'string') : undefined;
    if (inner) return (inner as { code: string }).code;
    e = x.cause;
  }
  return undefined;
}

/** The coordinator did not answer at all (refused, unknown host, reset): the request never got a response. */
export class DroverConnectionError extends Error {
  override name = 'DroverConnectionError';
  readonly code = 'COORDINATOR_UNREACHABLE';
  constructor(
    readonly baseUrl: string,
    cause: unknown,
  ) {
    const code = networkCode(cause);
    const reason = (code && REASONS[code]) ?? (code ? code : ((cause as Error)?.message ?? String(cause)));
    super(`cannot reach the Drover coordinator at ${baseUrl}: ${reason} — is it running? set DROVER_ADDR to its address`, {
      cause,
    });
  }
}

/** True for the error a fetch throws when its signal was aborted: the caller's own doing, never wrapped. */
export function isAbort(err: unknown): boolean {
  return (err as { name?: unknown })?.name === 'AbortError' || (err as { name?: unknown })?.name === 'TimeoutError';
}
