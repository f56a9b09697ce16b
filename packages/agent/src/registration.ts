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

/** The identity refusals a coordinator answers with (its MoleculerClientError `type`). */
export const IDENTITY_REFUSALS = [
  'AGENT_IDENTITY_REQUIRED',
  'JOIN_TOKEN_INVALID',
  'AGENT_REVOKED',
  'AGENT_NOT_JOINED',
  'AGENT_KEY_MISMATCH',
  'AGENT_SIGNATURE_INVALID',
] as const;
export type IdentityRefusal = (typeof IDENTITY_REFUSALS)[number];

/** Which identity refusal an error is, if it is one. */
export function identityRefusal(err: unknown): IdentityRefusal | undefined {
  const type = (err as { type?: unknown } | undefined)?.type;
  return IDENTITY_REFUSALS.find((t) => t === type);
}

/** What the operator should do about a refusal, as a sentence to append to its message. */
export function refusalAdvice(err: unknown): string {
  switch (identityRefusal(err)) {
    case 'AGENT_IDENTITY_REQUIRED':
    case 'AGENT_NOT_JOINED':
      return '. Create a join token with "drover tokens create --role agent" and start the agent with --join-token <token> (or DROVER_JOIN_TOKEN, or --join-token-file)';
    case 'JOIN_TOKEN_INVALID':
      return '. The join token is unknown, expired, revoked or not of role agent: create one with "drover tokens create --role agent"';
    case 'AGENT_REVOKED':
      return '. Its key was removed from the state dir; to bring it back, create a new join token ("drover tokens create --role agent") and start it with --join-token <token>';
    case 'AGENT_KEY_MISMATCH':
      return '. Another key is on record for this agent id: if this host is that agent, revoke it ("drover agents revoke <id>") and join again with a new join token';
    default:
      return '';
  }
}
