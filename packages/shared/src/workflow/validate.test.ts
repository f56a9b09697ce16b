// Validation of workflow definitions: every refusal names its field.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors.js';
import type { WorkflowStep } from './definition.js';
import { validateWorkflowDefinition, workflowErrors } from './validate.js';

const wf = (steps: unknown[]) => ({ name: 'nightly-etl', steps });
const job = (name: string, more: Partial<WorkflowStep> = {}): WorkflowStep => ({ name, job: 'j', ...more });

describe('validateWorkflowDefinition', () => {
  it('accepts the issue example and returns it', () => {
    const def = wf([
      job('extract-a'),
      job('extract-b'),
      job('load', { dependsOn: ['extract-a', 'extract-b'] }),
      job('report', { dependsOn: ['load'] }),
      job('cleanup', { dependsOn: ['load'], when: 'failure' }),
      {
        name: 'notify',
        executor: { type: 'http', method: 'POST', url: 'https://hooks.example.invalid/etl' },
        dependsOn: ['report', 'cleanup'],
        when: 'always',
        trigger: 'any_done',
      },
      job('each', { forEach: '{{ steps.load.output.items }}', maxParallel: 5, dependsOn: ['load'] }),
    ]);
    expect(validateWorkflowDefinition(def)).toBe(def);
  });

  it('names a cycle by its path', () => {
    const def = wf([job('extract-a', { dependsOn: ['load'] }), job('load', { dependsOn: ['extract-a'] })]);
    expect(workflowErrors(def)).toEqual([{ field: 'steps.0.dependsOn', message: 'forms a cycle: extract-a → load → extract-a' }]);
    expect(() => validateWorkflowDefinition(def)).toThrow(ValidationError);
    expect(workflowErrors(wf([job('a', { dependsOn: ['a'] })]))).toEqual([
      { field: 'steps.0.dependsOn.0', message: 'forms a cycle: a → a' },
    ]);
  });

  it('finds a cycle among 1,000 steps, and accepts a 1,000-step chain', () => {
    const chain = Array.from({ length: 1000 }, (_, i) => job(`s${i}`, i === 0 ? {} : { dependsOn: [`s${i - 1}`] }));
    expect(workflowErrors(wf(chain))).toEqual([]);
    chain[0] = job('s0', { dependsOn: ['s999'] });
    const [err] = workflowErrors(wf(chain));
    expect(err?.message).toMatch(/^forms a cycle: (s\d+ → ){1000}s\d+$/);
  });

  it('names unknown upstreams and duplicate step names', () => {
    expect(workflowErrors(wf([job('a'), job('b', { dependsOn: ['a', 'nope'] }), job('a')]))).toEqual([
      { field: 'steps.2.name', message: '"a" is already the name of steps.0; step names must be unique' },
      { field: 'steps.1.dependsOn.1', message: 'no step is named "nope"' },
    ]);
  });

  it('wants exactly one of job and executor', () => {
    const both = { name: 'a', job: 'j', executor: { type: 'noop' } };
    expect(workflowErrors(wf([both, { name: 'b' }]))).toEqual([
      { field: 'steps.0.executor', message: 'give either "job" (an existing job) or "executor" (an inline one), not both' },
      { field: 'steps.1.job', message: 'is required unless the step has an inline "executor"' },
    ]);
  });

  it('refuses over 1,000 steps', () => {
    const steps = Array.from({ length: 1001 }, (_, i) => job(`s${i}`));
    expect(workflowErrors(wf(steps))).toEqual([{ field: 'steps', message: 'has 1001 steps; a workflow may have at most 1000' }]);
  });

  it('refuses rules that can never fire or contradict their trigger', () => {
    expect(
      workflowErrors(
        wf([
          job('a', { when: 'failure' }),
          job('b', { trigger: 'any_success' }),
          job('c', { dependsOn: ['a'], when: 'failure', trigger: 'all_done' }),
          job('d', { dependsOn: ['a'], trigger: 'all_done' }),
          job('e', { dependsOn: ['a'], when: 'failure', trigger: 'none_failed' }),
        ]),
      ).map((e) => e.field),
    ).toEqual(['steps.0.when', 'steps.1.trigger', 'steps.2.when']);
  });

  it('names fields of the wrong shape, and maxParallel without forEach', () => {
    expect(workflowErrors(wf([job('a', { when: 'sometimes' as never })])).map((e) => e.field)).toEqual(['steps.0.when']);
    expect(workflowErrors(wf([job('a.b')])).map((e) => e.field)).toEqual(['steps.0.name']);
    expect(workflowErrors(wf([job('a', { maxParallel: 2 })]))).toEqual([
      { field: 'steps.0.maxParallel', message: 'only applies to a step with "forEach"' },
    ]);
    expect(workflowErrors([])).toEqual([{ field: '', message: 'the workflow definition must be a JSON object' }]);
  });
});
