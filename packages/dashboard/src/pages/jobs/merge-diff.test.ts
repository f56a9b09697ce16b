import { describe, expect, it } from 'vitest';
import { mergeDiff } from './merge-diff.js';

// What PATCH /v1/jobs/{id} must receive for the server to end up with exactly `after`.
function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

describe('mergeDiff', () => {
  const before = {
    name: 'nightly',
    executor: { type: 'exec', command: ['a', 'b'], env: { A: '1', B: '2' } },
    schedule: { cron: '0 * * * *', timezone: 'UTC' },
    priority: 50,
  };

  it.each([
    ['a changed nested value', { ...before, schedule: { cron: '5 * * * *', timezone: 'UTC' } }, { schedule: { cron: '5 * * * *' } }],
    ['a removed member', { ...before, schedule: undefined }, { schedule: null }],
    [
      'a removed nested member',
      { ...before, executor: { type: 'exec', command: ['a', 'b'], env: { A: '1' } } },
      { executor: { env: { B: null } } },
    ],
    ['a changed array, replaced whole', { ...before, executor: { ...before.executor, command: ['a'] } }, { executor: { command: ['a'] } }],
    ['nothing', { ...before }, {}],
  ])('sends only %s', (_what, after, expected) => {
    const clean = JSON.parse(JSON.stringify(after)) as unknown;
    expect(mergeDiff(before, clean)).toEqual(expected);
    expect(applyMergePatch(before, mergeDiff(before, clean))).toEqual(clean);
  });
});
