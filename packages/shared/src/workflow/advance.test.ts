// The example workflow, driven to its end by advanceWorkflow in the success and the
// failure case, plus cancellation.
import { describe, expect, it } from 'vitest';
import { advanceWorkflow, type WorkflowOutcome } from './advance.js';
import type { WorkflowDefinition } from './definition.js';
import type { StepState } from './rules.js';

const etl: WorkflowDefinition = {
  name: 'nightly-etl',
  steps: [
    { name: 'extract-a', job: 'extract', parameters: { source: 'a' } },
    { name: 'extract-b', job: 'extract', parameters: { source: 'b' } },
    { name: 'load', job: 'load', dependsOn: ['extract-a', 'extract-b'] },
    { name: 'report', job: 'report', dependsOn: ['load'] },
    { name: 'cleanup', job: 'cleanup', dependsOn: ['load'], when: 'failure' },
    {
      name: 'notify',
      executor: { type: 'http', method: 'POST', url: 'https://hooks.example.invalid/etl' },
      dependsOn: ['report', 'cleanup'],
      when: 'always',
      trigger: 'any_done',
    },
  ],
};

/** Runs the workflow to its end: every started step ends as `ends` says (default succeeded). */
function drive(def: WorkflowDefinition, ends: Record<string, 'succeeded' | 'failed'>) {
  const states: Record<string, StepState> = {};
  const waves: string[][] = [];
  for (let i = 0; i < 100; i++) {
    const next = advanceWorkflow(def, states);
    for (const s of next.skip) states[s.step] = { state: 'skipped', reason: s.reason, cause: s.cause };
    if (next.outcome) return { states, waves, outcome: next.outcome as WorkflowOutcome };
    waves.push(next.start);
    for (const name of next.start) states[name] = { state: ends[name] ?? 'succeeded' };
  }
  throw new Error('the workflow did not end');
}

describe('advanceWorkflow on the nightly-etl example', () => {
  it('skips cleanup and runs notify when load succeeds', () => {
    const run = drive(etl, {});
    expect(run.waves.map((w) => [...w].sort())).toEqual([['extract-a', 'extract-b'], ['load'], ['report'], ['notify']]);
    expect(run.states.cleanup).toEqual({
      state: 'skipped',
      reason: '"load" succeeded; "cleanup" runs with when: failure, trigger: all_success',
      cause: 'condition',
    });
    expect(run.states.notify).toEqual({ state: 'succeeded' });
    expect(run.outcome).toBe('succeeded');
  });

  it('runs cleanup and notify, skips report, and ends failed when load fails', () => {
    const run = drive(etl, { load: 'failed' });
    expect(run.waves.map((w) => [...w].sort())).toEqual([['extract-a', 'extract-b'], ['load'], ['cleanup'], ['notify']]);
    expect(run.states.report).toMatchObject({ state: 'skipped', cause: 'failure' });
    expect(run.states.cleanup).toEqual({ state: 'succeeded' });
    expect(run.states.notify).toEqual({ state: 'succeeded' });
    expect(run.outcome).toBe('failed');
  });

  it('skips every later step, notify included, when an extract fails: nothing after it ran', () => {
    const run = drive(etl, { 'extract-a': 'failed' });
    expect(run.states.load).toMatchObject({ state: 'skipped', cause: 'failure' });
    expect(run.states.report).toMatchObject({ state: 'skipped', cause: 'failure' });
    expect(run.states.cleanup).toMatchObject({ state: 'skipped', cause: 'failure' });
    expect(run.states.notify).toMatchObject({ state: 'skipped', reason: expect.stringContaining('no upstream ran') as string });
    expect(run.outcome).toBe('failed');
  });

  it('starts nothing and cancels pending steps when cancelling; the outcome waits for running steps', () => {
    const states: Record<string, StepState> = { 'extract-a': { state: 'succeeded' }, 'extract-b': { state: 'running' } };
    const next = advanceWorkflow(etl, states, { cancelling: true });
    expect(next.start).toEqual([]);
    expect([...next.cancel].sort()).toEqual(['cleanup', 'load', 'notify', 'report']);
    expect(next.outcome).toBeUndefined();
    const after = advanceWorkflow(etl, { ...states, 'extract-b': { state: 'cancelled' } }, { cancelling: true });
    expect(after.outcome).toBe('cancelled');
  });

  it('has no outcome while a started step has not ended', () => {
    expect(advanceWorkflow(etl, {}).outcome).toBeUndefined();
    expect(advanceWorkflow(etl, { 'extract-a': { state: 'running' }, 'extract-b': { state: 'running' } })).toEqual({
      start: [],
      skip: [],
      cancel: [],
    });
  });
});
