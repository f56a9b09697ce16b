// docs/configuration.md: the settings each process declares, so the documentation cannot drift
// from the code.
import { settingsReference } from '@drover/shared';
import { coordinatorSettings } from '@drover/coordinator';
import { agentSettings } from '@drover/agent';
import { devSettings } from '../commands/dev-settings.js';

/** Markdown for every process's settings. */
export function configReference(): string {
  return [
    '## `drover coordinator`',
    '',
    settingsReference(coordinatorSettings),
    '',
    '## `drover agent`',
    '',
    settingsReference(agentSettings),
    '',
    '## `drover dev`',
    '',
    settingsReference(devSettings),
    '',
    "`--nats` is the same as `--listen`. The settings that would put dev mode on shared servers read `DROVER_DEV_*` variables, never a cluster's `DROVER_DATABASE_URL` or `DROVER_NATS_URL`: dev mode has no authentication and its agent runs shell scripts.",
    '',
    '`drover migrate up|down|status` reads `--database-url` / `DROVER_DATABASE_URL` as the coordinator does.',
    'Every command also takes `--config <file>`: a JSON object whose keys are the flag names above.',
  ].join('\n');
}
