// The coordinator's settings, declared once; the README's reference is generated from here.
import { natsSecuritySettings } from '@drover/shared';
import { compileOptions, parse, type CompiledOptions, type OptionSources, type SettingsSpec } from '@drover/shared';

export const coordinatorSettings = {
  databaseUrl: {
    flag: 'database-url',
    env: 'DROVER_DATABASE_URL',
    defaultText: 'postgres://postgres@127.0.0.1:5432/drover',
    description:
      'PostgreSQL connection URL (all durable state); `pglite:<directory>` for embedded PostgreSQL (PGlite) kept in that directory, `pglite:memory` for a throwaway one.',
    parse: (raw: string | string[]) =>
      typeof raw === 'string' && raw.startsWith('pglite:') ? parse.string(raw) : parse.url(['postgres', 'postgresql'])(raw),
  },
  redisUrl: {
    flag: 'redis-url',
    env: 'DROVER_REDIS_URL',
    defaultText: 'redis://127.0.0.1:6379',
    description:
      'Redis URL (ready queues, dispatcher lease); `memory` keeps them in this process (one coordinator only, as `drover dev` does).',
    parse: (raw: string | string[]) => (raw === 'memory' ? 'memory' : parse.url(['redis', 'rediss'])(raw)),
  },
  redisPrefix: {
    flag: 'redis-prefix',
    env: 'DROVER_REDIS_PREFIX',
    defaultText: 'drover:',
    description: 'Prefix of every Redis key, so clusters can share one Redis.',
    parse: parse.string,
  },
  natsUrl: {
    flag: 'nats',
    env: 'DROVER_NATS_URL',
    defaultText: 'nats://127.0.0.1:4222',
    description: 'NATS URL agents and coordinators meet on.',
    parse: (raw: string | string[]) => (raw === 'memory' ? 'memory' : parse.url(['nats', 'tls'])(raw)),
  },
  ...natsSecuritySettings,
  namespace: {
    flag: 'namespace',
    env: 'DROVER_NAMESPACE',
    defaultText: 'drover',
    description: 'Cluster name; the NATS subject prefix. Agents must use the same one.',
    parse: parse.string,
  },
  apiAddr: {
    flag: 'api-addr',
    env: 'DROVER_API_ADDR',
    defaultText: '127.0.0.1:7400',
    description: 'Where the REST API listens (host:port; port 0 picks a free one).',
    parse: parse.hostPort,
  },
  nodeId: {
    flag: 'node-id',
    env: 'DROVER_NODE_ID',
    description: "This coordinator's node id on the bus (default: coordinator-<host>-<pid>).",
    parse: parse.string,
  },
  heartbeatInterval: {
    flag: 'heartbeat-interval',
    env: 'DROVER_HEARTBEAT_INTERVAL',
    defaultText: '5s',
    description: 'How often agents are asked to heartbeat.',
    parse: parse.duration,
  },
  agentDownAfter: {
    flag: 'agent-down-after',
    env: 'DROVER_AGENT_DOWN_AFTER',
    defaultText: '17s',
    description:
      'Silence after which an agent is `down`; never less than 3 heartbeat intervals plus 2 s (the interval grows with the fleet).',
    parse: parse.duration,
  },
  notifyUrl: {
    flag: 'notify-url',
    env: 'DROVER_NOTIFY_URL',
    description: 'A webhook told (POST, JSON) when an agent goes down or comes back; retried with backoff.',
    parse: parse.url(['http', 'https']),
  },
  agentGoneAfter: {
    flag: 'agent-gone-after',
    env: 'DROVER_AGENT_GONE_AFTER',
    defaultText: '24h',
    description: 'An agent `down` for this long becomes `gone` (kept for history, no longer listed as down).',
    parse: parse.duration,
  },
  offerTimeout: {
    flag: 'offer-timeout',
    env: 'DROVER_OFFER_TIMEOUT',
    defaultText: '30s',
    description: 'An offer not taken up within this time goes back to the queue.',
    parse: parse.duration,
  },
  reconcileInterval: {
    flag: 'reconcile-interval',
    env: 'DROVER_RECONCILE_INTERVAL',
    defaultText: '5s',
    description: 'How often the leader sweeps for silent agents, stuck offers and lost queue entries.',
    parse: parse.duration,
  },
  autoMigrate: {
    flag: 'auto-migrate',
    env: 'DROVER_AUTO_MIGRATE',
    defaultText: 'false',
    description: 'Apply pending database migrations at start-up instead of refusing to start.',
    parse: parse.boolean,
    boolean: true,
  },
  insecure: {
    flag: 'insecure',
    env: 'DROVER_INSECURE',
    defaultText: 'false',
    description:
      'Serve the API without authentication: every request acts as `anonymous` with admin rights. For labs only; warned about on every start.',
    parse: parse.boolean,
    boolean: true,
  },
  bootstrapToken: {
    flag: 'bootstrap-token',
    env: 'DROVER_BOOTSTRAP_TOKEN',
    description:
      'An admin API token created at start-up when it does not exist yet (idempotent), so a new cluster has someone who can act; e.g. `$(openssl rand -hex 32)`. Prefer the environment variable to the flag (process lists show flags).',
    parse: (raw: string | string[]) => {
      const v = parse.string(raw);
      if (v.length < 16 || /\s/.test(v)) throw new Error('must be at least 16 characters without spaces; make one with "openssl rand -hex 32"');
      return v;
    },
  },
  rateLimit: {
    flag: 'rate-limit',
    env: 'DROVER_RATE_LIMIT',
    defaultText: '1200',
    description:
      'Requests each API token (or address, without a token) may make per `--rate-limit-window` before getting 429; 0 turns the limit off. Not applied with `--insecure`.',
    parse: parse.int(0),
  },
  rateLimitWindow: {
    flag: 'rate-limit-window',
    env: 'DROVER_RATE_LIMIT_WINDOW',
    defaultText: '1m',
    description: 'The window `--rate-limit` counts requests in.',
    parse: parse.duration,
  },
  maxConnections: {
    flag: 'max-connections',
    env: 'DROVER_MAX_CONNECTIONS',
    defaultText: '1024',
    description: 'Most HTTP connections the API holds open at once; further ones are closed at once.',
    parse: parse.int(1),
  },
  logLevel: {
    flag: 'log-level',
    env: 'DROVER_LOG_LEVEL',
    defaultText: 'info',
    description: 'Log level: debug, info, warn, error.',
    parse: parse.oneOf(['debug', 'info', 'warn', 'error'] as const),
  },
} satisfies SettingsSpec;

export type CoordinatorOptions = CompiledOptions<typeof coordinatorSettings>;

/** Reads and validates the coordinator's options; throws OptionsError naming a bad setting. */
export function compileCoordinatorOptions(sources: OptionSources): CoordinatorOptions {
  return compileOptions(coordinatorSettings, sources);
}
