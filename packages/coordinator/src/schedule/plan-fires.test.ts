// The skip_next mark in planFires: the first fire at or after the mark is skipped with the
// action's reason, takes no place in the overlap policy, and uses the mark up.
import { describe, expect, it } from 'vitest';
import { compileSchedule, type ScheduleSpec } from '@drover/shared';
import { planFires, skipNextReason, type FireInput } from './plan-fires.js';

const T0 = Date.parse('2026-11-22T10:00:00Z');
const MINUTE = 60_000;
const REASON = skipNextReason('01JRUN');

const input = (spec: Partial<ScheduleSpec>, over: Partial<FireInput>): FireInput => ({
  schedule: compileSchedule({ every: '1m', ...spec } as ScheduleSpec),
  fires: [],
  now: T0,
  active: [],
  waiting: 0,
  maxConcurrentRuns: null,
  pausedFrom: null,
  resumedAt: null,
  ...over,
});

describe('planFires with a skip_next mark', () => {
  it('skips the first fire at or after the mark, with the reason naming the run', () => {
    const plan = planFires(input({}, { fires: [T0], skipNext: { after: T0 - 30_000, reason: REASON } }));
    expect(plan.actions).toEqual([{ fireAt: T0, action: 'skip', reason: 'skipped by the skip_next action of run 01JRUN' }]);
    expect(plan.skippedNext).toBe(true);
  });

  it('skips only that fire: a later fire in the same tick starts', () => {
    const now = T0 + MINUTE;
    const plan = planFires(input({}, { fires: [T0, now], now, skipNext: { after: T0 - 1, reason: REASON } }));
    expect(plan.actions.map((a) => a.action)).toEqual(['skip', 'start']);
  });

  it('leaves fires before the mark alone and keeps the mark for a fire to come', () => {
    const plan = planFires(input({}, { fires: [T0], skipNext: { after: T0 + 1, reason: REASON } }));
    expect(plan.actions).toEqual([{ fireAt: T0, action: 'start' }]);
    expect(plan.skippedNext).toBe(false);
  });

  it('does not count the skipped fire as active: with overlap "forbid" the next fire still starts', () => {
    const now = T0 + MINUTE;
    const plan = planFires(input({ overlap: 'forbid' }, { fires: [T0, now], now, skipNext: { after: T0, reason: REASON } }));
    expect(plan.actions.map((a) => a.action)).toEqual(['skip', 'start']);
  });

  it('is used up by a fire that catch-up skips anyway, which keeps its own reason', () => {
    const now = T0 + 5 * MINUTE;
    const missed = [T0, T0 + MINUTE];
    const plan = planFires(input({ catchUp: 'skip' }, { fires: missed, now, skipNext: { after: T0, reason: REASON } }));
    expect(plan.actions.every((a) => a.action === 'skip' && a.reason.startsWith('missed'))).toBe(true);
    expect(plan.skippedNext).toBe(true);
  });

  it('changes nothing without a mark', () => {
    const plan = planFires(input({}, { fires: [T0] }));
    expect(plan).toEqual({ actions: [{ fireAt: T0, action: 'start' }], cancel: [], skippedNext: false });
  });
});

describe('skipNextReason', () => {
  it('names the run whose action skipped the fire, or says so without it', () => {
    expect(skipNextReason('01JRUN')).toBe('skipped by the skip_next action of run 01JRUN');
    expect(skipNextReason(null)).toBe('skipped by a skip_next action');
  });
});
