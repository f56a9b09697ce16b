// The coordinator's settings, declared once; the README's reference is generated from here.
import {
  compileOptions,
  logFormatSetting,
  natsSecuritySettings,
  OptionsError,
  parse,
  type CompiledOptions,
  type OptionSources,
  type SettingsSpec,
} from '@drover/shared';
import { parseWebhookAllow } from './actions/webhook-policy.js';
import type { SecretsKey } from './security/secrets-crypto.js';
import { coordinatorSecuritySettings } from './security/settings.js';
import { tlsSettingsProblem, type DatabaseTls } from './security/tls.js';

export const coordinatorSettings = {
  databaseUrl: {
    flag: 'database-url',
    placeholder: 'url',
    env: 'DROVER_DATABASE_URL',
    defaultText: 'postgres://postgres@127.0.0.1:5432/drover',
    description:
      'PostgreSQL connection URL (all durable state); `pglite:<directory>` for embedded PostgreSQL (PGlite) kept in that directory, `pglite:memory` for a throwaway one.',
    parse: (raw: string | string[]) =>
      typeof raw === 'string' && raw.startsWith('pglite:') ? parse.string(raw) : parse.url(['postgres', 'postgresql'])(raw),
  },
  databaseListenUrl: {
    flag: 'database-listen-url',
    placeholder: 'url',
    env: 'DROVER_DATABASE_LISTEN_URL',
    description:
      'PostgreSQL URL of the one connection that LISTENs for new log chunks, when `--database-url` goes through a pooler in transaction mode (PgBouncer): give a direct one. Defaults to `--database-url`.',
    parse: parse.url(['postgres', 'postgresql']),
  },
  redisUrl: {
    flag: 'redis-url',
    placeholder: 'url',
    env: 'DROVER_REDIS_URL',
    defaultText: 'redis://127.0.0.1:6379',
    description:
      'Redis URL (ready queues, dispatcher lease); `memory` keeps them in this process (one coordinator only, as `drover dev` does).',
    parse: (raw: string | string[]) => (raw === 'memory' ? 'memory' : parse.url(['redis', 'rediss'])(raw)),
  },
  redisSentinels: {
    flag: 'redis-sentinels',
    placeholder: 'host:port,…',
    env: 'DROVER_REDIS_SENTINELS',
    description:
      'Redis Sentinels (`host:port,…`) to ask where the master named `--redis-sentinel-name` is; `--redis-url` then gives only the password, the database and `rediss://`.',
    parse: (raw: string | string[]) =>
      parse
        .string(raw)
        .split(',')
        .map((a) => parse.hostPort(a.trim())),
  },
  redisSentinelName: {
    flag: 'redis-sentinel-name',
    placeholder: 'name',
    env: 'DROVER_REDIS_SENTINEL_NAME',
    defaultText: 'mymaster',
    description: 'The master name the Sentinels monitor (`sentinel monitor <name> …`); used with `--redis-sentinels`.',
    parse: parse.string,
  },
  redisPrefix: {
    flag: 'redis-prefix',
    placeholder: 'prefix',
    env: 'DROVER_REDIS_PREFIX',
    defaultText: 'drover:',
    description: 'Prefix of every Redis key, so clusters can share one Redis.',
    parse: parse.string,
  },
  natsUrl: {
    flag: 'nats',
    placeholder: 'url',
    env: 'DROVER_NATS_URL',
    defaultText: 'nats://127.0.0.1:4222',
    description: 'NATS URL agents and coordinators meet on; the nodes of a cluster separated by commas.',
    parse: (raw: string | string[]) => (raw === 'memory' ? 'memory' : parse.urls(['nats', 'tls'])(raw)),
  },
  ...natsSecuritySettings,
  cluster: {
    flag: 'cluster',
    placeholder: 'name',
    env: 'DROVER_CLUSTER',
    defaultText: 'drover',
    description: 'Cluster name; the NATS subject prefix. Agents must use the same one.',
    formerly: { flag: 'namespace', env: 'DROVER_NAMESPACE' },
    parse: parse.string,
  },
  apiAddr: {
    flag: 'api-addr',
    placeholder: 'host:port',
    env: 'DROVER_API_ADDR',
    defaultText: '127.0.0.1:7400',
    description: 'Where the REST API listens (host:port; port 0 picks a free one).',
    parse: parse.hostPort,
  },
  nodeId: {
    flag: 'node-id',
    placeholder: 'id',
    env: 'DROVER_NODE_ID',
    description: "This coordinator's node id on the bus (default: coordinator-<host>-<pid>).",
    parse: parse.string,
  },
  heartbeatInterval: {
    flag: 'heartbeat-interval',
    placeholder: 'duration',
    env: 'DROVER_HEARTBEAT_INTERVAL',
    defaultText: '2s',
    description: 'How often agents are asked to heartbeat (the interval grows with the fleet: at most 200 heartbeats a second in all).',
    parse: parse.duration,
  },
  agentDownAfter: {
    flag: 'agent-down-after',
    placeholder: 'duration',
    env: 'DROVER_AGENT_DOWN_AFTER',
    defaultText: '7s',
    description:
      "Silence after which an agent is `down` (no new offers, an alert); never less than 3 heartbeat intervals plus 1 s (the interval grows with the fleet). Its runs are re-dispatched by their job's `disconnect` rule, not by this.",
    parse: parse.duration,
  },
  notifyUrl: {
    flag: 'notify-url',
    placeholder: 'url',
    env: 'DROVER_NOTIFY_URL',
    description: 'A webhook told (POST, JSON) when an agent goes down or comes back; retried with backoff.',
    parse: parse.url(['http', 'https']),
  },
  webhookAllow: {
    flag: 'webhook-allow',
    placeholder: 'cidr|host',
    env: 'DROVER_WEBHOOK_ALLOW',
    description:
      'Internal addresses webhook actions may POST to; repeatable (comma-separated in the variable). By default loopback, link-local and cloud metadata, private (RFC 1918, CGNAT, ULA), unspecified, multicast and reserved addresses are refused, checked on every address a host name resolves to. A rule is an address (`127.0.0.1`), a CIDR (`10.20.0.0/16`), a host name (`hooks.corp.example`), `*.corp.example`, or `*` (no check). Redirects are never followed. Not applied to `--notify-url`, which only an administrator sets.',
    repeatable: true,
    parse: parseWebhookAllow,
  },
  agentGoneAfter: {
    flag: 'agent-gone-after',
    placeholder: 'duration',
    env: 'DROVER_AGENT_GONE_AFTER',
    defaultText: '24h',
    description: 'An agent `down` (or `left`) for this long becomes `gone` (kept for history, no longer listed as down).',
    parse: parse.duration,
  },
  offerTimeout: {
    flag: 'offer-timeout',
    placeholder: 'duration',
    env: 'DROVER_OFFER_TIMEOUT',
    defaultText: '30s',
    description: 'An offer not taken up within this time goes back to the queue.',
    parse: parse.duration,
  },
  reconcileInterval: {
    flag: 'reconcile-interval',
    placeholder: 'duration',
    env: 'DROVER_RECONCILE_INTERVAL',
    defaultText: '2s',
    description:
      'How often the leader sweeps for silent agents, stuck offers and lost queue entries, and every coordinator revalidates its cached jobs.',
    parse: parse.duration,
  },
  autoMigrate: {
    flag: 'auto-migrate',
    placeholder: 'true|false',
    env: 'DROVER_AUTO_MIGRATE',
    defaultText: 'false',
    description: 'Apply pending database migrations at start-up instead of refusing to start.',
    parse: parse.boolean,
    boolean: true,
  },
  insecure: {
    flag: 'insecure',
    placeholder: 'true|false',
    env: 'DROVER_INSECURE',
    defaultText: 'false',
    description:
      'Serve the API without authentication: every request acts as `anonymous` with admin rights. For labs only; warned about on every start.',
    parse: parse.boolean,
    boolean: true,
  },
  bootstrapToken: {
    flag: 'bootstrap-token',
    placeholder: 'token',
    env: 'DROVER_BOOTSTRAP_TOKEN',
    description:
      'An admin API token created at start-up when it does not exist yet (idempotent), so a new cluster has someone who can act; e.g. `$(openssl rand -hex 32)`. Prefer the environment variable to the flag (process lists show flags).',
    parse: (raw: string | string[]) => {
      const v = parse.string(raw);
      if (v.length < 16 || /\s/.test(v))
        throw new Error('must be at least 16 characters without spaces; make one with "openssl rand -hex 32"');
      return v;
    },
  },
  bootstrapJoinToken: {
    flag: 'bootstrap-join-token',
    placeholder: 'token',
    env: 'DROVER_BOOTSTRAP_JOIN_TOKEN',
    description:
      'An agent join token (role `agent`, any namespace) created at start-up when it does not exist yet, so agents started together with the cluster (docker compose) can join with the same value as `DROVER_JOIN_TOKEN`.',
    parse: (raw: string | string[]) => {
      const v = parse.string(raw);
      if (v.length < 16 || /\s/.test(v))
        throw new Error('must be at least 16 characters without spaces; make one with "openssl rand -hex 32"');
      return v;
    },
  },
  rateLimit: {
    flag: 'rate-limit',
    placeholder: 'n',
    env: 'DROVER_RATE_LIMIT',
    defaultText: '1200',
    description:
      'Requests each API token (or address, without a token) may make per `--rate-limit-window` before getting 429; 0 turns the limit off. Not applied with `--insecure`.',
    parse: parse.int(0),
  },
  rateLimitWindow: {
    flag: 'rate-limit-window',
    placeholder: 'duration',
    env: 'DROVER_RATE_LIMIT_WINDOW',
    defaultText: '1m',
    description: 'The window `--rate-limit` counts requests in.',
    parse: parse.duration,
  },
  maxConnections: {
    flag: 'max-connections',
    placeholder: 'n',
    env: 'DROVER_MAX_CONNECTIONS',
    defaultText: '1024',
    description: 'Most HTTP connections the API holds open at once; further ones are closed at once.',
    parse: parse.int(1),
  },
  maxConnectionsPerAddress: {
    flag: 'max-connections-per-address',
    placeholder: 'n',
    env: 'DROVER_MAX_CONNECTIONS_PER_ADDRESS',
    defaultText: '64',
    description:
      'Most HTTP connections the API holds open from one client address; further ones are closed at once, so one client cannot take every connection. 0: no limit. Behind a proxy or load balancer (all clients share its address) raise it, or give 0 and limit at the proxy.',
    parse: parse.int(0),
  },
  logFollowers: {
    flag: 'log-followers',
    placeholder: 'n',
    env: 'DROVER_LOG_FOLLOWERS',
    defaultText: '1000',
    description:
      'Most log followers (`GET /v1/runs/{id}/logs?follow=1`, `drover logs -f`, open run pages) this coordinator serves at once; beyond it a follow gets 429 with Retry-After.',
    parse: parse.int(1),
  },
  logFollowersPerRun: {
    flag: 'log-followers-per-run',
    placeholder: 'n',
    env: 'DROVER_LOG_FOLLOWERS_PER_RUN',
    defaultText: '100',
    description: 'Most followers of one run on this coordinator; beyond it a follow gets 429 with Retry-After.',
    parse: parse.int(1),
  },
  logFollowersPerToken: {
    flag: 'log-followers-per-token',
    placeholder: 'n',
    env: 'DROVER_LOG_FOLLOWERS_PER_TOKEN',
    defaultText: '100',
    description:
      'Most followers one API token (one address, without a token) holds open on this coordinator; beyond it a follow gets 429 with Retry-After.',
    parse: parse.int(1),
  },
  logFollowPoll: {
    flag: 'log-follow-poll',
    placeholder: 'duration',
    env: 'DROVER_LOG_FOLLOW_POLL',
    defaultText: '5s',
    description:
      'Followers are woken by PostgreSQL notifications; this often, one query also finds the followers behind their run and wakes them, in case a notification was lost (a reconnecting listener, a pooler in transaction mode).',
    parse: (raw: string | string[]) => {
      const ms = parse.duration(raw);
      if (ms < 100) throw new Error(`"${String(raw)}" is shorter than 100ms`);
      return ms;
    },
  },
  apiRequestTimeout: {
    flag: 'api-request-timeout',
    placeholder: 'duration',
    env: 'DROVER_API_REQUEST_TIMEOUT',
    defaultText: '10s',
    description:
      'Time a client has to send a whole request (headers and body) once connected or between keep-alive requests; a connection that sends nothing is closed after it. Responses, such as followed logs, are not limited.',
    parse: (raw: string | string[]) => {
      const ms = parse.duration(raw);
      if (ms < 1000) throw new Error(`"${String(raw)}" is shorter than 1s`);
      return ms;
    },
  },
  logLevel: {
    flag: 'log-level',
    placeholder: 'level',
    env: 'DROVER_LOG_LEVEL',
    defaultText: 'info',
    description: 'Log level: debug, info, warn, error.',
    parse: parse.oneOf(['debug', 'info', 'warn', 'error'] as const),
  },
  logFormat: logFormatSetting,
  ...coordinatorSecuritySettings,
} satisfies SettingsSpec;

export type CoordinatorOptions = CompiledOptions<typeof coordinatorSettings>;

/** Reads and validates the coordinator's options; throws OptionsError naming a bad setting. */
export function compileCoordinatorOptions(sources: OptionSources): CoordinatorOptions {
  const options = compileOptions(coordinatorSettings, sources);
  checkSecurityOptions(options);
  return options;
}

/** Settings of TLS and secrets that only make sense together; throws OptionsError naming them. */
function checkSecurityOptions(o: CoordinatorOptions): void {
  if (o.secretsKey && o.secretsKeyFile)
    throw new OptionsError('--secrets-key (DROVER_SECRETS_KEY) and --secrets-key-file (DROVER_SECRETS_KEY_FILE) are both set: give one');
  const problem = tlsSettingsProblem({
    redisUrl: o.redisUrl,
    redisTls: { ca: o.redisCa, cert: o.redisCert, key: o.redisKey },
    apiTls: { cert: o.apiTlsCert, key: o.apiTlsKey, clientCa: o.apiTlsClientCa },
    databaseTls: { sslMode: o.databaseSslMode, ca: o.databaseCa, cert: o.databaseCert, key: o.databaseKey },
  });
  if (problem) throw new OptionsError(problem);
  if (o.redisSentinels && o.redisUrl === 'memory')
    throw new OptionsError('--redis-sentinels (DROVER_REDIS_SENTINELS) needs Redis: drop --redis-url memory, or the Sentinels');
}

/** The secrets key from `--secrets-key` or `--secrets-key-file`, if either is set. */
export function secretsKeyOf(options: CoordinatorOptions): SecretsKey | undefined {
  return options.secretsKey ?? options.secretsKeyFile;
}

/** The PostgreSQL TLS settings, for pg's `ssl` (see security/tls.ts). */
export function databaseTlsOf(options: CoordinatorOptions): DatabaseTls {
  return { sslMode: options.databaseSslMode, ca: options.databaseCa, cert: options.databaseCert, key: options.databaseKey };
}
