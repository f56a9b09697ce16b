// Whether an error means PostgreSQL is out of reach (down, refusing connections, the connection
// cut, the pool unable to connect in time), as opposed to a query that failed on its own merits.
// The API answers the first with a 503 that says to retry: nothing was changed.

// Connection exceptions (class 08), the server shutting down or not yet up (57P01–57P03), and
// too many connections (53300): all pass once the server is back.
const UNAVAILABLE_SQLSTATES = /^(08|57P0[123]$|53300$)/;

// What node-postgres says when it has no connection to give (no SQLSTATE on these).
const UNAVAILABLE_MESSAGES = [
  'timeout exceeded when trying to connect',
  'Connection terminated',
  'connection error and is not queryable',
  'is not currently accepting connections',
];

const UNAVAILABLE_SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ENOTFOUND']);

/** Whether `err` (or an error it was caused by) says PostgreSQL cannot be reached now. */
export function isStoreUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (UNAVAILABLE_SQLSTATES.test(code) || UNAVAILABLE_SOCKET_CODES.has(code))) return true;
    if (UNAVAILABLE_MESSAGES.some((m) => e instanceof Error && e.message.includes(m))) return true;
  }
  return false;
}
