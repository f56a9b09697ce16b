// Retrying actions: exponential backoff from the number of tries so far, and what a try's
// outcome makes of the action (done, tried again later, or failed for good).
import type { ActionRecord } from '../store/action-runs.js';
import type { ActionOutcome } from './executor.js';

export interface RetryPolicy {
  /** Tries before an action that keeps failing ends `failed`. */
  maxTries: number;
  /** Wait after the first failed try; it doubles with each further one … */
  backoffBaseMs: number;
  /** … up to this. */
  backoffMaxMs: number;
}

/** The wait after the `tries`-th failed try: base, 2 × base, 4 × base …, capped. */
export function retryDelayMs(tries: number, policy: Pick<RetryPolicy, 'backoffBaseMs' | 'backoffMaxMs'>): number {
  const exponent = Math.max(0, tries - 1);
  // 2 ** exponent overflows to Infinity long after the cap is reached: min() keeps it finite.
  return Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** Math.min(exponent, 52));
}

/**
 * What to record for a try (the `tries`-th) that ended with `outcome` at `now`. A try cut
 * short because the coordinator is stopping is given back and due again at once, so another
 * coordinator takes the action without waiting for the lease or spending a try.
 */
export function settleTry(outcome: ActionOutcome, tries: number, now: number, policy: RetryPolicy, interrupted = false): ActionRecord {
  const status = outcome.status ?? null;
  if (outcome.ok) return { state: 'succeeded', status, result: outcome.result ?? null };
  if (interrupted)
    return { state: 'pending', status, error: `interrupted: the coordinator stopped (${outcome.error})`, nextAt: now, giveBackTry: true };
  if (outcome.permanent) return { state: 'failed', status, error: outcome.error };
  if (tries >= policy.maxTries) return { state: 'failed', status, error: `gave up after ${tries} tries: ${outcome.error}` };
  return { state: 'pending', status, error: outcome.error, nextAt: now + retryDelayMs(tries, policy) };
}
