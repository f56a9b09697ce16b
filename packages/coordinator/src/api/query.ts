// Query-string parsing shared by list endpoints, failing with the 400 that names the field.
import { badRequest } from './problem.js';

/**
 * A comma-separated list of states (`?status=failed,timed_out`), each checked against
 * `allowed`; undefined when the parameter is absent.
 */
export function stateList<S extends string>(value: string | undefined, allowed: readonly S[], field: string): S[] | undefined {
  const states = value
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = states?.filter((s) => !(allowed as readonly string[]).includes(s)) ?? [];
  if (bad.length > 0)
    throw badRequest([
      {
        field,
        message: `unknown state ${bad.map((s) => JSON.stringify(s)).join(', ')}; expected any of: ${allowed.join(', ')}`,
      },
    ]);
  return states as S[] | undefined;
}
