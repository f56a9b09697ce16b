import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { downAfterFor, heartbeatIntervalFor, HEARTBEATS_PER_SECOND } from './liveness.js';

describe('liveness scaled with the fleet', () => {
  it.each([
    [10, 2000, 2000, 7000],
    [400, 2000, 2000, 7000],
    [1000, 2000, 5000, 16000],
    [5000, 2000, 25000, 76000],
  ])('%i agents, configured %i ms: heartbeat every %i ms, down after %i ms', (agents, configured, interval, downAfter) => {
    expect(heartbeatIntervalFor(agents, configured)).toBe(interval);
    expect(downAfterFor(agents, configured, 7000)).toBe(downAfter);
  });

  it('keeps the fleet-wide heartbeat rate at or below the bound once the fleet is large', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1000, max: 60_000 }), (agents, configured) => {
        const interval = heartbeatIntervalFor(agents, configured);
        expect(interval).toBeGreaterThanOrEqual(configured);
        expect(agents / (interval / 1000)).toBeLessThanOrEqual(Math.max(HEARTBEATS_PER_SECOND, agents / (configured / 1000)) + 1e-9);
        expect(downAfterFor(agents, configured, 0)).toBeGreaterThan(interval * 3);
      }),
    );
  });
});
