// The agent's settings, declared once: flags, `DROVER_*` env, an optional options file.
// `agentSettings` also feeds the README's configuration reference.
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import {
  compileOptions,
  logFormatSetting,
  natsSecuritySettings,
  parse,
  type CompiledOptions,
  type OptionSources,
  type Setting,
  type SettingsSpec,
} from '@drover/shared';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Marks a setting whose default is computed on the host at start-up (so it compiles to `undefined` when unset). */
function hostDefault<T>(p: (raw: string | string[]) => T): (raw: string | string[]) => T | undefined {
  return p;
}

function positive(p: (raw: string | string[]) => number, what: string) {
  return (raw: string | string[]): number => {
    const n = p(raw);
    if (n <= 0) throw new Error(`${what} must be greater than zero`);
    return n;
  };
}

function natsUrl(raw: string | string[]): string {
  const v = parse.string(raw).trim();
  return v === 'memory' ? v : parse.urls(['nats', 'tls'])(v);
}

function directory(raw: string | string[]): string {
  const v = parse.string(raw).trim();
  if (v === '') throw new Error('must name a directory');
  return resolve(v === '~' ? homedir() : v.startsWith('~/') ? `${homedir()}${v.slice(1)}` : v);
}

export const agentSettings = {
  nats: {
    flag: 'nats',
    placeholder: 'url',
    env: 'DROVER_NATS_URL',
    defaultText: 'nats://127.0.0.1:4222',
    description:
      'NATS server to join (`nats://host:port`; the nodes of a cluster separated by commas), or `memory` for the in-process transport of `drover dev`.',
    parse: natsUrl,
  } satisfies Setting<string>,
  ...natsSecuritySettings,
  joinToken: {
    flag: 'join-token',
    placeholder: 'token',
    env: 'DROVER_JOIN_TOKEN',
    description:
      "Join token (`drover tokens create --role agent`) presented at the first registration, exchanged for this agent's own key (kept in the state dir); not needed once joined.",
    parse: parse.string,
  } satisfies Setting<string | undefined>,
  joinTokenFile: {
    flag: 'join-token-file',
    placeholder: 'file',
    env: 'DROVER_JOIN_TOKEN_FILE',
    description: 'A file holding the join token, instead of `--join-token`.',
    parse: (raw): string | undefined => directory(raw),
  } satisfies Setting<string | undefined>,
  coordinatorKey: {
    flag: 'coordinator-key',
    placeholder: 'key',
    env: 'DROVER_COORDINATOR_KEY',
    description:
      "The cluster's public key (`drover cluster key`, or `publicKey` of `GET /v1/cluster/key`: base64url, base64 or PEM), or a file holding it: pinned before the first join, so only an answer signed with it is trusted. Without it the first join trusts the key of the first answer.",
    parse: parse.string,
  } satisfies Setting<string | undefined>,
  jobNamespaces: {
    flag: 'job-namespaces',
    placeholder: 'ns,…',
    env: 'DROVER_JOB_NAMESPACES',
    repeatable: true,
    description:
      'Take only runs of jobs in these namespaces (repeat the flag, or a comma list in the env var); narrows what the join token allows. Default: what the join token allows.',
    parse: (raw): string[] => {
      const list = (Array.isArray(raw) ? raw : [raw])
        .flatMap((v) => v.split(','))
        .map((v) => v.trim())
        .filter((v) => v !== '');
      for (const v of list) if (!/^[a-z0-9][a-z0-9._-]{0,62}$/.test(v)) throw new Error(`"${v}" is not a namespace name`);
      return [...new Set(list)];
    },
  } satisfies Setting<string[] | undefined>,
  cluster: {
    flag: 'cluster',
    placeholder: 'name',
    env: 'DROVER_CLUSTER',
    defaultText: 'drover',
    description: 'Cluster name (the NATS subject prefix); only coordinators with the same one see this agent.',
    formerly: { flag: 'namespace', env: 'DROVER_NAMESPACE' },
    parse: (raw) => {
      const v = parse.string(raw);
      if (!/^[A-Za-z0-9_-]+$/.test(v)) throw new Error(`"${v}" may only hold letters, digits, "_" and "-"`);
      return v;
    },
  } satisfies Setting<string>,
  labels: {
    flag: 'label',
    placeholder: 'key=value',
    env: 'DROVER_LABELS',
    repeatable: true,
    description: 'Operator label `key=value`, advertised as capability `label.<key>`; repeat the flag, or a comma list in the env var.',
    parse: parse.labels,
  } satisfies Setting<Record<string, string>>,
  slots: {
    flag: 'slots',
    placeholder: 'n',
    env: 'DROVER_SLOTS',
    description: 'How many runs may execute at once (default: the number of CPU cores).',
    parse: hostDefault(parse.int(1, 100_000)),
  } satisfies Setting<number | undefined>,
  cpu: {
    flag: 'cpu',
    placeholder: 'cores',
    env: 'DROVER_CPU',
    description: 'CPU cores offered to runs, may be fractional (default: all cores).',
    parse: hostDefault(positive(parse.number(0), 'cpu')),
  } satisfies Setting<number | undefined>,
  memory: {
    flag: 'memory',
    placeholder: 'size',
    env: 'DROVER_MEMORY',
    description: 'Memory offered to runs, e.g. `8GiB` (default: the total memory of the host).',
    parse: hostDefault(positive(parse.bytes, 'memory')),
  } satisfies Setting<number | undefined>,
  allowShell: {
    flag: 'allow-shell',
    placeholder: 'true|false',
    env: 'DROVER_ALLOW_SHELL',
    boolean: true,
    defaultText: 'false',
    description: 'Accept jobs with the `shell` executor (scripts run by `/bin/sh`).',
    parse: parse.boolean,
  } satisfies Setting<boolean>,
  allowHttp: {
    flag: 'allow-http',
    placeholder: 'true|false',
    env: 'DROVER_ALLOW_HTTP',
    boolean: true,
    defaultText: 'false',
    description: 'Accept jobs with the `http` executor (requests made from this host, which may reach what only it can).',
    parse: parse.boolean,
  } satisfies Setting<boolean>,
  runAs: {
    flag: 'run-as',
    placeholder: 'user[:group]',
    env: 'DROVER_RUN_AS',
    description:
      "Run attempts as this unprivileged `user[:group]` (names or numeric ids), resolved at start-up; the agent must run as root to switch (its jobs then hold no privilege). Default: the agent's own user, which needs `--allow-same-user`.",
    parse: (raw): { user: string; group?: string } | undefined => {
      const v = parse.string(raw).trim();
      const m = /^([A-Za-z0-9_][A-Za-z0-9_.-]*\$?)(?::([A-Za-z0-9_][A-Za-z0-9_.-]*))?$/.exec(v);
      if (!m) throw new Error(`"${v}" is not user or user:group`);
      return { user: m[1] as string, ...(m[2] ? { group: m[2] } : {}) };
    },
  } satisfies Setting<{ user: string; group?: string } | undefined>,
  allowSameUser: {
    flag: 'allow-same-user',
    placeholder: 'true|false',
    env: 'DROVER_ALLOW_SAME_USER',
    boolean: true,
    defaultText: 'false',
    description:
      "Let attempts run as the agent's own user (no `--run-as`, or `--run-as` naming that user). Without it such an agent refuses to start: its jobs could read its join token and NATS credentials (`/proc/<pid>/environ`) and its private key (the state dir) and act as the agent. For labs and containers where the agent holds nothing worth stealing; warned about on every start.",
    parse: parse.boolean,
  } satisfies Setting<boolean>,
  workRoot: {
    flag: 'work-root',
    placeholder: 'dir',
    env: 'DROVER_WORK_ROOT',
    description:
      "Confine jobs' working directories (`cwd`) to this directory: relative ones are resolved in it, and one leading outside it (`..`, a symlink) fails the attempt. (A job naming none runs in its scratch directory, see `--scratch-dir`.) Created if missing. Default: no confinement.",
    parse: (raw): string | undefined => directory(raw),
  } satisfies Setting<string | undefined>,
  name: {
    flag: 'name',
    placeholder: 'name',
    env: 'DROVER_AGENT_NAME',
    description: 'Name shown for this agent (default: the host name).',
    parse: hostDefault((raw) => {
      const v = parse.string(raw).trim();
      if (v === '' || v.length > 200) throw new Error('must be 1 to 200 characters');
      return v;
    }),
  } satisfies Setting<string | undefined>,
  stateDir: {
    flag: 'state-dir',
    placeholder: 'dir',
    env: 'DROVER_STATE_DIR',
    defaultText: '~/.drover/agent',
    description: "Directory for the agent's persistent state (its `agent-id`); created with mode 0700.",
    parse: directory,
  } satisfies Setting<string>,
  scratchDir: {
    flag: 'scratch-dir',
    placeholder: 'dir',
    env: 'DROVER_SCRATCH_DIR',
    description:
      "Where each attempt of an exec or shell job gets its own empty working directory, `<run>-<attempt>`, owned by the user it runs as: its cwd unless the job names one, and `$DROVER_WORK_DIR` either way. Removed when the attempt succeeds, kept for `--scratch-retention` otherwise. Default: `<state-dir>/work`; with `--run-as`, `<state-dir>-work` (beside the state dir, which stays closed to the jobs' user).",
    parse: hostDefault((raw) => directory(raw)),
  } satisfies Setting<string | undefined>,
  scratchRetention: {
    flag: 'scratch-retention',
    placeholder: 'duration',
    env: 'DROVER_SCRATCH_RETENTION',
    defaultText: '24h',
    description:
      'How long the scratch directory of an attempt that did not succeed (failed, timed out, cancelled, lost) is kept for a look, from its end; swept at start and periodically. `0s` keeps none.',
    parse: parse.duration,
  } satisfies Setting<number>,
  outboxMaxBytes: {
    flag: 'outbox-max-bytes',
    placeholder: 'size',
    env: 'DROVER_OUTBOX_MAX_BYTES',
    defaultText: '256MiB',
    description:
      'Bound on the run events kept in the state dir until a coordinator acknowledges them (`outbox.journal`). Over it the oldest log chunks are dropped first, then the oldest finished results whole (their runs are then retried as lost); each drop is logged and counted. At least 1MiB.',
    parse: (raw) => {
      const b = parse.bytes(raw);
      if (b < 1024 * 1024) throw new Error('must be at least 1MiB');
      return b;
    },
  } satisfies Setting<number>,
  heartbeatInterval: {
    flag: 'heartbeat-interval',
    placeholder: 'duration',
    env: 'DROVER_HEARTBEAT_INTERVAL',
    defaultText: '2s',
    description: 'Time between heartbeats until a coordinator names its own interval at registration.',
    parse: (raw) => {
      const ms = parse.duration(raw);
      if (ms < 100) throw new Error('must be at least 100ms');
      return ms;
    },
  } satisfies Setting<number>,
  metricsAddr: {
    flag: 'metrics-addr',
    placeholder: 'host:port',
    env: 'DROVER_METRICS_ADDR',
    description:
      'Serve `/metrics` (Prometheus) and `/healthz` on this host:port; port 0 picks a free one (logged as `metrics listening`). Off when unset.',
    // No default: the port is opened only when asked for.
    parse: (raw): { host: string; port: number } | undefined => parse.hostPort(raw),
  } satisfies Setting<{ host: string; port: number } | undefined>,
  logLevel: {
    flag: 'log-level',
    placeholder: 'level',
    env: 'DROVER_LOG_LEVEL',
    defaultText: 'info',
    description: `Least severe log level written to stdout: ${LOG_LEVELS.join(', ')}.`,
    parse: parse.oneOf(LOG_LEVELS),
  } satisfies Setting<LogLevel>,
  logFormat: logFormatSetting,
} satisfies SettingsSpec;

/** The agent's validated settings; host-dependent defaults are still `undefined` here. */
export type AgentOptions = CompiledOptions<typeof agentSettings>;

/** Reads and validates the agent's settings; throws OptionsError naming the first bad one. */
export function compileAgentOptions(sources: OptionSources): AgentOptions {
  return compileOptions(agentSettings, sources);
}
