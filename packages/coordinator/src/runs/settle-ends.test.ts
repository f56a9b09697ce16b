import { describe, expect, it } from 'vitest';
import { compileRetryPolicy, NO_RETRY_POLICY } from '@drover/shared';
import { blankChange, type RunChange } from '../store/run-changes.js';
import { settleEnd, type EndingRun } from './settle-ends.js';

const ended = (outcome: string, over: Partial<RunChange> = {}): RunChange => ({
  ...blankChange('r1', 3, 'running'),
  state: outcome,
  attempt_outcome: outcome,
  finished_at: 10_000,
  exit_code: outcome === 'failed' ? 1 : null,
  steps: [{ from_state: 'running', to_state: outcome, at: 10_000, reason: 'exited with code 1' }],
  ...over,
});
const run = (over: Partial<EndingRun> = {}): EndingRun => ({ attempt: 1, retryBase: 0, ...over });
const policy = compileRetryPolicy({ maxAttempts: 3, initialDelay: '2s' });

describe('settleEnd', () => {
  it('fires on_success for a success and changes nothing else', () => {
    const c = settleEnd(ended('succeeded'), run(), policy);
    expect(c).toMatchObject({ state: 'succeeded', triggers: ['on_success'], dead_reason: null, retry_at: null });
  });

  it('puts a retryable failure in `retrying` until the backoff is over', () => {
    const c = settleEnd(ended('failed'), run(), policy, () => 0);
    expect(c).toMatchObject({ state: 'retrying', retry_at: 12_000, triggers: [], dead_reason: null });
    expect(c.steps.map((s) => s.to_state)).toEqual(['retrying']);
    expect(c.steps[0]?.reason).toMatch(/attempt 1 exited with code 1; retrying \(attempt 2 of 3\) in 2s/);
  });

  it('dead-letters the last attempt and fires on_failure and on_dead_letter', () => {
    const c = settleEnd(ended('failed'), run({ attempt: 3 }), policy);
    expect(c).toMatchObject({ state: 'failed', triggers: ['on_failure', 'on_dead_letter'] });
    expect(c.dead_reason).toMatch(/all 3 attempts are used/);
  });

  it('counts attempts from the last manual retry', () => {
    expect(settleEnd(ended('failed'), run({ attempt: 4, retryBase: 3 }), policy).state).toBe('retrying');
  });

  it('fires on_timeout for every timed-out attempt, retried or not', () => {
    expect(settleEnd(ended('timed_out'), run(), policy).triggers).toEqual(['on_timeout']);
    expect(settleEnd(ended('timed_out'), run({ attempt: 3 }), policy).triggers).toEqual(['on_timeout', 'on_failure', 'on_dead_letter']);
  });

  it('requeues a lost attempt at once, recording lost then queued', () => {
    const c = settleEnd(
      ended('lost', { steps: [{ from_state: 'running', to_state: 'lost', at: 10_000, reason: 'x' }] }),
      run(),
      NO_RETRY_POLICY,
    );
    expect(c.state).toBe('queued');
    expect(c.triggers).toEqual(['on_lost']);
    expect(c.steps.map((s) => `${s.from_state}>${s.to_state}`)).toEqual(['running>lost', 'lost>queued']);
  });

  it('carries the variant a pending cancel turns it into: cancelled, recorded, no retry, no dead letter, no on_failure', () => {
    const retried = settleEnd(ended('failed'), run(), policy);
    expect(retried.if_cancelled).toEqual({
      state: 'cancelled',
      triggers: [],
      steps: [
        { from_state: 'running', to_state: 'failed', at: 10_000, reason: 'exited with code 1' },
        { from_state: 'failed', to_state: 'cancelled', at: 10_000, reason: 'the run was being cancelled: not retried' },
      ],
    });
    const lost = settleEnd(ended('lost', { steps: [{ from_state: 'running', to_state: 'lost', at: 10_000, reason: 'x' }] }), run(), policy);
    expect(lost.if_cancelled?.triggers).toEqual(['on_lost']);
    expect(lost.if_cancelled?.steps.map((s) => `${s.from_state}>${s.to_state}`)).toEqual(['running>lost', 'lost>cancelled']);
    expect(settleEnd(ended('succeeded'), run(), policy).if_cancelled).toBeNull();
  });
});
