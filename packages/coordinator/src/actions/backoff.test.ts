import { describe, expect, it } from 'vitest';
import { retryDelayMs, settleTry, type RetryPolicy } from './backoff.js';

const policy: RetryPolicy = { maxTries: 8, backoffBaseMs: 1000, backoffMaxMs: 300_000 };
const NOW = Date.parse('2026-11-22T10:00:00Z');

describe('retryDelayMs', () => {
  it('doubles from the base after each failed try', () => {
    expect([1, 2, 3, 4, 5].map((t) => retryDelayMs(t, policy))).toEqual([1000, 2000, 4000, 8000, 16_000]);
  });

  it('is capped at the maximum, however many tries', () => {
    expect(retryDelayMs(9, policy)).toBe(256_000);
    expect(retryDelayMs(10, policy)).toBe(300_000);
    expect(retryDelayMs(10_000, policy)).toBe(300_000);
  });

  it('waits the base before the first retry even for a try count of 0', () => {
    expect(retryDelayMs(0, policy)).toBe(1000);
  });
});

describe('settleTry', () => {
  it('records a success with its status and result', () => {
    expect(settleTry({ ok: true, status: 204 }, 1, NOW, policy)).toEqual({ state: 'succeeded', status: 204, result: null });
    expect(settleTry({ ok: true, result: { runId: 'r1' } }, 3, NOW, policy)).toEqual({
      state: 'succeeded',
      status: null,
      result: { runId: 'r1' },
    });
  });

  it('retries a failure with backoff, keeping the error and status', () => {
    expect(settleTry({ ok: false, status: 503, error: 'HTTP 503' }, 2, NOW, policy)).toEqual({
      state: 'pending',
      status: 503,
      error: 'HTTP 503',
      nextAt: NOW + 2000,
    });
  });

  it('fails for good after the last try, saying so', () => {
    const r = settleTry({ ok: false, status: 500, error: 'HTTP 500' }, 8, NOW, policy);
    expect(r).toEqual({ state: 'failed', status: 500, error: 'gave up after 8 tries: HTTP 500' });
  });

  it('does not retry a permanent failure', () => {
    expect(settleTry({ ok: false, permanent: true, error: 'no job named "x"' }, 1, NOW, policy)).toEqual({
      state: 'failed',
      status: null,
      error: 'no job named "x"',
    });
  });

  it('gives back a try the coordinator cut short, due at once', () => {
    const r = settleTry({ ok: false, error: 'aborted' }, 8, NOW, policy, true);
    expect(r).toMatchObject({ state: 'pending', nextAt: NOW, giveBackTry: true });
  });
});
