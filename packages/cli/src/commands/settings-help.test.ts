import { describe, expect, it } from 'vitest';
import { agentSettings } from '@drover/agent';
import { coordinatorSettings } from '@drover/coordinator';
import type { SettingsSpec } from '@drover/shared';
import { devSettings } from './dev-settings.js';

// `--help` shows `--flag <placeholder>`: a setting without one would read `<value>`, which says
// nothing of what to give (a URL, a duration, a directory).
describe.each([
  ['coordinator', coordinatorSettings],
  ['agent', agentSettings],
  ['dev', devSettings],
] as Array<[string, SettingsSpec]>)('every setting of drover %s that takes a value', (_name, spec) => {
  it('names what it takes', () => {
    const unnamed = Object.values(spec)
      .filter((s) => !s.boolean && !s.placeholder)
      .map((s) => `--${s.flag}`);
    expect(unnamed).toEqual([]);
  });
});
