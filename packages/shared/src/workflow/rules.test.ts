// Every trigger rule × `when` × upstream outcomes, as a table (rules.ts has the semantics).
import { describe, expect, it } from 'vitest';
import type { StepTrigger, StepWhen, WorkflowStep } from './definition.js';
import { decideStep, type StepState } from './rules.js';

const TRIGGERS: StepTrigger[] = ['all_success', 'any_success', 'none_failed', 'all_done', 'any_done'];
const stateOf: Record<string, StepState> = {
  S: { state: 'succeeded' },
  F: { state: 'failed' },
  K: { state: 'skipped', reason: 'x', cause: 'condition' },
  C: { state: 'cancelled' },
};

// Rows: the two upstreams' outcomes (Succeeded, Failed, sKipped, Cancelled); columns: TRIGGERS
// in order; R = the step runs, s = it is skipped.
const TABLE: Record<StepWhen, string> = {
  success: `
    SS R R R R R
    SF s R s R R
    SK s R R R R
    FF s s s R R
    FK s s s R R
    KK s s R R s
    SC s R R R R
    CC s s R R s`,
  failure: `
    SS s s s R R
    SF s R s R R
    SK s s s R R
    FF R R R R R
    FK s R R R R
    KK s s R R s
    SC s s s R R
    FC s R R R R`,
  always: `
    SS R R R R R
    SF R R R R R
    SK s R R R R
    FF R R R R R
    FK s R R R R
    KK s s R R s
    SC s R R R R
    CC s s R R s`,
};

const cases = Object.entries(TABLE).flatMap(([when, table]) =>
  table
    .trim()
    .split('\n')
    .flatMap((line) => {
      const [ups, ...cols] = line.trim().split(/\s+/);
      return TRIGGERS.map((trigger, i) => ({ when: when as StepWhen, trigger, ups: ups!, runs: cols[i] === 'R' }));
    }),
);

describe('decideStep', () => {
  it.each(cases)('when $when, trigger $trigger, upstreams $ups: runs $runs', ({ when, trigger, ups, runs }) => {
    const step: WorkflowStep = { name: 'x', job: 'j', dependsOn: ['a', 'b'], when, trigger };
    const upstream = new Map([
      ['a', stateOf[ups[0]!]!],
      ['b', stateOf[ups[1]!]!],
    ]);
    expect(decideStep(step, upstream)?.run).toBe(runs);
  });

  it('waits while any upstream is pending or running, even when the rule could already fire', () => {
    const step: WorkflowStep = { name: 'x', job: 'j', dependsOn: ['a', 'b'], trigger: 'any_success' };
    expect(decideStep(step, new Map([['a', stateOf.S!]]))).toBeUndefined();
    expect(
      decideStep(
        step,
        new Map<string, StepState>([
          ['a', stateOf.S!],
          ['b', { state: 'running' }],
        ]),
      ),
    ).toBeUndefined();
  });

  it('runs a step without upstreams at once', () => {
    expect(decideStep({ name: 'x', job: 'j' }, new Map())).toEqual({ run: true });
  });

  it('names the upstream and the rule in a skip, and tells a skip by failure from one by condition', () => {
    const step: WorkflowStep = { name: 'report', job: 'j', dependsOn: ['load'] };
    expect(decideStep(step, new Map([['load', stateOf.F!]]))).toEqual({
      run: false,
      reason: '"load" failed; "report" runs with when: success, trigger: all_success',
      cause: 'failure',
    });
    const cleanup: WorkflowStep = { name: 'cleanup', job: 'j', dependsOn: ['load'], when: 'failure' };
    expect(decideStep(cleanup, new Map([['load', stateOf.S!]]))).toMatchObject({ run: false, cause: 'condition' });
    const skippedByFailure: StepState = { state: 'skipped', reason: 'r', cause: 'failure' };
    expect(decideStep(step, new Map([['load', skippedByFailure]]))).toMatchObject({ run: false, cause: 'failure' });
  });
});
