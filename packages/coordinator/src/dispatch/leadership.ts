// One coordinator at a time dispatches and reconciles: the holder of a Redis lease. Every
// coordinator serves the API and applies agent reports; if the leader dies, another takes
// the lease within its TTL. Two leaders for a moment are harmless: every offer is a guarded
// update in PostgreSQL, so a run is offered once per attempt whoever dispatches it.
// A leader paused past its lease (SIGSTOP, a VM frozen) must not act on it when it resumes: the
// lease counts as held only until its TTL after the renewal was asked (monotonic time, which
// runs on while the process is stopped), and the dispatcher and the reconciler check before
// acting. Once lapsed, nothing is done until the next renewal says who holds the lease now.
import { performance } from 'node:perf_hooks';
import { failureLogOf, inBackground, injectFault, type CapacityEvent } from '@drover/shared';
import { askAgentsToStop } from '../ops/ask-agents-to-stop.js';
import { notify } from '../ops/notify.js';
import type { CoordinatorContext } from '../context.js';
import { listAgents } from '../store/agents.js';
import { Dispatcher } from './dispatcher.js';
import { FleetView } from './fleet-view.js';
import { reconcileOnce } from './reconciler.js';
import { canHearForMs } from './hearing.js';
import { Scheduler } from '../schedule/scheduler.js';
import { LimitSweeper } from './limit-sweeper.js';

const LEASE_TTL_MS = 6000;
const LEASE_RENEW_MS = 2000;

export class Leadership {
  private epoch = 0;
  private dispatcher: Dispatcher | undefined;
  private scheduler: Scheduler | undefined;
  private limits: LimitSweeper | undefined;
  private readonly fleet = new FleetView();
  /** Runs retried after their agent went down → that agent, for the dispatcher to avoid. Bounded. */
  private readonly avoid = new Map<string, string>();
  private leaseTimer: NodeJS.Timeout | undefined;
  private reconcileTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;
  /** Monotonic time (ms) until which the lease is surely ours: its TTL after the last renewal was asked. */
  private leaseUntil = 0;
  private lapseNoted = false;
  /** Monotonic time (ms) this coordinator last became the leader: agents are judged a deadline after. */
  private leaderSince = 0;

  constructor(private readonly ctx: CoordinatorContext) {}

  /** Whether this coordinator currently dispatches. */
  get isLeader(): boolean {
    return this.dispatcher !== undefined;
  }

  /** Dispatcher counters while leader. */
  get stats() {
    return this.dispatcher?.stats;
  }

  async start(): Promise<void> {
    await this.tick();
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const failures = failureLogOf(this.ctx.log);
    try {
      injectFault('dispatcher lease renewal');
      const askedAt = performance.now();
      const epoch = await this.ctx.lease.acquire(this.ctx.nodeId, LEASE_TTL_MS);
      if (epoch > 0) {
        this.leaseUntil = askedAt + LEASE_TTL_MS;
        this.lapseNoted = false;
      }
      if (epoch > 0 && !this.dispatcher) await this.becomeLeader(epoch);
      else if (epoch === 0 && (this.dispatcher || this.scheduler)) this.stepDown('another coordinator holds the lease');
      failures.succeeded('dispatcher lease renewal');
    } catch (err) {
      // Redis is away (or the database, while taking over). The schedules live in PostgreSQL:
      // the last leader keeps turning fires into runs, on time, until it sees another holder.
      // A second scheduler for a while is harmless (one run per fire is a unique key).
      if (this.dispatcher) this.stepDown(`cannot renew the lease: ${(err as Error).message}`, { keepScheduling: true });
      failures.failed('dispatcher lease renewal', err);
    }
    if (!this.stopped)
      this.leaseTimer = setTimeout(() => inBackground('dispatcher lease renewal', failures, () => this.tick()), LEASE_RENEW_MS);
  }

  /**
   * Whether the lease is surely still ours, so acting as the leader is safe. False once its TTL
   * ran out without a renewal (this process was paused, or Redis is slow): another coordinator
   * may hold it by now. Said once per lapse.
   */
  private holdsLease(): boolean {
    if (performance.now() < this.leaseUntil) return true;
    if (!this.lapseNoted) {
      this.lapseNoted = true;
      this.ctx.log.warn(
        { epoch: this.epoch, lapsedMsAgo: Math.round(performance.now() - this.leaseUntil) },
        'the dispatcher lease lapsed before it was renewed (was this process paused?); acting on it no more until renewed',
      );
    }
    return false;
  }

  private async becomeLeader(epoch: number): Promise<void> {
    this.epoch = epoch;
    this.leaderSince = performance.now();
    this.fleet.replace(await listAgents(this.ctx.db, ['ready']));
    this.dispatcher = new Dispatcher({
      db: this.ctx.db,
      dispatchDb: this.ctx.dispatchDb,
      avoid: this.avoid,
      queue: this.ctx.queue,
      fleet: this.fleet,
      jobs: this.ctx.jobs,
      agents: this.ctx.agents,
      log: this.ctx.log,
      metrics: this.ctx.metrics,
      now: this.ctx.now,
      offerTimeoutMs: this.ctx.options.offerTimeout,
      identities: this.ctx.identities,
      secretsKey: this.ctx.secretsKey,
      holdsLease: () => this.holdsLease(),
    });
    // Kept through a Redis outage (see tick): the same one goes on.
    this.scheduler ??= new Scheduler(this.ctx);
    this.scheduler.poke();
    this.limits = new LimitSweeper(this.ctx);
    this.limits.start();
    this.ctx.log.info({ epoch, agents: this.fleet.size }, 'took the dispatcher lease');
    await this.reconcile();
    this.dispatcher.kick();
  }

  private stepDown(why: string, o: { keepScheduling?: boolean } = {}): void {
    this.ctx.log.warn({ epoch: this.epoch, why, scheduling: o.keepScheduling === true }, 'stepped down as dispatcher');
    this.dispatcher?.stop();
    this.dispatcher = undefined;
    if (!o.keepScheduling) {
      this.scheduler?.stop();
      this.scheduler = undefined;
    }
    this.limits?.stop();
    this.limits = undefined;
    if (this.reconcileTimer) clearTimeout(this.reconcileTimer);
  }

  private async reconcile(): Promise<void> {
    if (this.reconcileTimer) clearTimeout(this.reconcileTimer);
    if (!this.dispatcher || this.stopped) return;
    // Marking agents down or re-queueing runs on a lease that lapsed could undo the new leader's
    // work: skip this sweep (the renewal decides whether there is a next one).
    if (this.holdsLease()) await this.sweep();
    this.reconcileTimer = setTimeout(
      () => inBackground('reconcile sweep', failureLogOf(this.ctx.log), () => this.reconcile()),
      this.ctx.options.reconcileInterval,
    );
  }

  private async sweep(): Promise<void> {
    try {
      injectFault('reconcile sweep');
      await reconcileOnce({
        db: this.ctx.db,
        queue: this.ctx.queue,
        log: this.ctx.log,
        metrics: this.ctx.metrics,
        now: this.ctx.now,
        agentDownAfterMs: this.ctx.options.agentDownAfter,
        heartbeatIntervalMs: this.ctx.options.heartbeatInterval,
        canHearForMs: () =>
          canHearForMs({ bus: this.ctx.bus, store: this.ctx.store, ledForMs: () => performance.now() - this.leaderSince }),
        agentGoneAfterMs: this.ctx.options.agentGoneAfter,
        offerTimeoutMs: this.ctx.options.offerTimeout,
        retryPolicies: (ids) => this.ctx.jobs.retryPolicies(ids),
        onActions: () => this.ctx.actions.poke(),
        onLost: (runs) => {
          for (const r of runs) if (r.requeued && this.avoid.size < 100_000) this.avoid.set(r.runId, r.agentId);
        },
        notifyDown: (ids) =>
          notify(this.ctx, { event: 'agent.down', agents: ids.map((id) => ({ id })), at: new Date(this.ctx.now()).toISOString() }),
        stopOnAgents: (byNode, reason) => askAgentsToStop(this.ctx, byNode, reason),
        // Not awaited by the sweep: a failed reload is logged here, and the next sweep reloads anyway.
        onChange: (what) =>
          what === 'fleet' ? inBackground('fleet refresh', failureLogOf(this.ctx.log), () => this.refreshFleet()) : this.dispatcher?.kick(),
      });
      // refreshFleet kicks the dispatcher: a safety net, every sweep, for any wake-up that was lost.
      await this.refreshFleet();
      this.ctx.store?.succeeded();
      failureLogOf(this.ctx.log).succeeded('reconcile sweep');
    } catch (err) {
      this.ctx.store?.failed(err);
      failureLogOf(this.ctx.log).failed('reconcile sweep', err);
    }
  }

  /**
   * Reloads the schedulable agents (someone registered, went down, was drained). Requests
   * arriving while a reload runs coalesce into one more, so a thousand agents registering at
   * once cost a handful of reloads, not a thousand.
   */
  async refreshFleet(): Promise<void> {
    if (!this.dispatcher) return;
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        injectFault('fleet refresh');
        this.refreshAgain = false;
        this.fleet.replace(await listAgents(this.ctx.db, ['ready']));
        this.dispatcher?.kick();
      } while (this.refreshAgain && this.dispatcher);
    })().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /** An agent's capacity changed: maybe there is room for queued runs now. */
  onCapacity(evt: CapacityEvent): void {
    if (!this.dispatcher) return;
    // Agents repeat their capacity with every heartbeat: only news is worth a pass.
    if (this.fleet.onCapacity(evt)) this.dispatcher.capacityFreed();
  }

  /** A schedule, a pause or a delayed run changed: the scheduler looks again. */
  onScheduleChanged(): void {
    this.scheduler?.poke();
  }

  /** Runs were queued somewhere in the cluster. */
  onQueueReady(): void {
    this.dispatcher?.kick();
  }

  /** Gives up the lease so another coordinator can take over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    if (this.reconcileTimer) clearTimeout(this.reconcileTimer);
    this.dispatcher?.stop();
    this.scheduler?.stop();
    this.limits?.stop();
    if (this.dispatcher) await this.ctx.lease.release(this.ctx.nodeId).catch(() => undefined);
    this.dispatcher = undefined;
  }
}
