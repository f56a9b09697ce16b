// Shared plumbing for commands: option errors, fatal errors, signal handling.
import { Command, Option } from 'commander';
import { OptionsError, type SettingsSpec } from '@drover/shared';

/** Adds one commander option per setting, so flags and the settings table never disagree. */
export function addSettingFlags(cmd: Command, spec: SettingsSpec): Command {
  for (const s of Object.values(spec)) {
    const value = s.placeholder ?? 'value';
    const flag = s.boolean ? `--${s.flag}` : s.repeatable ? `--${s.flag} <${value}...>` : `--${s.flag} <${value}>`;
    const opt = new Option(flag, `${s.description} [env ${s.env}${s.defaultText ? `, default ${s.defaultText}` : ''}]`);
    if (s.repeatable) opt.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
    cmd.addOption(opt);
    // A former name is still accepted (option compilation warns), but no longer advertised.
    if (s.formerly) cmd.addOption(new Option(flag.replace(`--${s.flag}`, `--${s.formerly.flag}`), `former name of --${s.flag}`).hideHelp());
  }
  cmd.option('--config <file>', 'read settings from a JSON file (flags and env take precedence)');
  return cmd;
}

/**
 * Commander's option values as settings flags. A `--no-x` flag arrives as `false`, which option
 * compilation reads as "not given" (so the environment would win): it is passed on as text.
 */
export function flagsFrom(opts: Record<string, unknown>): Record<string, string | string[] | boolean | undefined> {
  const flags: Record<string, string | string[] | boolean | undefined> = {};
  for (const [key, value] of Object.entries(opts)) {
    if (value === false) flags[key] = 'false';
    else if (typeof value === 'string' || value === true || Array.isArray(value)) flags[key] = value as string | string[] | true;
  }
  return flags;
}

/** Prints an error a person can act on and exits: 2 for bad options, 1 otherwise. */
export function fail(err: unknown): never {
  const e = err as Error & { code?: string };
  process.stderr.write(`drover: ${e.message}\n`);
  process.exit(err instanceof OptionsError ? 2 : 1);
}

/** Runs `stop` on the first SIGINT/SIGTERM; a second signal exits at once. */
export function onShutdown(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (sig: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    stop().then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`drover: shutdown after ${sig} failed: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
