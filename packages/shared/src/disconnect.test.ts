import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  compileDisconnect,
  DEFAULT_DISCONNECT_AFTER_MS,
  disconnectMarginMs,
  MIN_DISCONNECT_MARGIN_MS,
  redispatchAfterSilenceMs,
} from './disconnect.js';

describe('disconnect rule', () => {
  it('defaults to stop after the default', () => {
    expect(compileDisconnect(undefined)).toEqual({ mode: 'stop', afterMs: DEFAULT_DISCONNECT_AFTER_MS });
    expect(compileDisconnect({ after: '8s' })).toEqual({ mode: 'stop', afterMs: 8000 });
  });

  it.each([
    [8_000, 5_000],
    [45_000, 5_000],
    [50_000, 5_000],
    [120_000, 12_000],
  ])('after %i ms: margin %i ms', (after, margin) => {
    expect(disconnectMarginMs(after)).toBe(margin);
  });

  it('re-dispatches keep at once (null) and stop only after after + kill grace + margin', () => {
    expect(redispatchAfterSilenceMs({ mode: 'keep', afterMs: 45_000 }, 10_000)).toBeNull();
    expect(redispatchAfterSilenceMs({ mode: 'stop', afterMs: 45_000 }, 10_000)).toBe(60_000);
  });

  it('never re-dispatches a stop attempt before the agent must have stopped it, even with a clock 5% slow', () => {
    fc.assert(
      fc.property(fc.integer({ min: 5_000, max: 86_400_000 }), fc.integer({ min: 0, max: 600_000 }), (afterMs, killGraceMs) => {
        const wait = redispatchAfterSilenceMs({ mode: 'stop', afterMs }, killGraceMs) as number;
        // The agent stops `after` by its own clock (running up to 5% slow), then takes up to the kill grace.
        expect(wait).toBeGreaterThanOrEqual(afterMs * 1.05 + killGraceMs);
        expect(wait - afterMs - killGraceMs).toBeGreaterThanOrEqual(MIN_DISCONNECT_MARGIN_MS);
      }),
    );
  });
});
