// The agent process: joins the bus, registers with a coordinator, heartbeats, takes offers
// and reports what its runs do. This file only wires the parts; see README.md beside it.
//
//   startAgent ─▶ agent-id, fingerprint ─▶ transport + drover.agent service ─▶ registrar (retried)
//                                                                                └▶ heartbeat
//   coordinator ─offer/stop─▶ offers ─▶ supervisor ─events─▶ outbox (reports) ─report─▶ coordinator
import type { Server } from 'node:http';
import os from 'node:os';
import type { Logger } from 'pino';
import { PROTOCOL_VERSION, type Capacity } from '@drover/shared';
import { startAttemptGuard } from './attempt-guard.js';
import { createExecutors } from './executors/index.js';
import type { RunAsUser } from './executors/process.js';
import { fingerprint } from './fingerprint.js';
import { Cadence, Heartbeat } from './heartbeat.js';
import { loadIdentity, readCoordinatorKey, readJoinToken } from './identity.js';
import { createAgentLogger } from './logger.js';
import { AgentMetrics, serveAgentMetrics } from './metrics.js';
import { agentService, OFFER_BACKLOG_MS, withdrawnRunsStopper } from './offers.js';
import type { AgentOptions } from './options.js';
import { OutboxJournal } from './outbox-journal.js';
import { Registrar, RegistrationRefusedError } from './registrar.js';
import { errorMessage } from './registration.js';
import { heldRuns, reportOutbox } from './reports.js';
import { checkJobUser, resolveRunAs, resolveWorkRoot, secureStateDir } from './run-as.js';
import { defaultScratchRoot, ScratchDirs } from './scratch-dirs.js';
import { DisconnectWatchdog } from './disconnect-watchdog.js';
import { Lifecycle, shutdownSequence } from './shutdown.js';
import { loadAgentId, lockStateDir, type StateDirLock } from './state.js';
import { Supervisor, type AttemptHooks } from './supervisor.js';
import { moleculerTransport } from './transport.js';
import { UsageSampler } from './usage.js';
import { AGENT_VERSION } from './version.js';

export { RegistrationRefusedError };

/** A running agent. */
export interface AgentHandle {
  readonly agentId: string;
  readonly nodeId: string;
  /** Resolves after the first successful registration; rejects when a coordinator refused it. */
  readonly registered: Promise<void>;
  /** Settles when the agent has stopped for good: resolves after `stop()`, rejects when a coordinator refused it. */
  readonly done: Promise<void>;
  /** Shuts down: refuses new offers, waits up to `graceMs` (default 30 s) for running attempts, flushes the outbox, leaves the bus. */
  stop(options?: { graceMs?: number }): Promise<void>;
}

/** Less common knobs for embedding the agent (dev mode, tests). */
export interface AgentExtras {
  hooks?: AttemptHooks;
  /** Between SIGTERM and SIGKILL when an attempt's processes are stopped, for offers that name none; default 10 s. */
  killGraceMs?: number;
  /**
   * The agent of `drover dev`: attempts run as the user who started it, who holds every file the
   * agent does anyway, and the agent has no credentials to steal; no `--allow-same-user` needed.
   */
  dev?: boolean;
}

function hostCapacity(options: AgentOptions): Capacity {
  const cores = os.availableParallelism();
  return { slots: options.slots ?? cores, cpu: options.cpu ?? cores, memoryBytes: options.memory ?? os.totalmem() };
}

/** Starts an agent with compiled options; resolves once it is on the bus (registration continues in the background). */
export async function startAgent(options: AgentOptions, logger?: Logger, extras: AgentExtras = {}): Promise<AgentHandle> {
  // Least privilege first, before any state is made: who jobs run as, and whether they could
  // read this agent's credentials (refused unless --allow-same-user, or in drover dev).
  const runAs = options.runAs ? resolveRunAs(options.runAs) : undefined;
  const jobUser = checkJobUser({ runAs, allowSameUser: options.allowSameUser, dev: extras.dev });
  const stateDir = await secureStateDir(options.stateDir, runAs);
  const lock = lockStateDir(options.stateDir);
  try {
    return await startHolding(options, logger, extras, { runAs, jobUser, tightened: stateDir.tightened, lock });
  } catch (err) {
    lock.release();
    throw err;
  }
}

/** What `startAgent` settled before anything else: least privilege, and the state dir held. */
interface Settled {
  runAs: RunAsUser | undefined;
  jobUser: ReturnType<typeof checkJobUser>;
  /** The state dir was open to group or others, and is 0700 now. */
  tightened: boolean;
  lock: StateDirLock;
}

async function startHolding(
  options: AgentOptions,
  logger: Logger | undefined,
  extras: AgentExtras,
  settled: Settled,
): Promise<AgentHandle> {
  const { runAs, jobUser, lock } = settled;
  const agentId = await loadAgentId(options.stateDir);
  // Before the bus: a key file others can read stops the agent with what to do.
  const identity = await loadIdentity(options.stateDir);
  const joinToken = await readJoinToken(options.joinToken, options.joinTokenFile);
  // Pinned in advance: even the first join's answer must be signed with it.
  if (options.coordinatorKey) identity.expectCoordinatorKey(await readCoordinatorKey(options.coordinatorKey));
  // Every line this agent writes names it, Moleculer's own lines included (children of this one).
  const log = (logger ?? createAgentLogger(options.logLevel)).child({ agentId });
  const nodeId = `agent-${agentId}`;
  const name = options.name ?? os.hostname();
  const attributes = await fingerprint({ labels: options.labels });
  const total = hostCapacity(options);
  // Least privilege: resolved before joining the bus, so a mistake stops the agent with a message.
  const workRoot = options.workRoot ? await resolveWorkRoot(options.workRoot) : undefined;
  // Before registering: what a previous process of this agent left running is killed first,
  // then the reaper ties every attempt's processes to this one's life.
  const guard = await startAttemptGuard(options.stateDir, log);
  // After the leftovers are killed: what they left in their scratch directories is swept by age.
  const scratch = new ScratchDirs({
    root: options.scratchDir ?? defaultScratchRoot(options.stateDir, runAs),
    retentionMs: options.scratchRetention,
    runAs,
    log,
  });
  await scratch.start();
  const executors = createExecutors({
    workDirOf: (offer) => scratch.pathOf(offer),
    allowShell: options.allowShell,
    allowHttp: options.allowHttp,
    killGraceMs: extras.killGraceMs,
    watchGroups: guard.watchGroups,
    ...(runAs ? { runAs } : {}),
    ...(workRoot ? { workRoot } : {}),
  });

  const transport = moleculerTransport({ options, agentId, nodeId, identity, log });
  const lifecycle = new Lifecycle();
  // Run events no coordinator acknowledged before this agent last stopped (or died) go out first.
  const { journal, replayed } = await OutboxJournal.open(options.stateDir, log, { maxBytes: options.outboxMaxBytes });
  const outbox = reportOutbox({
    agentId,
    link: transport,
    stopAttempt: (run, reason) => supervisor.stopAttempt(run, reason),
    journal: { journal, replayed, maxBytes: options.outboxMaxBytes },
    dropped: (reason, count) => metrics.outboxEventsDropped(reason, count),
    log,
  });
  // Held (pending in the outbox) from the first registration on, so the coordinator hears why they ended.
  await guard.reportLeftovers(
    (event) => outbox.push(event),
    (runId, token) => outbox.holdsResult(runId, token),
  );
  const metrics: AgentMetrics = new AgentMetrics({
    agentId,
    slots: total.slots,
    slotsInUse: () => total.slots - supervisor.capacity().free.slots,
    runsRunning: () => supervisor.slotsUsed,
    outboxDepth: () => outbox.size,
    connected: () => registrar.active && !heartbeat.failing,
  });
  const supervisor = new Supervisor({
    agentId,
    total,
    executors,
    emit: (event) => outbox.push(event),
    roomForOutput: () => outbox.roomForOutput(),
    onCapacity: (event) => transport.broadcastCapacity(event),
    scratch,
    hooks: {
      prerun: async (offer) => {
        log.info(
          { runId: offer.runId, attempt: offer.attempt, token: offer.token, job: offer.jobName, executor: offer.executor.type },
          'attempt starting',
        );
        await extras.hooks?.prerun?.(offer);
      },
      postrun: async (offer, finished) => {
        // The attempt is done only once its result is on disk: from here on a crash replays it.
        await outbox.durable();
        guard.settled(offer.runId, offer.token);
        log.info(
          {
            runId: offer.runId,
            attempt: offer.attempt,
            token: offer.token,
            outcome: finished.outcome,
            exitCode: finished.exitCode,
            error: finished.error,
            durationMs: finished.durationMs,
          },
          'attempt finished',
        );
        metrics.attemptFinished(finished.outcome);
        await extras.hooks?.postrun?.(offer, finished);
      },
    },
    onWarning: (message, err, about) => log.warn({ ...about, err: err === undefined ? undefined : errorMessage(err) }, message),
  });
  // A cut-off agent stops the attempts whose job's disconnect rule says so, before the
  // coordinator re-dispatches them (see disconnect-watchdog.ts).
  const watchdog = new DisconnectWatchdog({
    attempts: () => supervisor.heldOffers(),
    stop: (run, message) => {
      log.warn({ runId: run.runId, token: run.token, why: message }, 'stopping an attempt: no coordinator heard for its disconnect.after');
      supervisor.stopAttempt(run, { outcome: 'lost', message });
    },
  });
  // Answers to registrations and heartbeats: what the coordinator's disconnect wait counts from.
  const acknowledged = (): void => {
    watchdog.heard();
    metrics.acknowledged();
  };
  const held = () => heldRuns(supervisor, outbox);
  const stopWithdrawn = withdrawnRunsStopper(supervisor, log);
  const cadence = new Cadence(options.heartbeatInterval);

  let rejectDone: (err: unknown) => void = () => undefined;
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  done.catch(() => undefined);

  const registrar: Registrar = new Registrar({
    link: transport,
    identity,
    joinToken,
    stateDir: options.stateDir,
    request: () => ({
      protocol: PROTOCOL_VERSION,
      agentId,
      nodeId,
      name,
      version: AGENT_VERSION,
      attributes,
      labels: { ...options.labels },
      executors: supervisor.executorTypes,
      total,
      free: supervisor.capacity().free,
      runs: held(),
      publicKey: identity.publicKey,
      ...(options.jobNamespaces && options.jobNamespaces.length > 0 ? { namespaces: options.jobNamespaces } : {}),
    }),
    cadence,
    lifecycle,
    acknowledged,
    stopWithdrawn,
    onRefused: (err) => void shutdown(0).then(() => rejectDone(err)),
    log,
  });
  const usage = new UsageSampler();
  const heartbeat: Heartbeat = new Heartbeat({
    agentId,
    nodeId,
    link: transport,
    registration: registrar,
    capacity: () => supervisor.capacity(),
    usage: () => usage.sample(supervisor.slotsUsed),
    held,
    cadence,
    lifecycle,
    metrics: { heartbeatSent: () => metrics.heartbeatSent(), heartbeatFailed: () => metrics.heartbeatFailed(), acknowledged },
    stopWithdrawn,
    log,
  });
  transport.serve(
    agentService({
      agentId,
      nodeId,
      identity,
      supervisor,
      registration: registrar,
      lifecycle,
      silentForMs: () => watchdog.recentSilenceMs(OFFER_BACKLOG_MS),
      log,
    }),
  );

  let metricsServer: Server | undefined;
  const shutdown = shutdownSequence({
    lifecycle,
    supervisor,
    heartbeat,
    watchdog,
    outbox,
    leaveBus: () => transport.stop(),
    closeMetrics: () => metricsServer?.close(),
    closeReaper: () => {
      scratch.close();
      return guard.close();
    },
    unlockStateDir: () => lock.release(),
    killGraceMs: extras.killGraceMs,
    log,
  });

  log.info(
    {
      nodeId,
      name,
      nats: transport.bus.nats,
      cluster: options.cluster,
      total,
      executors: supervisor.executorTypes,
      runAs: runAs ? `${runAs.user} (uid ${runAs.uid}, gid ${runAs.gid})` : undefined,
      workRoot,
      scratchDirs: scratch.root,
    },
    'agent starting',
  );
  if (lock.staleHolder)
    log.warn(
      { stateDir: options.stateDir, pid: lock.staleHolder.pid, host: lock.staleHolder.host },
      'took over the state dir from an agent process that is gone (it did not stop cleanly)',
    );
  if (settled.tightened) log.warn({ stateDir: options.stateDir }, 'the state dir was open to group or others; its mode is now 0700');
  if (jobUser === 'same-user-allowed')
    // Every start, at warn level: a lab setting must not quietly become production.
    log.warn(
      { uid: process.getuid?.(), stateDir: options.stateDir },
      "SAME USER: --allow-same-user is set, so jobs run as this agent's own user and any job can read its join token, NATS credentials (/proc/<pid>/environ) and private key (the state dir), and act as this agent. Outside a lab, run the agent as root with --run-as <unprivileged user> instead.",
    );
  await transport.start().catch(async (err: unknown) => {
    await guard.close();
    throw err;
  });
  // Before registering: /healthz answers 503 while no coordinator has taken this agent.
  if (options.metricsAddr) {
    const served = await serveAgentMetrics(metrics, options.metricsAddr).catch(async (err: unknown) => {
      await transport.stop().catch(() => undefined);
      await outbox.close();
      await guard.close();
      throw err;
    });
    metricsServer = served.server;
    log.info({ url: served.url }, 'metrics listening');
  }
  await transport.announce();
  watchdog.start();
  void registrar.register().then(() => {
    if (!lifecycle.stopping) heartbeat.start();
  });

  return {
    agentId,
    nodeId,
    registered: registrar.registered,
    done,
    async stop(opts = {}) {
      // A second, impatient call (e.g. a second Ctrl-C) ends running attempts now.
      if (lifecycle.stopping && opts.graceMs === 0)
        supervisor.stopAll({ outcome: 'lost', message: 'the agent shut down before the attempt finished' });
      await shutdown(opts.graceMs ?? 30_000);
      resolveDone();
    },
  };
}
