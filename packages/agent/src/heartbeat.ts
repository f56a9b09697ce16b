// The heartbeat: every beat tells a coordinator what this agent has free and holds; its answer
// says what to stop, or that the coordinator forgot this agent (then it registers again).
import type { Logger } from 'pino';
import {
  failureLogOf,
  injectFault,
  type AgentUsage,
  type Capacity,
  type CapacityEvent,
  type HeartbeatRequest,
  type HeldRun,
} from '@drover/shared';
import { errorMessage, identityRefusal } from './registration.js';
import type { Registrar } from './registrar.js';
import type { Lifecycle } from './shutdown.js';
import type { CoordinatorLink } from './transport.js';

/** How often to beat: the agent's setting until a coordinator names another interval. */
export class Cadence {
  constructor(public intervalMs: number) {}
  /** Takes the interval a coordinator named in an answer, if it named one. */
  adopt(ms: number | undefined): void {
    if (ms !== undefined && ms > 0) this.intervalMs = ms;
  }
}

/** What the heartbeat needs from the rest of the agent. */
export interface HeartbeatParts {
  agentId: string;
  nodeId: string;
  link: Pick<CoordinatorLink, 'ask' | 'broadcastCapacity' | 'lastHeardAt'>;
  registration: Pick<Registrar, 'active' | 'busy' | 'register' | 'refused'>;
  /** Free capacity now (broadcast with every beat, and sent in it). */
  capacity(): CapacityEvent;
  usage(): AgentUsage;
  /** Attempts running, and ended ones whose report is still on its way. */
  held(): HeldRun[];
  cadence: Cadence;
  lifecycle: Lifecycle;
  metrics: { heartbeatSent(): void; acknowledged(): void; heartbeatFailed(): void };
  /** Stops the attempts a coordinator's answer names: they are no longer this agent's. */
  stopWithdrawn(runs: HeldRun[] | undefined): void;
  log: Logger;
}

/** Beats while the agent is registered; `start` after the first registration, `stop` at shutdown. */
export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private failingNow = false;

  constructor(private readonly parts: HeartbeatParts) {}

  /** Whether the last beat went unanswered (the agent is not connected, as far as it knows). */
  get failing(): boolean {
    return this.failingNow;
  }

  /**
   * Monotonic time (`performance.now()`, ms) of the last coordinator answer this agent may act on
   * (signed with the pinned cluster key, or none pinned), to a registration, heartbeat or report.
   */
  get lastHeardAt(): number | undefined {
    return this.parts.link.lastHeardAt;
  }

  /** Beats every interval until `stop`. */
  start(): void {
    this.stopped = false;
    this.schedule();
  }

  /** Beats no more (a beat in flight finishes). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** One beat now (skipped while not registered, or while a registration is in progress). */
  async beat(): Promise<void> {
    injectFault('heartbeat');
    const { agentId, nodeId, link, registration, lifecycle, metrics, log } = this.parts;
    if (!registration.active || registration.busy) return;
    // Broadcasts are not retried: a dispatcher that missed the last change (or was not the
    // leader then) would keep an idle agent for full. Repeating it heals that within a beat.
    link.broadcastCapacity(this.parts.capacity());
    const free: Capacity = this.parts.capacity().free;
    const req: HeartbeatRequest = {
      agentId,
      nodeId,
      at: Date.now(),
      free,
      usage: this.parts.usage(),
      runs: this.parts.held(),
      ...(lifecycle.stopping ? { draining: true } : {}),
    };
    metrics.heartbeatSent();
    const reply = await link.ask('heartbeat', req);
    if (reply.status === 'answered') {
      const res = reply.answer;
      metrics.acknowledged();
      if (this.failingNow) log.info('heartbeats are answered again');
      this.failingNow = false;
      if (res && res.known === false) {
        log.warn('the coordinator does not know this agent; registering again');
        void registration.register();
        return;
      }
      this.parts.cadence.adopt(res?.heartbeatIntervalMs);
      this.parts.stopWithdrawn(res?.stop);
      return;
    }
    // An answer not signed with the pinned key is no answer, and no failure either.
    if (reply.status === 'ignored' && reply.err === undefined) return;
    metrics.heartbeatFailed();
    // Revoked, or no longer trusted: as a refused registration.
    if (reply.status === 'refused' && identityRefusal(reply.err) && !lifecycle.stopping) {
      if ((await registration.refused(reply.err)) === 'rejoin') {
        // The coordinators lost this agent's key: registering again re-joins it (with a join token).
        log.warn({ err: errorMessage(reply.err) }, 'the coordinator does not know this agent; registering again');
        void registration.register();
      }
      return;
    }
    if (!this.failingNow) log.warn({ err: errorMessage(reply.err) }, 'heartbeat failed; will keep trying');
    this.failingNow = true;
  }

  /**
   * The last beat of a clean stop (`leaving`): the coordinators record the agent `left` rather
   * than find it `down` by its silence. Sent only when the agent holds nothing (every attempt
   * ended and reported); true when a coordinator answered.
   */
  async leave(): Promise<boolean> {
    const { agentId, nodeId, link, registration, log } = this.parts;
    if (!registration.active || this.parts.held().length > 0) return false;
    const req: HeartbeatRequest = {
      agentId,
      nodeId,
      at: Date.now(),
      free: this.parts.capacity().free,
      usage: this.parts.usage(),
      runs: [],
      draining: true,
      leaving: true,
    };
    const reply = await link.ask('heartbeat', req);
    if (reply.status === 'answered') return true;
    log.warn({ status: reply.status }, 'could not tell the coordinators this agent is leaving: it will be found down');
    return false;
  }

  private schedule(): void {
    if (this.stopped || this.parts.lifecycle.signal.aborted) return;
    this.timer = setTimeout(() => {
      this.beat()
        .catch((err: unknown) => failureLogOf(this.parts.log).failed('heartbeat', err))
        .finally(() => this.schedule());
    }, this.parts.cadence.intervalMs);
  }
}
