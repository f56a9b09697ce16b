import { describe, expect, it } from 'vitest';
import { actionIdempotencyKey, renderParameters } from './trigger-job.js';

const source = { parameters: { day: 'monday', region: 'eu' }, runId: '01JRUN', jobId: '01JJOB', jobName: 'first', attempt: 2 };

describe('renderParameters', () => {
  it('fills placeholders from the run that fired, leaving other text and unknown parameters as written', () => {
    expect(
      renderParameters(
        { day: '{{ param.day }}', from: '{{job.name}}/{{ run.id }}#{{ attempt }}', fixed: 'x', missing: '{{ param.nope }}' },
        source,
      ),
    ).toEqual({ day: 'monday', from: 'first/01JRUN#2', fixed: 'x', missing: '{{ param.nope }}' });
  });

  it('gives no parameters when the action names none', () => {
    expect(renderParameters(undefined, source)).toEqual({});
  });
});

describe('actionIdempotencyKey', () => {
  it('is one key per action run, so a repeated try finds its run', () => {
    expect(actionIdempotencyKey(42)).toBe(actionIdempotencyKey(42));
    expect(actionIdempotencyKey(42)).not.toBe(actionIdempotencyKey(43));
  });
});
