import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CATCH_UP_POLICIES,
  OVERLAP_POLICIES,
  decideOverlap,
  formatDuration,
  planCatchUp,
  type CatchUpPolicy,
  type OverlapDecision,
  type OverlapPolicy,
} from './schedule-policy.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const NOW = Date.UTC(2026, 5, 1, 12);
/** An every-minute job whose coordinator was stopped for the hour before NOW, with a 30-minute window. */
const HOUR_OF_MISSES = Array.from({ length: 60 }, (_, i) => NOW - (60 - i) * MIN);

describe('planCatchUp', () => {
  it('skip: runs nothing and records every missed fire with the policy as reason', () => {
    const plan = planCatchUp(HOUR_OF_MISSES, 'skip', 30 * MIN, NOW);
    expect(plan.run).toEqual([]);
    expect(plan.skip).toHaveLength(60);
    expect(plan.skip.filter((s) => /policy "skip"/.test(s.reason))).toHaveLength(30);
    expect(plan.skip.filter((s) => /catch-up window of 30m/.test(s.reason))).toHaveLength(30);
  });

  it('latest: runs only the most recent missed fire', () => {
    const plan = planCatchUp(HOUR_OF_MISSES, 'latest', 30 * MIN, NOW);
    expect(plan.run).toEqual([NOW - MIN]);
    expect(plan.skip.filter((s) => /only the most recent/.test(s.reason))).toHaveLength(29);
  });

  it('latest: runs nothing when even the most recent fire is older than the window', () => {
    const plan = planCatchUp([NOW - 3 * HOUR, NOW - 2 * HOUR], 'latest', HOUR, NOW);
    expect(plan.run).toEqual([]);
    expect(plan.skip.map((s) => s.reason)).toEqual([
      'missed by more than the catch-up window of 1h',
      'missed by more than the catch-up window of 1h',
    ]);
  });

  it('all: runs every fire within the window, oldest first', () => {
    const plan = planCatchUp(HOUR_OF_MISSES, 'all', 30 * MIN, NOW);
    expect(plan.run).toEqual(HOUR_OF_MISSES.slice(30));
    expect(plan.skip.map((s) => s.fireAt)).toEqual(HOUR_OF_MISSES.slice(0, 30));
  });

  it('all: runs at most the cap, the most recent ones, and says why the rest were skipped', () => {
    const plan = planCatchUp(HOUR_OF_MISSES, 'all', 2 * HOUR, NOW, 10);
    expect(plan.run).toEqual(HOUR_OF_MISSES.slice(50));
    expect(plan.skip).toHaveLength(50);
    expect(plan.skip[0]?.reason).toBe('catch-up cap of 10 reached: only the 10 most recent missed fires run');
  });

  it('includes a fire exactly at the edge of the window', () => {
    expect(planCatchUp([NOW - HOUR], 'all', HOUR, NOW).run).toEqual([NOW - HOUR]);
    expect(planCatchUp([NOW - HOUR - 1], 'all', HOUR, NOW).run).toEqual([]);
  });

  it('every missed fire is either run or skipped, exactly once', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: NOW - 10 * HOUR, max: NOW }), { maxLength: 300 }).map((a) => a.sort((x, y) => x - y)),
        fc.constantFrom<CatchUpPolicy>(...CATCH_UP_POLICIES),
        fc.integer({ min: 0, max: 12 * HOUR }),
        fc.integer({ min: 0, max: 150 }),
        (missed, policy, windowMs, cap) => {
          const { run, skip } = planCatchUp(missed, policy, windowMs, NOW, cap);
          expect([...run, ...skip.map((s) => s.fireAt)].sort((a, b) => a - b)).toEqual(missed);
          expect(run.every((t) => t >= NOW - windowMs)).toBe(true);
          expect(run.length).toBeLessThanOrEqual(policy === 'skip' ? 0 : policy === 'latest' ? 1 : cap);
          expect(run).toEqual([...run].sort((a, b) => a - b));
          expect(skip.every((s) => s.reason.length > 0)).toBe(true);
        },
      ),
    );
  });
});

describe('decideOverlap', () => {
  it.each<[OverlapPolicy, number, number, number | null, OverlapDecision]>([
    ['allow', 0, 0, null, 'start'],
    ['allow', 5, 0, null, 'start'],
    ['allow', 1, 0, 2, 'start'],
    ['allow', 2, 0, 2, 'skip'],
    ['allow', 3, 0, 2, 'skip'],
    ['forbid', 0, 0, null, 'start'],
    ['forbid', 1, 0, null, 'skip'],
    ['forbid', 1, 0, 5, 'skip'],
    ['replace', 0, 0, null, 'start'],
    ['replace', 1, 0, null, 'replace'],
    ['queue', 0, 0, null, 'start'],
    ['queue', 1, 0, null, 'wait'],
    ['queue', 1, 1, null, 'skip'],
    ['queue', 0, 1, null, 'skip'],
  ])('%s with %i active, %i waiting, max %s → %s', (policy, active, waiting, max, want) => {
    expect(decideOverlap(policy, active, waiting, max)).toBe(want);
  });

  it('never lets more runs start than the policy allows', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<OverlapPolicy>(...OVERLAP_POLICIES),
        fc.nat(10),
        fc.nat(3),
        fc.option(fc.integer({ min: 1, max: 10 })),
        (policy, active, waiting, max) => {
          const d = decideOverlap(policy, active, waiting, max);
          if (d === 'start') expect(active).toBeLessThan(policy === 'allow' ? (max ?? Infinity) : 1);
          if (d === 'wait') expect([policy, waiting]).toEqual(['queue', 0]);
          if (d === 'replace') expect(policy).toBe('replace');
        },
      ),
    );
  });
});

describe('formatDuration', () => {
  it.each<[number, string]>([
    [HOUR, '1h'],
    [90 * MIN, '1h30m'],
    [90_000, '1m30s'],
    [86_400_000 + 1500, '1d1s500ms'],
    [0, '0s'],
  ])('%i → %s', (ms, want) => {
    expect(formatDuration(ms)).toBe(want);
  });
});
