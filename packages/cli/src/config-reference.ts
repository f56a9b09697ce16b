// The README's configuration reference, generated from the settings each process declares,
// so the documentation cannot drift from the code.
import { readFileSync, writeFileSync } from 'node:fs';
import { settingsReference } from '@drover/shared';
import { coordinatorSettings } from '@drover/coordinator';
import { agentSettings } from '@drover/agent';
import { devSettings } from './commands/dev-settings.js';

const START = '<!-- config:start -->';
const END = '<!-- config:end -->';

/** Markdown for every process's settings. */
export function configReference(): string {
  return [
    '### `drover coordinator`',
    '',
    settingsReference(coordinatorSettings),
    '',
    '### `drover agent`',
    '',
    settingsReference(agentSettings),
    '',
    '### `drover dev`',
    '',
    settingsReference(devSettings),
    '',
    "`--nats` is the same as `--listen`. The settings that would put dev mode on shared servers read `DROVER_DEV_*` variables, never a cluster's `DROVER_DATABASE_URL` or `DROVER_NATS_URL`: dev mode has no authentication and its agent runs shell scripts.",
    '',
    '`drover migrate up|down|status` reads `--database-url` / `DROVER_DATABASE_URL` as the coordinator does.',
    'Every command also takes `--config <file>`: a JSON object whose keys are the flag names above.',
  ].join('\n');
}

/** The README text with the generated reference between its markers. */
export function withConfigReference(readme: string): string {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error(`README has no ${START} … ${END} section`);
  return `${readme.slice(0, a + START.length)}\n${configReference()}\n${readme.slice(b)}`;
}

/** Rewrites the README in place; returns true when it changed. */
export function updateReadme(path: string): boolean {
  const before = readFileSync(path, 'utf8');
  const after = withConfigReference(before);
  if (after !== before) writeFileSync(path, after);
  return after !== before;
}
