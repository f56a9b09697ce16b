// `--namespace`, the cluster name's former flag, still works on every process for one release:
// commander accepts it without listing it in --help, and option compilation warns, naming
// `--cluster`. Both flags with different values are refused, saying which to keep.
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { agentSettings, compileAgentOptions } from '@drover/agent';
import { compileCoordinatorOptions, coordinatorSettings } from '@drover/coordinator';
import type { SettingsSpec } from '@drover/shared';
import { addSettingFlags, flagsFrom } from './common.js';
import { compileDevOptions, devSettings } from './dev-settings.js';

type Compile = (flags: Record<string, unknown>, warn: (message: string) => void) => { cluster: string };

const processes: Array<[string, SettingsSpec, Compile]> = [
  ['coordinator', coordinatorSettings, (flags, warn) => compileCoordinatorOptions({ flags: flagsFrom(flags), env: {}, warn })],
  ['agent', agentSettings, (flags, warn) => compileAgentOptions({ flags: flagsFrom(flags), env: {}, warn })],
  ['dev', devSettings, (flags, warn) => compileDevOptions(flags, {}, warn)],
];

/** The option values commander parses from `argv` for a command built from `spec`. */
function parseFlags(spec: SettingsSpec, argv: string[]): { opts: Record<string, unknown>; help: string } {
  const cmd = addSettingFlags(new Command('x').exitOverride(), spec);
  cmd.parse(argv, { from: 'user' });
  return { opts: cmd.opts(), help: cmd.helpInformation() };
}

describe.each(processes)('drover %s', (_name, spec, compile) => {
  it('reads --namespace as --cluster, warning, and does not list it in --help', () => {
    const { opts, help } = parseFlags(spec, ['--namespace', 'prod']);
    const warnings: string[] = [];
    expect(compile(opts, (m) => warnings.push(m)).cluster).toBe('prod');
    expect(warnings).toEqual([expect.stringMatching(/--namespace is deprecated.*use --cluster/)]);
    expect(help).toContain('--cluster <name>');
    expect(help).not.toContain('--namespace');
  });

  it('refuses --namespace and --cluster with different values, saying which to keep', () => {
    const { opts } = parseFlags(spec, ['--cluster', 'a', '--namespace', 'b']);
    expect(() => compile(opts, () => undefined)).toThrow(/keep --cluster and remove --namespace/);
  });
});
