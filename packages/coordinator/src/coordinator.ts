// Starting and stopping a coordinator: connections, Moleculer services, leadership, API.
import os from 'node:os';
import type { Logger } from 'pino';
import { BusLink, createBroker, DroverError, failureLogOf, guardBroadcasts, natsSecurityFrom, redactUrl, SERVICES } from '@drover/shared';
import { releaseWaitingRuns } from './store/schedules.js';
import type { CoordinatorOptions } from './options.js';
import type { CoordinatorContext } from './context.js';
import { openDatabase, describeDatabaseUrl, ensureDatabaseExists } from './store/db.js';
import { migrateToLatest, migrationStatus } from './store/migrator.js';
import { openRedis, RedisReadyQueue, type ReadyQueue } from './queue/ready-queue.js';
import { MemoryReadyQueue } from './queue/memory-queue.js';
import { MemoryLeaderLease, RedisLeaderLease, type LeaderLease } from './queue/leader-lease.js';
import { ClusterClock } from './clock/cluster-clock.js';
import { JobCache } from './dispatch/job-cache.js';
import { StoreLink } from './store/store-link.js';
import { Leadership } from './dispatch/leadership.js';
import { fleetService } from './services/fleet.service.js';
import { runsService } from './services/runs.service.js';
import { dispatchService } from './services/dispatch.service.js';
import { buildApi } from './api/server.js';
import { ActionRunner, type ActionRunnerOptions } from './actions/runner.js';
import { CoordinatorMetrics } from './metrics/coordinator-metrics.js';
import { AgentIdentities } from './security/agent-identities.js';
import { databaseTlsOf, secretsKeyOf } from './options.js';
import { databaseSsl, redisTls } from './security/tls.js';
import { checkSecretsKey } from './security/secrets-key-check.js';
import type { AuthMode } from './api/auth.js';
import { ensureBootstrapToken, refuseWithoutUsableAuth } from './security/bootstrap.js';
import { MoleculerAgentChannel } from './transport/moleculer-channel.js';
import { MoleculerSignals } from './transport/moleculer-signals.js';

/** A running coordinator. */
export interface CoordinatorHandle {
  /** Base URL of the REST API. */
  url: string;
  nodeId: string;
  isLeader(): boolean;
  stop(): Promise<void>;
}

async function ensureSchema(opts: CoordinatorOptions, log: Logger): Promise<void> {
  if (opts.autoMigrate) {
    const r = await migrateToLatest(opts.databaseUrl, databaseSsl(databaseTlsOf(opts)));
    const applied = r.results?.filter((m) => m.status === 'Success').map((m) => m.migrationName) ?? [];
    if (applied.length > 0) log.info({ applied }, 'applied database migrations');
    return;
  }
  const pending = (await migrationStatus(opts.databaseUrl, databaseSsl(databaseTlsOf(opts))))
    .filter((m) => !m.executedAt)
    .map((m) => m.name);
  if (pending.length > 0) {
    throw new DroverError(
      'SCHEMA_OUT_OF_DATE',
      `the database ${describeDatabaseUrl(opts.databaseUrl)} lacks migrations ${pending.join(', ')}: run "drover migrate up" first (or start with --auto-migrate)`,
    );
  }
}

/** Settings not offered as flags: for embedding and tests (e.g. fast action retries). */
export interface CoordinatorTuning {
  actions?: Partial<ActionRunnerOptions>;
  /** `dev`: the API is open, callers act as `dev` (drover dev, which says so itself). Otherwise tokens, or --insecure. */
  auth?: 'dev';
}

/** Settles how the API authenticates, and refuses a start no one could use safely. */
async function prepareAuth(
  opts: CoordinatorOptions,
  db: Awaited<ReturnType<typeof openDatabase>>,
  log: Logger,
  tuning: CoordinatorTuning,
  clock: ClusterClock,
): Promise<AuthMode> {
  if (tuning.auth === 'dev') return 'dev';
  if (opts.insecure) {
    // Every start, at warn level: a lab setting must not quietly become production.
    log.warn(
      { apiAddr: `${opts.apiAddr.host}:${opts.apiAddr.port}` },
      'INSECURE: --insecure is set, so the API has NO authentication: anyone who can reach it acts as an admin and can run commands on every agent. Remove --insecure (DROVER_INSECURE) and set DROVER_BOOTSTRAP_TOKEN outside a lab.',
    );
    return 'insecure';
  }
  const now = new Date(clock.now());
  if (opts.bootstrapToken) await ensureBootstrapToken(db, opts.bootstrapToken, now, log);
  if (opts.bootstrapJoinToken) await ensureBootstrapToken(db, opts.bootstrapJoinToken, now, log, 'join');
  await refuseWithoutUsableAuth(db, opts.apiAddr.host, now);
  return 'tokens';
}

/** Connects to PostgreSQL, Redis and NATS, starts the services and the API. */
export async function startCoordinator(opts: CoordinatorOptions, log: Logger, tuning: CoordinatorTuning = {}): Promise<CoordinatorHandle> {
  const ssl = databaseSsl(databaseTlsOf(opts));
  if (opts.autoMigrate && (await ensureDatabaseExists(opts.databaseUrl, ssl)))
    log.info({ database: describeDatabaseUrl(opts.databaseUrl) }, 'created the database');
  const db = await openDatabase(opts.databaseUrl, { poolSize: 16, ssl });
  const dispatchDb = await openDatabase(opts.databaseUrl, { poolSize: 4, ssl });
  const cleanups: Array<() => Promise<unknown>> = [() => db.destroy(), () => dispatchDb.destroy()];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    await ensureSchema(opts, log);
    // Before anything compares a time with what PostgreSQL's now() wrote.
    const clock = new ClusterClock(db, log);
    await clock.start();
    cleanups.push(async () => clock.stop());
    const authMode = await prepareAuth(opts, db, log, tuning, clock);
    let queue: ReadyQueue;
    let lease: LeaderLease;
    if (opts.redisUrl === 'memory') {
      queue = new MemoryReadyQueue(clock.now);
      lease = new MemoryLeaderLease(clock.now);
    } else {
      const tls = redisTls(opts.redisUrl, { ca: opts.redisCa, cert: opts.redisCert, key: opts.redisKey });
      const sentinel = opts.redisSentinels ? { sentinels: opts.redisSentinels, name: opts.redisSentinelName } : undefined;
      const redis = await openRedis(opts.redisUrl, tls, sentinel);
      cleanups.push(async () => redis.disconnect());
      queue = new RedisReadyQueue(redis, opts.redisPrefix);
      lease = new RedisLeaderLease(redis, opts.redisPrefix);
    }
    const nodeId = opts.nodeId ?? `coordinator-${os.hostname()}-${process.pid}`;
    const broker = createBroker({
      natsUrl: opts.natsUrl,
      cluster: opts.cluster,
      nodeId,
      logLevel: opts.logLevel === 'debug' ? 'info' : 'warn',
      security: natsSecurityFrom(opts),
    });
    const bus = new BusLink();
    const store = new StoreLink();
    // Broadcasts are nudges backed by sweeps: one lost while the bus is away must not end the process.
    guardBroadcasts(broker, failureLogOf(log));
    const actions = new ActionRunner(tuning.actions);
    const metrics = new CoordinatorMetrics();
    const ctx: CoordinatorContext = {
      options: opts,
      db,
      dispatchDb,
      queue,
      lease,
      nodeId,
      agents: new MoleculerAgentChannel(broker),
      signals: new MoleculerSignals(broker),
      bus,
      store,
      jobs: new JobCache(db),
      actions,
      log,
      metrics,
      now: clock.now,
      // Agents must have joined when the API has auth: not with --insecure, nor in drover dev.
      identities: new AgentIdentities({
        db,
        log,
        now: clock.now,
        required: () => authMode === 'tokens',
      }),
      secretsKey: await checkSecretsKey(db, secretsKeyOf(opts), log),
    };
    await ctx.identities.loadClusterKey();
    // Broadcasts of job changes may be lost: each sweep drops cached jobs the database has moved past.
    const stopJobSweep = ctx.jobs.keepFresh(opts.reconcileInterval, failureLogOf(log));
    cleanups.push(async () => stopJobSweep());
    const leadership = new Leadership(ctx);
    metrics.attach({ db, queue, isLeader: () => leadership.isLeader });
    broker.createService(fleetService(ctx));
    broker.createService(
      runsService(ctx, (_changed, endedJobs) => {
        if (endedJobs.size > 0) void releaseWaiting(ctx, endedJobs).catch((err) => log.error({ err }, 'could not release waiting runs'));
      }),
    );
    broker.createService(dispatchService(ctx, leadership));
    await startBroker(broker, opts.natsUrl);
    bus.follow(broker);
    cleanups.push(() => broker.stop());
    if (opts.redisUrl === 'memory' && opts.natsUrl !== 'memory') await refuseSecondCoordinator(broker, opts.cluster);
    // Every coordinator runs actions, leader or not; they create runs, so the broker must be up.
    actions.start(ctx);
    cleanups.push(() => actions.stop());
    await leadership.start();
    cleanups.push(() => leadership.stop());
    const app = await buildApi(ctx, () => leadership.isLeader, authMode);
    // A flood of connections is shed at the socket, before it costs a request each.
    app.server.maxConnections = opts.maxConnections;
    const url = await app.listen({ host: opts.apiAddr.host, port: opts.apiAddr.port }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EADDRINUSE') throw err;
      throw new DroverError(
        'API_ADDRESS_IN_USE',
        `${opts.apiAddr.host}:${opts.apiAddr.port} is already in use (another Drover?); stop it, or give --api-addr another port (port 0 takes any free one)`,
        { cause: err },
      );
    });
    cleanups.push(() => app.close());
    log.info({ url, nodeId, cluster: opts.cluster, leader: leadership.isLeader, auth: authMode }, 'api listening');
    return { url, nodeId, isLeader: () => leadership.isLeader, stop: cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Runs that wait behind an active one (overlap policy `queue`) start when it ends. */
async function releaseWaiting(ctx: CoordinatorContext, endedJobs: Set<string>): Promise<void> {
  const jobs = await ctx.jobs.getMany([...endedJobs]);
  const queueing = [...jobs.values()].filter((j) => j?.overlap === 'queue').map((j) => j?.id as string);
  if (queueing.length === 0) return;
  const released = await releaseWaitingRuns(ctx.db, queueing, ctx.now());
  if (released.length === 0) return;
  await ctx.queue.enqueue(released);
  ctx.signals.queueReady();
}

/**
 * The in-memory lease is this process's own: a second coordinator in the cluster would
 * dispatch too, and both would fight over the agents. Refuse to start beside another one.
 */
async function refuseSecondCoordinator(broker: ReturnType<typeof createBroker>, cluster: string): Promise<void> {
  // Nodes announce themselves when they connect; give the answers a moment to arrive.
  await new Promise((r) => setTimeout(r, 1500));
  const others = (broker.registry.getServiceList({ onlyAvailable: true, skipInternal: true }) as Array<{ name: string; nodeID: string }>)
    .filter((s) => s.name === SERVICES.fleet && s.nodeID !== broker.nodeID)
    .map((s) => s.nodeID);
  if (others.length === 0) return;
  throw new DroverError(
    'COORDINATOR_ALREADY_RUNNING',
    `another coordinator (${others.join(', ')}) is in cluster "${cluster}", and the in-memory queue and lease serve one coordinator only: give this one a cluster of its own (--cluster), or use Redis (--redis-url) for several`,
  );
}

async function startBroker(broker: ReturnType<typeof createBroker>, natsUrl: string): Promise<void> {
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(
      () =>
        reject(
          new DroverError(
            'NATS_UNREACHABLE',
            `cannot reach NATS at ${redactUrl(natsUrl)} within 15 s. Is it running? Set DROVER_NATS_URL or --nats.`,
          ),
        ),
      15_000,
    ).unref(),
  );
  await Promise.race([broker.start(), timeout]);
}
