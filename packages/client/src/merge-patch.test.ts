import { describe, expect, it } from 'vitest';
import { jobDefinitionOf, mergePatch } from './merge-patch.js';

// What the server does with a merge patch (RFC 7396), to check a patch really gets there.
function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

describe('mergePatch', () => {
  const current = {
    name: 'nightly',
    executor: { type: 'exec', command: ['a', 'b'], env: { A: '1', B: '2' } },
    schedule: { cron: '0 * * * *', timezone: 'UTC' },
    timeout: '1h',
    parameters: { day: 'today' },
  };

  it.each([
    ['a changed nested value', { ...current, schedule: { cron: '5 * * * *', timezone: 'UTC' } }, { schedule: { cron: '5 * * * *' } }],
    [
      'a removed member, at any depth',
      { ...current, timeout: undefined, executor: { type: 'exec', command: ['a', 'b'], env: { A: '1' } } },
      { timeout: null, executor: { env: { B: null } } },
    ],
    [
      'a changed array, replaced whole',
      { ...current, executor: { ...current.executor, command: ['a'] } },
      { executor: { command: ['a'] } },
    ],
    ['an added member', { ...current, priority: 10 }, { priority: 10 }],
    [
      'a member whose type changed',
      { ...current, executor: { type: 'shell', script: 'echo hi' } },
      { executor: { type: 'shell', command: null, env: null, script: 'echo hi' } },
    ],
    [
      'nothing, key order aside',
      {
        parameters: { day: 'today' },
        timeout: '1h',
        schedule: { timezone: 'UTC', cron: '0 * * * *' },
        executor: { env: { B: '2', A: '1' }, command: ['a', 'b'], type: 'exec' },
        name: 'nightly',
      },
      {},
    ],
  ])('sends only %s', (_what, after, expected) => {
    const desired = JSON.parse(JSON.stringify(after)) as Record<string, unknown>;
    const patch = mergePatch(current, desired);
    expect(patch).toEqual(expected);
    expect(applyMergePatch(current, patch)).toEqual(desired);
  });
});

describe('jobDefinitionOf', () => {
  it('leaves out what the API adds to a definition', () => {
    const job = { id: '01J', name: 'n', executor: { type: 'noop' }, createdAt: 'c', updatedAt: 'u', pausedAt: null, version: 3 };
    expect(jobDefinitionOf(job)).toEqual({ name: 'n', executor: { type: 'noop' } });
  });
});
