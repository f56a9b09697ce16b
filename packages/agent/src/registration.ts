// How the agent tells a coordinator's answer to `register` apart: a refusal (stop the agent)
// or trouble reaching one (retry).
import type { Errors } from 'moleculer';

/** Errors that only mean "no coordinator answered yet". */
const NOT_REACHED = new Set([
  'ServiceNotFoundError',
  'ServiceNotAvailableError',
  'RequestTimeoutError',
  'BrokerDisconnectedError',
  'RequestRejectedError',
  'QueueIsFullError',
]);

/**
 * A coordinator refuses an agent by answering `register` with a client error (a 4xx code,
 * e.g. a MoleculerClientError of type PROTOCOL_MISMATCH). Anything else — no coordinator,
 * a timeout, a coordinator's own failure — is worth retrying.
 */
export function isRegistrationRefusal(err: unknown): boolean {
  const e = err as Partial<Errors.MoleculerError> | undefined;
  if (!e || typeof e !== 'object') return false;
  if (NOT_REACHED.has(String(e.name))) return false;
  return typeof e.code === 'number' && e.code >= 400 && e.code < 500;
}

/** Whether an error only says that no coordinator is reachable right now. */
export function isNoCoordinator(err: unknown): boolean {
  const name = (err as { name?: string } | undefined)?.name;
  return name === 'ServiceNotFoundError' || name === 'ServiceNotAvailableError';
}

/** The text of a coordinator's answer, without Moleculer's wrapping. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
