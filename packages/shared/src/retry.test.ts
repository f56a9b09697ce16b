import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay, compileRetryPolicy, decideRetry, NO_RETRY_POLICY, type AttemptEnd, type RetrySpec } from './retry.js';

const end = (over: Partial<AttemptEnd>): AttemptEnd => ({ outcome: 'failed', exitCode: 1, httpStatus: null, attemptsUsed: 1, ...over });
const noJitter = () => 0;

describe('backoffDelay', () => {
  const exp = compileRetryPolicy({ initialDelay: '1s', maxDelay: '10s' });
  it.each([
    [1, 1000],
    [2, 2000],
    [3, 4000],
    [4, 8000],
    [5, 10_000],
    [12, 10_000],
  ])('exponential retry %i waits %i ms', (retry, ms) => {
    expect(backoffDelay(exp, retry, noJitter)).toBe(ms);
  });

  it('fixed waits the initial delay every time', () => {
    const fixed = compileRetryPolicy({ backoff: 'fixed', initialDelay: '3s' });
    expect([1, 2, 5].map((n) => backoffDelay(fixed, n, noJitter))).toEqual([3000, 3000, 3000]);
  });

  it('honours the multiplier', () => {
    const p = compileRetryPolicy({ initialDelay: '100ms', multiplier: 3, maxDelay: '1h' });
    expect([1, 2, 3].map((n) => backoffDelay(p, n, noJitter))).toEqual([100, 300, 900]);
  });

  it('jitter only ever shortens a delay, by at most its fraction', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 30 }),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        (jitter, retry, r) => {
          const p = compileRetryPolicy({ initialDelay: '500ms', maxDelay: '2m', jitter });
          const full = backoffDelay(p, retry, noJitter);
          const d = backoffDelay(p, retry, () => r);
          return d <= full && d >= Math.floor(full * (1 - jitter)) - 1;
        },
      ),
    );
  });

  it('never exceeds maxDelay and never decreases from one retry to the next', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60_000 }), fc.integer({ min: 1, max: 50 }), (initial, retry) => {
        const p = compileRetryPolicy({ initialDelay: `${initial}ms`, maxDelay: '90s' });
        const a = backoffDelay(p, retry, noJitter);
        const b = backoffDelay(p, retry + 1, noJitter);
        return a <= 90_000 && b >= a;
      }),
    );
  });
});

describe('decideRetry', () => {
  const policy = (spec: RetrySpec) => compileRetryPolicy(spec);
  it.each<[string, RetrySpec, Partial<AttemptEnd>, boolean, RegExp]>([
    ['a failure with attempts left', { maxAttempts: 3 }, { attemptsUsed: 1 }, true, /retrying \(attempt 2 of 3\)/],
    ['the last attempt', { maxAttempts: 3 }, { attemptsUsed: 3 }, false, /all 3 attempts are used/],
    // A retry by hand at attempt 3: the run's attempt 4 is the first of a fresh budget, and the reasons say 4.
    [
      'after a retry by hand',
      { maxAttempts: 2 },
      { attemptsUsed: 1, attempt: 4 },
      true,
      /^attempt 4 exited .*retrying \(attempt 5, 2 of 2 since the retry by hand\)/,
    ],
    [
      'the last attempt after a retry by hand',
      { maxAttempts: 1 },
      { attemptsUsed: 1, attempt: 2 },
      false,
      /^attempt 2 exited .*all 1 attempts since the retry by hand are used/,
    ],
    ['a non-retryable exit code', { maxAttempts: 3, nonRetryableExitCodes: [2, '64-78'] }, { exitCode: 70 }, false, /non-retryable/],
    ['an exit code outside retryOn', { retryOn: { exitCodes: [1, '3-4'] } }, { exitCode: 2 }, false, /does not retry/],
    ['an exit code inside a retryOn range', { retryOn: { exitCodes: [1, '3-4'] } }, { exitCode: 4 }, true, /retrying/],
    ['a timeout (retried by default)', {}, { outcome: 'timed_out', exitCode: null }, true, /timed out; retrying/],
    ['a timeout when timedOut is off', { retryOn: { timedOut: false } }, { outcome: 'timed_out', exitCode: null }, false, /does not retry/],
    ['a lost attempt', {}, { outcome: 'lost', exitCode: null }, true, /lost with its agent; retrying/],
    ['HTTP 503', {}, { exitCode: null, httpStatus: 503 }, true, /status 503; retrying/],
    ['HTTP 404', {}, { exitCode: null, httpStatus: 404 }, false, /does not retry/],
    ['HTTP 404 listed', { retryOn: { httpStatuses: [404] } }, { exitCode: null, httpStatus: 404 }, true, /retrying/],
    ['an error without code', {}, { exitCode: null }, true, /retrying/],
    ['an error without code when errors are off', { retryOn: { errors: false } }, { exitCode: null }, false, /does not retry/],
    ['a cancel', {}, { outcome: 'cancelled', exitCode: null }, false, /./],
  ])('%s', (_name, spec, over, retry, reason) => {
    const d = decideRetry(policy(spec), end(over), noJitter);
    expect(d.retry).toBe(retry);
    expect(d.reason).toMatch(reason);
  });

  it('retries a lost attempt at once, a failure after the backoff', () => {
    const p = policy({ initialDelay: '5s' });
    expect(decideRetry(p, end({ outcome: 'lost', exitCode: null }), noJitter)).toMatchObject({ retry: true, delayMs: 0 });
    expect(decideRetry(p, end({}), noJitter)).toMatchObject({ retry: true, delayMs: 5000 });
  });

  it('without a retry block retries only a lost attempt, once', () => {
    expect(decideRetry(NO_RETRY_POLICY, end({}), noJitter).retry).toBe(false);
    expect(decideRetry(NO_RETRY_POLICY, end({ outcome: 'timed_out', exitCode: null }), noJitter).retry).toBe(false);
    expect(decideRetry(NO_RETRY_POLICY, end({ outcome: 'lost', exitCode: null }), noJitter).retry).toBe(true);
    expect(decideRetry(NO_RETRY_POLICY, end({ outcome: 'lost', exitCode: null, attemptsUsed: 2 }), noJitter).retry).toBe(false);
  });

  it('never retries past maxAttempts, whatever the outcome', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 20 }),
        fc.constantFrom('failed', 'timed_out', 'lost') as fc.Arbitrary<AttemptEnd['outcome']>,
        fc.option(fc.integer({ min: 0, max: 255 }), { nil: null }),
        (max, used, outcome, exitCode) => {
          const d = decideRetry(policy({ maxAttempts: max }), end({ outcome, exitCode, attemptsUsed: used }), noJitter);
          return !d.retry || used < max;
        },
      ),
    );
  });
});
