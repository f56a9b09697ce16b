// What an ended attempt means for its run: retried after a backoff, or the run's final state,
// and which actions it fires. Pure: the policy, the run's counters, the clock's reading and
// the random source are passed in; the store applies the change it returns.
import { decideRetry, type RetryPolicy } from '@drover/shared';
import type { RunChange } from '../store/run-changes.js';

/** What the store knows of a run whose attempt just ended. */
export interface EndingRun {
  attempt: number;
  /** The attempt count at the last manual retry: retries are counted from there. */
  retryBase: number;
}

/**
 * What a change becomes when someone asked to cancel the run: an attempt that failed, timed
 * out or was lost ends the run `cancelled` (the cancel probably caused it, and either way it
 * was asked for), with no retry, no dead letter and no `on_failure`. The statement applying the
 * change picks this variant under the row lock, so a cancel racing the attempt's end is never lost.
 */
function cancelledVariant(change: RunChange, perAttempt: string[]): NonNullable<RunChange['if_cancelled']> {
  const outcome = change.attempt_outcome ?? change.state;
  const at = change.finished_at ?? 0;
  return {
    state: 'cancelled',
    steps: [...change.steps, { from_state: outcome, to_state: 'cancelled', at, reason: 'the run was being cancelled: not retried' }],
    triggers: perAttempt,
  };
}

function formatDelay(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = ms / 1000;
  return s < 120 ? `${Number(s.toFixed(1))}s` : `${Number((s / 60).toFixed(1))}m`;
}

/**
 * Settles a change whose attempt ended (`attempt_outcome` set; state = that outcome) under
 * `policy`: sets the run's next state, the retry time, the triggers, the dead-letter reason
 * and the reason on the last step. `now` is when the attempt ended. Lost attempts retry at
 * once, to `queued`; other retries wait in `retrying` until `retry_at`.
 */
export function settleEnd(change: RunChange, run: EndingRun, policy: RetryPolicy, random: () => number = Math.random): RunChange {
  const outcome = change.attempt_outcome;
  if (outcome === null) return change;
  const at = change.finished_at ?? 0;
  const last = change.steps[change.steps.length - 1];
  if (outcome === 'succeeded') return { ...change, triggers: ['on_success'] };
  if (outcome === 'cancelled') return change;
  const perAttempt = outcome === 'timed_out' ? ['on_timeout'] : outcome === 'lost' ? ['on_lost'] : [];
  const ifCancelled = cancelledVariant(change, perAttempt);
  const decision = decideRetry(
    policy,
    {
      outcome: outcome as 'failed' | 'timed_out' | 'lost',
      exitCode: change.exit_code,
      httpStatus: change.http_status,
      attemptsUsed: Math.max(1, run.attempt - run.retryBase),
      attempt: run.attempt,
    },
    random,
  );
  if (!decision.retry) {
    return {
      ...change,
      triggers: [...perAttempt, 'on_failure', 'on_dead_letter'],
      dead_reason: decision.reason,
      if_cancelled: ifCancelled,
    };
  }
  const base = last ? change.steps.slice(0, -1) : change.steps;
  if (outcome === 'lost') {
    // running → lost → queued: the lost attempt is on record, and the run is back in the queue at once.
    return {
      ...change,
      state: 'queued',
      triggers: perAttempt,
      if_cancelled: ifCancelled,
      steps: [...change.steps, { from_state: 'lost', to_state: 'queued', at, reason: decision.reason }],
    };
  }
  const retryAt = at + decision.delayMs;
  const reason = `${decision.reason} in ${formatDelay(decision.delayMs)}`;
  return {
    ...change,
    state: 'retrying',
    retry_at: retryAt,
    triggers: perAttempt,
    if_cancelled: ifCancelled,
    steps: [...base, { from_state: last?.from_state ?? 'running', to_state: 'retrying', at, reason }],
  };
}
