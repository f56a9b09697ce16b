// `drover dev`'s settings, declared once like the coordinator's and the agent's, so they are
// read the same way: flag, then environment, then `--config` file, then default.
//
// The settings that would connect dev mode to shared servers (--database, --redis, --listen,
// --cluster) read DROVER_DEV_* variables, not the cluster's DROVER_DATABASE_URL,
// DROVER_NATS_URL…: dev mode has no authentication and its agent runs shell scripts, so a
// shell set up to run a cluster's coordinator must not put it on that cluster's servers.
import { compileOptions, logFormatSetting, parse, type CompiledOptions, type Setting, type SettingsSpec } from '@drover/shared';
import { flagsFrom } from './common.js';

const DEV_LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** A setting whose text is passed on as it is, once `check` accepts it. */
const checked =
  (check: (raw: string) => unknown) =>
  (raw: string | string[]): string => {
    const v = parse.string(raw);
    check(v);
    return v;
  };

export const devSettings = {
  apiAddr: {
    flag: 'api-addr',
    placeholder: 'host:port',
    env: 'DROVER_API_ADDR',
    defaultText: '127.0.0.1:7400',
    description: 'Where the REST API and the dashboard listen (port 0: any free port).',
    parse: checked(parse.hostPort),
  } satisfies Setting<string>,
  dataDir: {
    flag: 'data-dir',
    placeholder: 'dir',
    env: 'DROVER_DATA_DIR',
    defaultText: '.drover',
    description: 'Where state is kept across restarts (the embedded database, the agent id, the secrets key).',
    parse: checked((v) => {
      if (v.trim() === '') throw new Error('must name a directory');
    }),
  } satisfies Setting<string>,
  ephemeral: {
    flag: 'ephemeral',
    env: 'DROVER_EPHEMERAL',
    boolean: true,
    description: 'Keep nothing: an in-memory database, gone when the process ends.',
    parse: parse.boolean,
  } satisfies Setting<boolean>,
  listen: {
    flag: 'listen',
    placeholder: 'nats-url',
    env: 'DROVER_DEV_LISTEN',
    description: 'Put the bus on this NATS server, so agents on other hosts can join (`--nats` is the same).',
    parse: parse.url(['nats', 'tls']),
  } satisfies Setting<string | undefined>,
  cluster: {
    flag: 'cluster',
    placeholder: 'name',
    env: 'DROVER_DEV_CLUSTER',
    defaultText: 'drover',
    description: 'The cluster name (NATS subject prefix) remote agents must use with `--listen`.',
    formerly: { flag: 'namespace', env: 'DROVER_DEV_NAMESPACE' },
    parse: parse.string,
  } satisfies Setting<string>,
  database: {
    flag: 'database',
    placeholder: 'url',
    env: 'DROVER_DEV_DATABASE_URL',
    description: 'A PostgreSQL URL to use instead of the embedded database.',
    parse: parse.url(['postgres', 'postgresql']),
  } satisfies Setting<string | undefined>,
  redis: {
    flag: 'redis',
    placeholder: 'url',
    env: 'DROVER_DEV_REDIS_URL',
    description: 'A Redis URL to use instead of the in-memory queue.',
    parse: parse.url(['redis', 'rediss']),
  } satisfies Setting<string | undefined>,
  slots: {
    flag: 'slots',
    placeholder: 'n',
    env: 'DROVER_SLOTS',
    description: 'How many runs the local agent runs at once (default: CPU cores).',
    parse: checked(parse.int(1, 100_000)),
  } satisfies Setting<string | undefined>,
  examples: {
    flag: 'examples',
    env: 'DROVER_EXAMPLES',
    boolean: true,
    defaultText: 'true',
    description: 'Create the example jobs in a new database (`--no-examples`: do not).',
    parse: parse.boolean,
  } satisfies Setting<boolean>,
  logLevel: {
    flag: 'log-level',
    placeholder: 'level',
    env: 'DROVER_LOG_LEVEL',
    defaultText: 'warn',
    description: `Least severe log level written: ${DEV_LOG_LEVELS.join(', ')}.`,
    parse: parse.oneOf(DEV_LOG_LEVELS),
  } satisfies Setting<(typeof DEV_LOG_LEVELS)[number]>,
  logFormat: logFormatSetting,
  apiTlsCert: {
    flag: 'api-tls-cert',
    placeholder: 'file',
    env: 'DROVER_API_TLS_CERT',
    description: 'Serve the API over HTTPS with this PEM certificate (with `--api-tls-key`).',
    parse: parse.string,
  } satisfies Setting<string | undefined>,
  apiTlsKey: {
    flag: 'api-tls-key',
    placeholder: 'file',
    env: 'DROVER_API_TLS_KEY',
    description: 'The PEM private key of `--api-tls-cert`.',
    parse: parse.string,
  } satisfies Setting<string | undefined>,
} satisfies SettingsSpec;

export type DevOptions = CompiledOptions<typeof devSettings>;

/**
 * `drover dev`'s options from commander's values and the environment, by the one rule of every
 * process: a flag, then the environment, then the `--config` file, then the default. Warnings
 * about former setting names go to `warn` (default: stderr).
 */
export function compileDevOptions(opts: Record<string, unknown>, env: NodeJS.ProcessEnv, warn?: (message: string) => void): DevOptions {
  const flags = flagsFrom(opts);
  if (flags.listen === undefined && typeof opts.nats === 'string') flags.listen = opts.nats;
  return compileOptions(devSettings, { flags, env, file: typeof opts.config === 'string' ? opts.config : undefined, warn });
}
