// The agent process: joins the bus, registers with a coordinator, heartbeats, takes offers
// and reports what its runs do.
//
//   startAgent ─▶ agent-id, fingerprint ─▶ broker + drover.agent service ─▶ register (retried)
//                                                                            └▶ heartbeat loop
//   coordinator ─offer/stop─▶ supervisor ─events─▶ outbox ─report─▶ coordinator
import type { Server } from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Context, ServiceBroker } from 'moleculer';
import type { Logger } from 'pino';
import {
  ACTIONS,
  DEFAULT_KILL_GRACE_MS,
  DroverError,
  EVENTS,
  PROTOCOL_VERSION,
  SERVICES,
  createBroker,
  natsSecurityFrom,
  redactUrl,
  type AgentEvent,
  type Capacity,
  type CapacityEvent,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type HeldRun,
  type OfferRequest,
  type OfferResponse,
  type RegisterRequest,
  type RegisterResponse,
  type ReportRequest,
  type ReportResponse,
  type StopRequest,
} from '@drover/shared';
import { createExecutors } from './executors/index.js';
import { fingerprint } from './fingerprint.js';
import { createAgentLogger, moleculerLevel, moleculerLogger } from './logger.js';
import { AgentMetrics, serveAgentMetrics } from './metrics.js';
import type { AgentOptions } from './options.js';
import { Outbox } from './outbox.js';
import { errorMessage, identityRefusal, isNoCoordinator, isRegistrationRefusal, refusalAdvice } from './registration.js';
import { loadAgentId } from './state.js';
import { loadIdentity, readCoordinatorKey, readJoinToken } from './identity.js';
import { checkJobUser, resolveRunAs, resolveWorkRoot, secureStateDir } from './run-as.js';
import { Supervisor, type AttemptHooks } from './supervisor.js';
import { UsageSampler } from './usage.js';
import { AGENT_VERSION } from './version.js';

/** A running agent. */

/** Events within this window share a report (and one commit on the coordinator). */
const REPORT_LINGER_MS = 5;
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

/** Raised (through `registered` and `done`) when a coordinator refuses this agent. */
export class RegistrationRefusedError extends DroverError {
  override name = 'RegistrationRefusedError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('REGISTRATION_REFUSED', message, options);
  }
}

const REGISTER_BACKOFF = { initialMs: 250, maxMs: 5_000 };
const OUTBOX_FLUSH_ON_STOP_MS = 5_000;
/** How often to look for a coordinator while none is on the bus (a local check, so it can be frequent). */
const COORDINATOR_POLL_MS = 250;

function hostCapacity(options: AgentOptions): Capacity {
  const cores = os.availableParallelism();
  return { slots: options.slots ?? cores, cpu: options.cpu ?? cores, memoryBytes: options.memory ?? os.totalmem() };
}

/**
 * Publishes this node's service list now. Moleculer sends it debounced after start-up, so a
 * coordinator could receive our registration first and fail to find `drover.agent` when it
 * offers runs right away; published before `register` on the same connection, it arrives first.
 */
async function announceServices(broker: ServiceBroker): Promise<void> {
  const discoverer = (broker.registry as unknown as { discoverer?: { sendLocalNodeInfo?: () => Promise<unknown> } }).discoverer;
  await discoverer?.sendLocalNodeInfo?.();
}

/** Whether some node on the bus offers `action` now (a local look-up: no message is sent). */
function canCall(broker: ServiceBroker, action: string): boolean {
  const endpoints = (
    broker.registry as unknown as { getActionEndpoints(name: string): { hasAvailable(): boolean } | undefined }
  ).getActionEndpoints(action);
  return endpoints?.hasAvailable() ?? false;
}

function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

/** Starts an agent with compiled options; resolves once it is on the bus (registration continues in the background). */
export async function startAgent(options: AgentOptions, logger?: Logger, extras: AgentExtras = {}): Promise<AgentHandle> {
  // Least privilege first, before any state is made: who jobs run as, and whether they could
  // read this agent's credentials (refused unless --allow-same-user, or in drover dev).
  const runAs = options.runAs ? resolveRunAs(options.runAs) : undefined;
  const jobUser = checkJobUser({ runAs, allowSameUser: options.allowSameUser, dev: extras.dev });
  const stateDir = await secureStateDir(options.stateDir, runAs);
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
  const executors = createExecutors({
    allowShell: options.allowShell,
    allowHttp: options.allowHttp,
    killGraceMs: extras.killGraceMs,
    ...(runAs ? { runAs } : {}),
    ...(workRoot ? { workRoot } : {}),
  });
  // The URL may hold a NATS user's password or a token: logged without it.
  const natsShown = redactUrl(options.nats);
  const where = options.nats === 'memory' ? 'the in-process bus' : natsShown;

  const broker: ServiceBroker = createBroker(
    { natsUrl: options.nats, namespace: options.namespace, nodeId, security: natsSecurityFrom(options) },
    {
      logLevel: moleculerLevel(options.logLevel),
      logger: {
        type: 'Pino',
        options: {
          createLogger: (level: string, bindings: { mod?: string }) => moleculerLogger(log.child({ mod: bindings.mod }, { level })),
        },
      },
    },
  );

  const stopController = new AbortController();
  let stopping = false;

  // Answers not signed with the pinned cluster key are ignored, never acted on; said at most once per 10 s per kind.
  const ignoredAt = new Map<string, { at: number; suppressed: number }>();
  const ignored = (what: string, check: string, from: string | undefined): void => {
    const now = Date.now();
    const last = ignoredAt.get(what);
    if (last && now - last.at < 10_000) {
      last.suppressed++;
      return;
    }
    ignoredAt.set(what, { at: now, suppressed: 0 });
    log.warn(
      {
        answer: what,
        check,
        from,
        alsoIgnoredSinceLastWarning: last?.suppressed,
        // Another node posing as a coordinator, or (if every answer is refused) a cluster whose key changed.
        ...(what === 'registration'
          ? { ifTheClusterKeyChanged: `remove ${join(options.stateDir, 'joined')} and start the agent again` }
          : {}),
      },
      `ignored an answer to a ${what} not signed with the pinned cluster key`,
    );
  };
  /** The node that answered a call (Moleculer keeps the call's context on its promise). */
  const answeredBy = (call: Promise<unknown>, err?: unknown): string | undefined =>
    (err as { nodeID?: string } | undefined)?.nodeID ?? (call as { ctx?: { nodeID?: string } }).ctx?.nodeID;

  const outbox = new Outbox({
    lingerMs: REPORT_LINGER_MS,
    send: async (events: AgentEvent[]) => {
      // One signature per batch, made when it is sent (a resend is signed again, with a fresh time).
      const req: ReportRequest = { agentId, events };
      req.auth = identity.sign('report', agentId, req);
      const call = broker.call<ReportResponse, ReportRequest>(ACTIONS.report, req);
      const res = await call;
      // An answer not signed with the pinned key is not a coordinator's: the batch is not delivered (sent again).
      const check = identity.checkAnswer('report-answer', nodeId, res, req.auth.nonce);
      if (check !== 'ok' && check !== 'unpinned') {
        ignored('report', check, answeredBy(call));
        throw new Error(`the answer to a report is not signed with the cluster's key (${check}); sending it again`);
      }
      return res;
    },
    onStale: (runs) => {
      log.warn({ runs }, 'the coordinator reports these attempts stale; stopping them');
      for (const run of runs)
        supervisor.stopAttempt(run, { outcome: 'cancelled', message: 'the coordinator no longer assigns this attempt to this agent' });
    },
    onError: (err, retryInMs) =>
      log.warn({ err: errorMessage(err), retryInMs, queued: outbox.size }, 'reporting run events failed; will retry'),
  });

  // What this agent holds, as the coordinator must see it: attempts still running, and finished
  // ones whose result the outbox has not delivered yet (so they are not taken for lost).
  const heldRuns = (): HeldRun[] => {
    const all = new Map<string, HeldRun>();
    for (const h of [...supervisor.held(), ...outbox.pendingAttempts()]) all.set(`${h.runId}:${h.token}`, h);
    return [...all.values()];
  };

  const broadcastCapacity = (event: CapacityEvent): void => {
    if (!broker.started) return;
    const signed: CapacityEvent = { ...event, auth: identity.sign('capacity', agentId, { ...event, auth: undefined }) };
    Promise.resolve(broker.broadcast(EVENTS.capacity, signed)).catch((err: unknown) =>
      log.debug({ err: errorMessage(err) }, 'capacity broadcast failed'),
    );
  };

  const metrics = new AgentMetrics({
    agentId,
    slots: total.slots,
    slotsInUse: () => total.slots - supervisor.capacity().free.slots,
    runsRunning: () => supervisor.slotsUsed,
    outboxDepth: () => outbox.size,
    connected: () => isRegistered && !heartbeatFailing,
  });

  const supervisor = new Supervisor({
    agentId,
    total,
    executors,
    emit: (event) => outbox.push(event),
    roomForOutput: () => outbox.roomForOutput(),
    onCapacity: (event) => broadcastCapacity(event),
    hooks: {
      prerun: async (offer) => {
        log.info(
          { runId: offer.runId, attempt: offer.attempt, token: offer.token, job: offer.jobName, executor: offer.executor.type },
          'attempt starting',
        );
        await extras.hooks?.prerun?.(offer);
      },
      postrun: async (offer, finished) => {
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

  const stopRuns = (runs: HeldRun[] | undefined, why: string) => {
    if (!runs || runs.length === 0) return;
    // A heartbeat also names attempts that ended but whose report is still on its way; the
    // coordinator may have applied that report in between and then names them here. Nothing
    // of them is left to stop.
    const running = new Set(supervisor.held().map((h) => `${h.runId}:${h.token}`));
    const toStop = runs.filter((r) => running.has(`${r.runId}:${r.token}`));
    if (toStop.length < runs.length) log.debug({ runs: runs.filter((r) => !toStop.includes(r)) }, 'already ended; nothing to stop');
    if (toStop.length === 0) return;
    log.warn({ runs: toStop }, why);
    supervisor.stop({ runs: toStop, reason: why });
  };

  // ── registration ───────────────────────────────────────────────────────────
  let resolveRegistered: () => void = () => undefined;
  let rejectRegistered: (err: unknown) => void = () => undefined;
  const registered = quiet(
    new Promise<void>((resolve, reject) => {
      resolveRegistered = resolve;
      rejectRegistered = reject;
    }),
  );
  let resolveDone: () => void = () => undefined;
  let rejectDone: (err: unknown) => void = () => undefined;
  const done = quiet(
    new Promise<void>((resolve, reject) => {
      resolveDone = resolve;
      rejectDone = reject;
    }),
  );

  let isRegistered = false;
  let heartbeatIntervalMs = options.heartbeatInterval;
  let registering: Promise<void> | undefined;
  /** The coordinators lost this agent's key (they said so, signed with the pinned key): join again, keeping both keys. */
  let rejoining = false;

  const registerRequest = (): RegisterRequest => {
    const req: RegisterRequest = {
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
      runs: heldRuns(),
      publicKey: identity.publicKey,
      ...(joinToken && (!identity.joined || rejoining) ? { join: { token: joinToken } } : {}),
      ...(options.jobNamespaces && options.jobNamespaces.length > 0 ? { namespaces: options.jobNamespaces } : {}),
    };
    req.auth = identity.sign('register', agentId, req);
    return req;
  };

  const registerOnce = async (): Promise<void> => {
    let failures = 0;
    let waitingLogged = false;
    let rejoined = false;
    while (!stopping) {
      if (!canCall(broker, ACTIONS.register)) {
        if (!waitingLogged) {
          waitingLogged = true;
          log.info(
            { nats: natsShown, namespace: options.namespace },
            `waiting for a coordinator on ${where} namespace ${options.namespace}`,
          );
        }
        await sleep(COORDINATOR_POLL_MS, undefined, { signal: stopController.signal }).catch(() => undefined);
        continue;
      }
      const req = registerRequest();
      const call = broker.call<RegisterResponse, RegisterRequest>(ACTIONS.register, req);
      try {
        const res = await call;
        // Once the cluster's key is pinned, only an answer signed with it counts, a re-join's too
        // (else: retry). Before that (a first join), the answer names the key to pin.
        const answer = identity.checkAnswer('registered', nodeId, res, req.auth?.nonce);
        if (answer !== 'ok' && answer !== 'unpinned') {
          ignored('registration', answer, answeredBy(call));
          if (req.join)
            log.error(
              { check: answer, joined: join(options.stateDir, 'joined') },
              `the answer to this agent's join is not signed with the cluster key it pinned (or was given with --coordinator-key): if the cluster's key really changed (its coordinator_keys row was lost), an operator must remove ${join(options.stateDir, 'joined')} (and give the new key with --coordinator-key, from "drover cluster key") and start the agent again`,
            );
          throw new Error(`the answer to the registration is not signed with the cluster's key (${answer})`);
        }
        if (!req.join && identity.joined && answer === 'unpinned' && res?.coordinatorKey)
          await identity.pinCoordinatorKey(res.coordinatorKey);
        if (req.join) {
          await identity.markJoined(res?.namespaces, res?.coordinatorKey);
          rejoining = false;
          log.info(
            {
              namespaces: res?.namespaces ?? 'any',
              note: 'it signs its messages with its own key from now on; the join token is no longer needed',
            },
            'agent joined',
          );
        }
        if (res?.heartbeatIntervalMs > 0) heartbeatIntervalMs = res.heartbeatIntervalMs;
        isRegistered = true;
        metrics.acknowledged();
        log.info({ nodeId, name, heartbeatIntervalMs, executors: supervisor.executorTypes, total }, 'agent registered');
        resolveRegistered();
        if (res?.heartbeatIntervalMs && res.heartbeatIntervalMs > 0) heartbeatIntervalMs = res.heartbeatIntervalMs;
        stopRuns(res?.stop, 'the coordinator no longer assigns these runs to this agent; stopping them');
        return;
      } catch (err) {
        if (isRegistrationRefusal(err)) {
          // A refusal counts only when signed with the pinned key (none pinned: a first join, or an agent without identity).
          const check = identity.checkRefusal(nodeId, err, req.auth?.nonce);
          if (check !== 'ok' && check !== 'unpinned') {
            ignored('registration', check, answeredBy(call, err));
          } else {
            const why = identityRefusal(err);
            // The coordinators no longer know this agent's key (a database restored from before its
            // join): with a join token at hand, join again once, keeping its key and the pinned one.
            if ((why === 'AGENT_IDENTITY_REQUIRED' || why === 'AGENT_NOT_JOINED') && joinToken && identity.joined && !rejoined) {
              rejoined = true;
              rejoining = true;
              log.warn({ err: errorMessage(err) }, 'the coordinators do not know this agent; joining again with the join token');
              continue;
            }
            if (why === 'AGENT_REVOKED') await identity.discard().catch(() => undefined);
            throw new RegistrationRefusedError(`a coordinator refused this agent: ${errorMessage(err)}${refusalAdvice(err)}`, {
              cause: err,
            });
          }
        }
        if (!isNoCoordinator(err)) log.warn({ err: errorMessage(err) }, 'registration failed; will retry');
        const delay = Math.min(REGISTER_BACKOFF.maxMs, REGISTER_BACKOFF.initialMs * 2 ** failures++);
        await sleep(delay, undefined, { signal: stopController.signal }).catch(() => undefined);
      }
    }
  };

  /** Registers (again); a request while one is in progress joins it. */
  const register = (): Promise<void> => {
    registering ??= registerOnce()
      .catch((err: unknown) => {
        if (err instanceof RegistrationRefusedError) {
          log.error({ err: err.message }, err.message);
          rejectRegistered(err);
          void shutdown(0).then(() => rejectDone(err));
          return;
        }
        throw err;
      })
      .finally(() => {
        registering = undefined;
      });
    return registering;
  };

  // ── heartbeat ──────────────────────────────────────────────────────────────
  const usage = new UsageSampler();
  let heartbeatTimer: NodeJS.Timeout | undefined;
  let heartbeatFailing = false;

  const heartbeat = async (): Promise<void> => {
    if (!isRegistered || registering) return;
    // Broadcasts are not retried: a dispatcher that missed the last change (or was not the
    // leader then) would keep an idle agent for full. Repeating it heals that within a beat.
    broadcastCapacity(supervisor.capacity());
    const req: HeartbeatRequest = {
      agentId,
      nodeId,
      at: Date.now(),
      free: supervisor.capacity().free,
      usage: usage.sample(supervisor.slotsUsed),
      runs: heldRuns(),
      ...(stopping ? { draining: true } : {}),
    };
    req.auth = identity.sign('heartbeat', agentId, req);
    metrics.heartbeatSent();
    const call = broker.call<HeartbeatResponse, HeartbeatRequest>(ACTIONS.heartbeat, req);
    try {
      const res = await call;
      // `known: false` and stop lists count only when signed with the pinned cluster key.
      const check = identity.checkAnswer('heartbeat-answer', nodeId, res, req.auth?.nonce);
      if (check !== 'ok' && check !== 'unpinned') {
        ignored('heartbeat', check, answeredBy(call));
        return;
      }
      metrics.acknowledged();
      if (heartbeatFailing) log.info('heartbeats are answered again');
      heartbeatFailing = false;
      if (res && res.known === false) {
        log.warn('the coordinator does not know this agent; registering again');
        void register();
        return;
      }
      if (res?.heartbeatIntervalMs && res.heartbeatIntervalMs > 0) heartbeatIntervalMs = res.heartbeatIntervalMs;
      stopRuns(res?.stop, 'the coordinator no longer assigns these runs to this agent; stopping them');
    } catch (err) {
      metrics.heartbeatFailed();
      // Revoked, or no longer trusted: nothing to retry. Stop as a refused registration does —
      // when the refusal is signed with the pinned cluster key; any other is ignored.
      const check = identityRefusal(err) ? identity.checkRefusal(nodeId, err, req.auth?.nonce) : 'ok';
      if (check !== 'ok' && check !== 'unpinned') {
        ignored('heartbeat', check, answeredBy(call, err));
      } else if (identityRefusal(err) && !stopping) {
        const why = identityRefusal(err);
        // The coordinators lost this agent's key: registering again re-joins it (with a join token).
        if ((why === 'AGENT_NOT_JOINED' || why === 'AGENT_IDENTITY_REQUIRED') && joinToken && identity.joined) {
          log.warn({ err: errorMessage(err) }, 'the coordinator does not know this agent; registering again');
          void register();
          return;
        }
        if (why === 'AGENT_REVOKED') await identity.discard().catch(() => undefined);
        const refused = new RegistrationRefusedError(`a coordinator refused this agent: ${errorMessage(err)}${refusalAdvice(err)}`, {
          cause: err,
        });
        log.error({ err: refused.message }, refused.message);
        rejectRegistered(refused);
        void shutdown(0).then(() => rejectDone(refused));
        return;
      }
      if (!heartbeatFailing) log.warn({ err: errorMessage(err) }, 'heartbeat failed; will keep trying');
      heartbeatFailing = true;
    }
  };

  const scheduleHeartbeat = (): void => {
    if (stopController.signal.aborted) return;
    heartbeatTimer = setTimeout(() => {
      void heartbeat().finally(scheduleHeartbeat);
    }, heartbeatIntervalMs);
  };

  // ── the drover.agent service ───────────────────────────────────────────────
  broker.createService({
    name: SERVICES.agent,
    actions: {
      offer: {
        handler: async (ctx: Context<OfferRequest>) => {
          const check = identity.checkFromCoordinator('offer', nodeId, ctx.params);
          if (check !== 'ok' && check !== 'unpinned') {
            log.warn(
              { from: ctx.nodeID, check, runs: ctx.params?.offers?.map((o) => o.runId) },
              'refused an offer not signed with the cluster key',
            );
            throw new Error(`offer refused: not signed with the cluster's key (${check})`);
          }
          const res: OfferResponse = { ...(await supervisor.offer(ctx.params)), agentId };
          res.auth = identity.sign('offer-reply', agentId, res);
          return res;
        },
      },
      stop: {
        handler: (ctx: Context<StopRequest>) => {
          const check = identity.checkFromCoordinator('stop', nodeId, ctx.params);
          if (check !== 'ok' && check !== 'unpinned') {
            log.warn({ from: ctx.nodeID, check, runs: ctx.params?.runs }, 'ignored a stop request not signed with the cluster key');
            return { ok: false };
          }
          supervisor.stop(ctx.params);
          return { ok: true };
        },
      },
    },
    events: {
      '$node.connected': {
        handler(ctx: Context<{ node?: { id?: string; services?: Array<{ name?: string }> } }>) {
          const node = ctx.params?.node;
          if (!node?.services?.some((s) => s.name === SERVICES.fleet)) return;
          // A coordinator (re)joined: it may have lost track of us. During a registration in progress there is nothing to add.
          if (isRegistered && !stopping && !registering) {
            log.info({ coordinator: node.id }, 'a coordinator connected; registering again');
            void register();
          }
        },
      },
    },
  });

  // ── shutdown ───────────────────────────────────────────────────────────────
  let stopped: Promise<void> | undefined;
  const shutdown = (graceMs: number): Promise<void> => {
    stopped ??= (async () => {
      stopping = true;
      supervisor.drain();
      // Tell the coordinators at once, so they stop offering instead of hearing refusals (but do
      // not let an unreachable bus hold up the shutdown).
      await Promise.race([heartbeat(), new Promise((r) => setTimeout(r, 2000).unref())]);
      const held = supervisor.slotsUsed;
      log.info({ runs: held, graceMs }, 'agent stopping');
      if (!(await supervisor.idle(graceMs))) {
        log.warn({ runs: supervisor.held() }, 'stopping attempts still running at shutdown');
        supervisor.stopAll({ outcome: 'lost', message: 'the agent shut down before the attempt finished' });
        await supervisor.idle(supervisor.longestKillGraceMs(extras.killGraceMs ?? DEFAULT_KILL_GRACE_MS) + 5_000);
      }
      stopController.abort();
      clearTimeout(heartbeatTimer);
      if (!(await outbox.drain(OUTBOX_FLUSH_ON_STOP_MS)))
        log.warn({ queued: outbox.size }, 'could not report every run event before stopping');
      outbox.close();
      await broker.stop().catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'leaving the bus failed'));
      metricsServer?.close();
      log.info('agent stopped');
    })();
    return stopped;
  };

  log.info(
    {
      nodeId,
      name,
      nats: natsShown,
      namespace: options.namespace,
      total,
      executors: supervisor.executorTypes,
      runAs: runAs ? `${runAs.user} (uid ${runAs.uid}, gid ${runAs.gid})` : undefined,
      workRoot,
    },
    'agent starting',
  );
  if (stateDir.tightened) log.warn({ stateDir: options.stateDir }, 'the state dir was open to group or others; its mode is now 0700');
  if (jobUser === 'same-user-allowed')
    // Every start, at warn level: a lab setting must not quietly become production.
    log.warn(
      { uid: process.getuid?.(), stateDir: options.stateDir },
      "SAME USER: --allow-same-user is set, so jobs run as this agent's own user and any job can read its join token, NATS credentials (/proc/<pid>/environ) and private key (the state dir), and act as this agent. Outside a lab, run the agent as root with --run-as <unprivileged user> instead.",
    );
  await broker.start();
  // Before registering: /healthz answers 503 while no coordinator has taken this agent.
  let metricsServer: Server | undefined;
  if (options.metricsAddr) {
    const served = await serveAgentMetrics(metrics, options.metricsAddr).catch(async (err: unknown) => {
      await broker.stop().catch(() => undefined);
      throw err;
    });
    metricsServer = served.server;
    log.info({ url: served.url }, 'metrics listening');
  }
  await announceServices(broker);
  void register().then(() => {
    if (!stopping) scheduleHeartbeat();
  });

  return {
    agentId,
    nodeId,
    registered,
    done,
    async stop(opts = {}) {
      // A second, impatient call (e.g. a second Ctrl-C) ends running attempts now.
      if (stopped && opts.graceMs === 0)
        supervisor.stopAll({ outcome: 'lost', message: 'the agent shut down before the attempt finished' });
      await shutdown(opts.graceMs ?? 30_000);
      resolveDone();
    },
  };
}
