import { describe, expect, it } from 'vitest';
import { replacementPatch } from './apply-plan.js';

// What the server does with a merge patch (RFC 7396), to check a patch really reaches the file.
function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

describe('replacementPatch', () => {
  const current = {
    name: 'nightly',
    executor: { type: 'exec', command: ['a', 'b'], env: { A: '1', B: '2' } },
    timeout: '1h',
    parameters: { day: 'today' },
  };

  it('is empty when the file says what the job already is (key order aside)', () => {
    const same = {
      parameters: { day: 'today' },
      timeout: '1h',
      executor: { env: { B: '2', A: '1' }, command: ['a', 'b'], type: 'exec' },
      name: 'nightly',
    };
    expect(replacementPatch(current, same)).toEqual({});
  });

  it('removes what the file no longer has, at any depth, and replaces arrays whole', () => {
    const desired = {
      name: 'nightly',
      executor: { type: 'exec', command: ['a'], env: { A: '1' } },
      priority: 10,
      parameters: { day: 'today' },
    };
    const patch = replacementPatch(current, desired);
    expect(patch).toEqual({ timeout: null, executor: { command: ['a'], env: { B: null } }, priority: 10 });
    expect(applyMergePatch(current, patch)).toEqual(desired);
  });

  it('replaces a member whose type changed', () => {
    const desired = { ...current, executor: { type: 'shell', script: 'echo hi' } };
    expect(applyMergePatch(current, replacementPatch(current, desired))).toEqual(desired);
  });
});
