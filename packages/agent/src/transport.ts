// Everything the agent says to and hears from coordinators over Moleculer, behind one narrow
// interface (CoordinatorLink), so registration, heartbeat, reports and offers can be tested with
// a fake. A call to a coordinator is signed, and its answer checked against the pinned cluster
// key, here and only here: the rest of the agent sees answers it may act on, or why not.
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Context, ServiceBroker } from 'moleculer';
import type { Logger } from 'pino';
import {
  ACTIONS,
  EVENTS,
  SERVICES,
  createBroker,
  natsSecurityFrom,
  redactUrl,
  type CapacityEvent,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type OfferRequest,
  type OfferResponse,
  type RegisterRequest,
  type RegisterResponse,
  type ReportRequest,
  type ReportResponse,
  type SignedKind,
  type StopRequest,
} from '@drover/shared';
import type { AgentIdentity, AnswerCheck } from './identity.js';
import { moleculerLevel, moleculerLogger } from './logger.js';
import type { AgentOptions } from './options.js';
import { errorMessage, isRegistrationRefusal } from './registration.js';

/** What the agent asks coordinators, by kind: the request and its answer. */
export interface Asks {
  register: { req: RegisterRequest; res: RegisterResponse };
  heartbeat: { req: HeartbeatRequest; res: HeartbeatResponse };
  report: { req: ReportRequest; res: ReportResponse };
}
export type AskKind = keyof Asks;

/**
 * How a coordinator answered:
 * - `answered`: signed with the pinned cluster key (or none is pinned): act on it;
 * - `ignored`: an answer (or, with `err`, a refusal) not signed with the pinned key: act on neither;
 * - `refused`: a client error (4xx) signed with the pinned key, or none pinned;
 * - `failed`: no coordinator, a timeout, a coordinator's own failure, an error of the bus itself.
 */
export type Reply<T> =
  | { status: 'answered'; answer: T }
  | { status: 'ignored'; check: AnswerCheck; from: string | undefined; err?: unknown }
  | { status: 'refused'; err: unknown }
  | { status: 'failed'; err: unknown };

/** What the agent's own service (`drover.agent`) does with what coordinators send it. */
export interface AgentService {
  offer(req: OfferRequest, from: string | undefined): Promise<OfferResponse>;
  stop(req: StopRequest, from: string | undefined): { ok: boolean };
  /** A node offering `drover.fleet` joined the bus. */
  coordinatorConnected(coordinatorNodeId: string | undefined): void;
}

/** Where the agent looks for coordinators, as it may be logged (no password). */
export interface BusWhereabouts {
  nats: string;
  cluster: string;
  /** For messages: "the in-process bus" or the URL. */
  where: string;
}

/** The agent's connection to coordinators. */
export interface CoordinatorLink {
  readonly bus: BusWhereabouts;
  /** Monotonic time (`performance.now()`, ms) of the last answer the agent may act on, from any ask; undefined before one. */
  readonly lastHeardAt: number | undefined;
  /** Asks coordinators (`register`, `heartbeat`, `report`): signs `req` (setting `req.auth`) and checks the answer. */
  ask<K extends AskKind>(kind: K, req: Asks[K]['req']): Promise<Reply<Asks[K]['res']>>;
  /** Whether some coordinator is on the bus now (a local look-up: no message is sent). */
  coordinatorOnBus(): boolean;
  /** Tells dispatchers this agent's free capacity (signed; not retried: the next heartbeat repeats it). */
  broadcastCapacity(event: CapacityEvent): void;
}

/** The Moleculer side of the link: what only the wiring uses. */
export interface AgentTransport extends CoordinatorLink {
  /** Registers the `drover.agent` service; call once, before `start`. */
  serve(service: AgentService): void;
  /** Joins the bus. */
  start(): Promise<void>;
  /** Publishes this node's services now, so a coordinator that takes our registration can offer at once. */
  announce(): Promise<void>;
  /** Leaves the bus. */
  stop(): Promise<void>;
}

interface AskSpec {
  action: string;
  answer: SignedKind;
  refusalsChecked: boolean;
  what: string;
  /** How long one coordinator is waited for while another one is left to ask. */
  failoverAfterMs: number;
  /**
   * The last coordinator left to ask is waited for as long as Moleculer's request timeout, not
   * `failoverAfterMs`: a late answer is still worth having, so a slow but live coordinator (the
   * only one, or the last) is not given up on too early.
   */
  patientWithLast?: boolean;
}

const ASKS: Record<AskKind, AskSpec> = {
  // A re-registration lost in a dead coordinator for Moleculer's request timeout (10 s) would
  // leave the agent unknown, beating nowhere, all that time: it waits this long, then asks
  // another. Asking twice is safe: a registration is an upsert, and a join token may be used again.
  register: {
    action: ACTIONS.register,
    answer: 'registered',
    refusalsChecked: true,
    what: 'registration',
    failoverAfterMs: 3000,
    patientWithLast: true,
  },
  // A heartbeat lost in a dead coordinator for Moleculer's request timeout (10 s) would cost a
  // healthy agent its standing (down after 7 s): it waits this long, then asks another coordinator.
  heartbeat: {
    action: ACTIONS.heartbeat,
    answer: 'heartbeat-answer',
    refusalsChecked: true,
    what: 'heartbeat',
    failoverAfterMs: 2000,
  },
  // A refused report is left to the outbox, which drops events only on a refusal signed with the
  // pinned key (else any node on the bus could make it drop results); it never stops or re-joins the agent.
  // Resending a report to another coordinator is safe: events are applied once by (token, seq).
  report: { action: ACTIONS.report, answer: 'report-answer', refusalsChecked: true, what: 'report', failoverAfterMs: 4000 },
};

/**
 * A coordinator that let an ask time out is passed over for this long (unless no other is on the
 * bus): a killed one stays on Moleculer's node list until its heartbeats are missed (15 s and more).
 */
const PASSED_OVER_MS = 30_000;

/** Answers not signed with the pinned key are said at most once per this window per kind. */
const IGNORED_WARNING_EVERY_MS = 10_000;

/** Creates the Moleculer broker of this agent and the link over it (not started). */
export function moleculerTransport(opts: {
  options: AgentOptions;
  agentId: string;
  nodeId: string;
  identity: AgentIdentity;
  log: Logger;
}): AgentTransport {
  const { options, agentId, nodeId, identity, log } = opts;
  const broker: ServiceBroker = createBroker(
    { natsUrl: options.nats, cluster: options.cluster, nodeId, security: natsSecurityFrom(options) },
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
  // The URL may hold a NATS user's password or a token: logged without it.
  const nats = redactUrl(options.nats);
  const bus: BusWhereabouts = { nats, cluster: options.cluster, where: options.nats === 'memory' ? 'the in-process bus' : nats };
  const ignored = ignoredWarnings(log, join(options.stateDir, 'joined'));
  let lastHeardAt: number | undefined;
  const liveCoordinators = coordinatorPicker(broker);

  /**
   * The request with its times (events, heartbeat) moved from this host's clock to the cluster's:
   * coordinators compare them with their own (retry backoff from `finished`, heartbeat lag).
   */
  function onClusterClock<K extends AskKind>(kind: K, req: Asks[K]['req']): Asks[K]['req'] {
    if (identity.clusterTime(0) === 0 || kind === 'register') return req;
    if (kind === 'heartbeat') {
      const hb = req as HeartbeatRequest;
      return { ...hb, at: identity.clusterTime(hb.at) } as Asks[K]['req'];
    }
    const report = req as ReportRequest;
    return { ...report, events: report.events.map((e) => ({ ...e, at: identity.clusterTime(e.at) })) } as Asks[K]['req'];
  }

  /** One call to one coordinator (`opts.nodeID`, or Moleculer's choice), signed when sent and its answer checked. */
  async function askOnce<K extends AskKind>(
    kind: K,
    req: Asks[K]['req'],
    opts: { timeout?: number; nodeID?: string | undefined },
    resignOnClock = true,
  ): Promise<Reply<Asks[K]['res']>> {
    const spec = ASKS[kind];
    const sent = onClusterClock(kind, req);
    // Signed when sent (a resend is signed again, with a fresh time).
    sent.auth = req.auth = identity.sign(kind, agentId, sent);
    const nonce = sent.auth.nonce;
    const callOptions = {
      ...(opts.timeout !== undefined ? { timeout: opts.timeout } : {}),
      ...(opts.nodeID !== undefined ? { nodeID: opts.nodeID } : {}),
    };
    const call = broker.call<Asks[K]['res'], Asks[K]['req']>(spec.action, sent, callOptions);
    try {
      const answer = await call;
      const check = identity.checkAnswer(spec.answer, nodeId, answer, nonce);
      if (check !== 'ok' && check !== 'unpinned') {
        const from = answeredBy(call);
        ignored(spec.what, check, from);
        return { status: 'ignored', check, from };
      }
      lastHeardAt = performance.now();
      const from = answeredBy(call);
      if (from !== undefined) liveCoordinators.answered(from);
      return { status: 'answered', answer };
    } catch (err) {
      // Refused for its time alone: the refusal carries the cluster's clock; signed again on it, once.
      if (resignOnClock && identity.adoptClockFromRefusal(nodeId, err, nonce)) {
        log.warn({ kind }, "this host's clock is off the cluster's; signing with the cluster's clock from now on");
        return askOnce(kind, req, opts, false);
      }
      if (!spec.refusalsChecked || !isRegistrationRefusal(err)) return { status: 'failed', err };
      // A refusal counts only when signed with the pinned key (none pinned: a first join, or an agent without identity).
      const check = identity.checkRefusal(nodeId, err, nonce);
      if (check !== 'ok' && check !== 'unpinned') {
        const from = answeredBy(call, err);
        ignored(spec.what, check, from);
        return { status: 'ignored', check, from, err };
      }
      return { status: 'refused', err };
    }
  }

  return {
    bus,
    get lastHeardAt() {
      return lastHeardAt;
    },

    async ask<K extends AskKind>(kind: K, req: Asks[K]['req']): Promise<Reply<Asks[K]['res']>> {
      const spec = ASKS[kind];
      // The coordinator is chosen here, not by Moleculer, so a timeout names the one that kept silent.
      const asked = new Set<string>();
      let target = liveCoordinators.pick(spec.action);
      for (;;) {
        const last = target === undefined || !liveCoordinators.another(spec.action, new Set([...asked, target]));
        const timeout = last && spec.patientWithLast ? undefined : spec.failoverAfterMs;
        const reply = await askOnce(kind, req, { timeout, nodeID: target });
        // Waited for in full: the registrar retries, with a fresh pick, after its backoff.
        if (target === undefined || timeout === undefined || !timedOut(reply)) return reply;
        asked.add(target);
        liveCoordinators.passOver(target);
        const other = liveCoordinators.pick(spec.action, asked);
        // Heartbeats and reports ask two at most: the next beat or resend comes soon anyway.
        if (other === undefined || (asked.size >= 2 && !spec.patientWithLast)) return reply;
        log.info({ ask: spec.what, unanswered: target, askingNow: other }, 'a coordinator did not answer in time; asking another');
        target = other;
      }
    },

    coordinatorOnBus() {
      const endpoints = (
        broker.registry as unknown as { getActionEndpoints(name: string): { hasAvailable(): boolean } | undefined }
      ).getActionEndpoints(ACTIONS.register);
      return endpoints?.hasAvailable() ?? false;
    },

    broadcastCapacity(event) {
      if (!broker.started) return;
      const signed: CapacityEvent = { ...event, auth: identity.sign('capacity', agentId, { ...event, auth: undefined }) };
      Promise.resolve(broker.broadcast(EVENTS.capacity, signed)).catch((err: unknown) =>
        log.debug({ err: errorMessage(err) }, 'capacity broadcast failed'),
      );
    },

    serve(service) {
      broker.createService({
        name: SERVICES.agent,
        actions: {
          offer: { handler: (ctx: Context<OfferRequest>) => service.offer(ctx.params, ctx.nodeID ?? undefined) },
          stop: { handler: (ctx: Context<StopRequest>) => service.stop(ctx.params, ctx.nodeID ?? undefined) },
        },
        events: {
          '$node.connected': {
            handler(ctx: Context<{ node?: { id?: string; services?: Array<{ name?: string }> } }>) {
              const node = ctx.params?.node;
              if (node?.id !== undefined) liveCoordinators.answered(node.id);
              if (node?.services?.some((s) => s.name === SERVICES.fleet)) service.coordinatorConnected(node.id);
            },
          },
        },
      });
    },

    start: () => broker.start(),

    // Moleculer sends the service list debounced after start-up, so a coordinator could receive
    // our registration first and fail to find `drover.agent` when it offers runs right away;
    // published before `register` on the same connection, it arrives first.
    async announce() {
      const discoverer = (broker.registry as unknown as { discoverer?: { sendLocalNodeInfo?: () => Promise<unknown> } }).discoverer;
      await discoverer?.sendLocalNodeInfo?.();
    },

    stop: () => broker.stop(),
  };
}

/** The node that answered a call (Moleculer keeps the call's context on its promise). */
function answeredBy(call: Promise<unknown>, err?: unknown): string | undefined {
  return (err as { nodeID?: string } | undefined)?.nodeID ?? (call as { ctx?: { nodeID?: string } }).ctx?.nodeID;
}

/** Warns about an answer not signed with the pinned cluster key, at most once per window per kind. */
function ignoredWarnings(log: Logger, joinedFile: string): (what: string, check: AnswerCheck, from: string | undefined) => void {
  const ignoredAt = new Map<string, { at: number; suppressed: number }>();
  return (what, check, from) => {
    const now = Date.now();
    const last = ignoredAt.get(what);
    if (last && now - last.at < IGNORED_WARNING_EVERY_MS) {
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
        ...(what === 'registration' ? { ifTheClusterKeyChanged: `remove ${joinedFile} and start the agent again` } : {}),
      },
      `ignored an answer to a ${what} not signed with the pinned cluster key`,
    );
  };
}

/** Whether an ask failed by a timeout (the coordinator may be dead, or hung). */
function timedOut(reply: Reply<unknown>): boolean {
  return reply.status === 'failed' && (reply.err as { name?: string } | undefined)?.name === 'RequestTimeoutError';
}

interface ActionEndpoints {
  endpoints: Array<{ id: string; isAvailable: boolean }>;
}

/**
 * Which coordinator to ask: each available one in turn, but one that let an ask time out only
 * when no other is there, until it answers again, joins the bus anew, or PASSED_OVER_MS ends.
 */
function coordinatorPicker(broker: ServiceBroker) {
  const passedOver = new Map<string, number>();
  let turn = 0;
  const availableFor = (action: string): string[] =>
    (
      (broker.registry as unknown as { getActionEndpoints(name: string): ActionEndpoints | undefined }).getActionEndpoints(action)
        ?.endpoints ?? []
    )
      .filter((ep) => ep.isAvailable)
      .map((ep) => ep.id);
  return {
    /** A coordinator to ask `action` of, or undefined if none is on the bus (Moleculer then says so). */
    pick(action: string, besides: ReadonlySet<string> = new Set()): string | undefined {
      const now = performance.now();
      for (const [node, until] of passedOver) if (until <= now) passedOver.delete(node);
      const available = availableFor(action).filter((id) => !besides.has(id));
      const live = available.filter((id) => !passedOver.has(id));
      const from = live.length > 0 ? live : available;
      if (from.length === 0) return undefined;
      return from[turn++ % from.length];
    },
    /** Whether a coordinator not passed over, and not among `besides`, could be asked `action`. */
    another(action: string, besides: ReadonlySet<string>): boolean {
      return availableFor(action).some((id) => !besides.has(id) && !passedOver.has(id));
    },
    /** Passes over `node` for a while: it let an ask time out. */
    passOver(node: string): void {
      passedOver.set(node, performance.now() + PASSED_OVER_MS);
    },
    /** `node` answered (or joined the bus again): ask it again. */
    answered(node: string): void {
      passedOver.delete(node);
    },
  };
}
