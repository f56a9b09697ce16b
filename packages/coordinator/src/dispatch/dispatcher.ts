// The dispatcher: gathers ready jobs from the queue, plans where their runs go (the pure
// `PassPlanner`, plan-pass.ts), commits the plan in one statement, and sends each agent its
// offers in one message. Runs only on the coordinator holding the lease. Passes are
// event-driven (a run was queued, capacity freed, an agent joined), never a periodic sweep
// that adds latency.
import type { Logger } from 'pino';
import {
  failureLogOf,
  inBackground,
  redispatchAfterSilenceMs,
  type OfferRequest,
  type PlacementRequest,
  type RunOffer,
} from '@drover/shared';
import type { SecretsKey } from '../security/secrets-crypto.js';
import { JobSecrets } from './job-secrets.js';
import type { Db } from '../store/db.js';
import { markOffered, returnToQueue, setQueueReasons } from '../store/offer-runs.js';
import { cancelQueuedRunsOfJob } from '../ops/cancel-job-runs.js';
import type { ReadyQueue } from '../queue/ready-queue.js';
import type { FleetView } from './fleet-view.js';
import { avoidAgents } from './avoid-agents.js';
import { PassPlanner, type PassPlan } from './plan-pass.js';
import type { JobCache, CachedJob } from './job-cache.js';
import type { CoordinatorMetrics } from '../metrics/coordinator-metrics.js';
import type { AgentIdentities } from '../security/agent-identities.js';
import { PassLoop } from '../background/pass-loop.js';
import { AgentNoAnswer, type AgentChannel } from '../transport/agent-channel.js';

/** Jobs read from the ready queue per round trip. */
const PAGE = 500;
/** What placement needs to know about a job. */
const requirementsOf = (job: CachedJob): PlacementRequest => ({
  executor: job.compiled.executor.type,
  constraints: job.compiled.constraints,
  resources: job.compiled.resources,
  namespace: job.job.namespace,
});

export interface DispatcherDeps {
  db: Db;
  /** Runs retried after being lost with an agent, and the agent they should avoid. */
  avoid?: Map<string, string>;
  /** Asynchronous-commit connections for offers (see CoordinatorContext.dispatchDb). */
  dispatchDb: Db;
  queue: ReadyQueue;
  fleet: FleetView;
  jobs: JobCache;
  /** Offers reach agents through it. */
  agents: AgentChannel;
  log: Logger;
  metrics: CoordinatorMetrics;
  now: () => number;
  /** Most offers sent to one agent in one message. */
  maxOffersPerMessage?: number;
  offerTimeoutMs?: number;
  /** Checks that an answer to an offer is signed by the agent it was sent to. */
  identities?: Pick<AgentIdentities, 'verify' | 'signFor'>;
  /** Opens the secrets jobs refer to, for their offers; without it such jobs stay queued with the reason. */
  secretsKey?: SecretsKey | undefined;
  /** Whether the lease is surely still held; checked before claiming runs (a paused leader resumes without it). */
  holdsLease?: () => boolean;
}

/** Counters for metrics and the bench. */
export interface DispatcherStats {
  passes: number;
  offered: number;
  refused: number;
}

export class Dispatcher {
  readonly stats: DispatcherStats = { passes: 0, offered: 0, refused: 0 };
  /**
   * True after a pass found no queued run. Freed capacity cannot help then, so capacity
   * events do not start passes; anything that queues runs calls `kick` and clears it.
   */
  private idle = false;
  private lastFullScan = 0;

  private readonly secrets: JobSecrets;

  /** Passes run one at a time; kicks during one coalesce into one more; a failed one is retried in 500 ms. */
  private readonly loop: PassLoop;

  constructor(private readonly deps: DispatcherDeps) {
    this.secrets = new JobSecrets(deps.db, deps.secretsKey);
    this.loop = new PassLoop({ name: 'dispatch pass', failures: failureLogOf(deps.log), retryMs: 500, pass: () => this.passes() });
  }

  /** Asks for a pass as soon as possible; calls made during a pass coalesce into one more. */
  kick(): void {
    this.idle = false;
    this.schedule();
  }

  /** Capacity freed up somewhere: worth a pass only if runs are waiting. */
  capacityFreed(): void {
    if (!this.idle) this.schedule();
  }

  private schedule(): void {
    this.loop.kick();
  }

  stop(): void {
    void this.loop.stop();
  }

  /** Passes until one places nothing more; only a kick brings the next. */
  private async passes(): Promise<undefined> {
    try {
      let progress = 1;
      while (progress > 0 && !this.loop.isStopped) progress = await this.pass();
    } catch (err) {
      // Retried as a kick would be: the queue is looked at again even if it was empty before.
      this.idle = false;
      throw err;
    }
    return undefined;
  }

  /** One placement pass over every job with queued runs; returns how many runs it offered. */
  private async pass(): Promise<number> {
    this.stats.passes++;
    const now = this.deps.now();
    // About once a second read every ready job, so runs that no agent can take get their
    // reason even while the fleet is full.
    const fullScan = now - this.lastFullScan >= 1000;
    if (fullScan) this.lastFullScan = now;
    const { plan, jobs } = await this.gatherAndPlan(now, fullScan);
    if (plan.empty) {
      this.idle = !this.loop.kickedDuringPass;
      return 0;
    }
    const offered = await this.commit(plan, jobs);
    if (offered === undefined) return 0;
    // Everything that was queued is now offered: another pass could only find newer runs,
    // and whatever queued them has kicked us (`again`).
    if (!plan.leftOver) {
      this.idle = !this.loop.kickedDuringPass;
      return 0;
    }
    return offered;
  }

  /**
   * Reads ready jobs a page at a time while the plan wants more (see `PassPlanner`), with what
   * planning them needs: their compiled definitions and whether their secrets can be had.
   */
  private async gatherAndPlan(now: number, fullScan: boolean): Promise<{ plan: PassPlan; jobs: Map<string, CachedJob | null> }> {
    this.secrets.reset();
    const view = this.deps.fleet.snapshot(now, (nodeId) => this.deps.agents.reachable(nodeId));
    const planner = new PassPlanner(view, fullScan);
    const jobs = new Map<string, CachedJob | null>();
    for (let offset = 0; planner.wantsPage; offset += PAGE) {
      const { jobs: ready, more } = await this.deps.queue.readyJobs(offset, PAGE);
      for (const [id, job] of await this.deps.jobs.getMany(ready.map((r) => r.jobId))) jobs.set(id, job);
      // The secrets of this page's jobs, in one query; a job whose secrets cannot be had waits with the reason.
      const secretProblems = await this.secrets.load(ready.flatMap((r) => jobs.get(r.jobId) ?? []));
      planner.add({
        more,
        jobs: ready.map((r) => {
          const job = jobs.get(r.jobId);
          return {
            jobId: r.jobId,
            depth: r.depth,
            requirements: job ? requirementsOf(job) : null,
            secretProblem: secretProblems.get(r.jobId),
          };
        }),
      });
    }
    return { plan: planner.finish(), jobs };
  }

  /**
   * Carries a plan out: cancels the runs of deleted jobs, writes the queue reasons, claims the
   * placed runs, marks them offered and sends the offers. Returns how many runs it offered, or
   * undefined when it claimed none (nothing placed, or the lease is no longer surely held).
   */
  private async commit(plan: PassPlan, jobs: ReadonlyMap<string, CachedJob | null>): Promise<number | undefined> {
    for (const jobId of plan.deleted)
      await cancelQueuedRunsOfJob(
        { db: this.deps.db, queue: this.deps.queue, now: this.deps.now, metrics: this.deps.metrics, log: this.deps.log },
        jobId,
        'job deleted',
      );
    await setQueueReasons(this.deps.db, plan.reasons);
    if (plan.placements.length === 0) return undefined;
    // The point of no return: a leader whose lease lapsed leaves the runs to the one holding it.
    if (this.deps.holdsLease && !this.deps.holdsLease()) return undefined;
    // One round trip claims the runs of every placed job.
    const claimed = await this.deps.queue.claimMany(plan.placements.map((p) => ({ jobId: p.jobId, count: p.agents.length })));
    const assignments = plan.placements.flatMap((p, i) => {
      const compiled = jobs.get(p.jobId)?.compiled;
      // The rule the agent is given is the one the reconciler waits for: fixed per attempt.
      const silence = compiled ? redispatchAfterSilenceMs(compiled.disconnect, compiled.killGraceMs) : null;
      const forJob = (claimed[i] ?? []).map((runId, k) => ({ runId, agentId: p.agents[k] as string, redispatchAfterSilenceMs: silence }));
      if (this.deps.avoid && this.deps.avoid.size > 0) avoidAgents(forJob, this.deps.avoid);
      return forJob;
    });
    if (assignments.length === 0) return undefined;
    for (const a of assignments) this.deps.avoid?.delete(a.runId);
    const offeredAt = this.deps.now();
    const offered = await markOffered(this.deps.dispatchDb, assignments, offeredAt);
    this.deps.metrics.runsOffered(
      offered.map((o) => o.queuedAt),
      offeredAt,
    );
    this.send(offered.map((o) => ({ ...o, job: jobs.get(o.jobId) as CachedJob })));
    this.stats.offered += offered.length;
    return offered.length;
  }

  /** Sends offers grouped per agent; answers arrive asynchronously so the next pass need not wait. */
  private send(
    offered: Array<{
      runId: string;
      jobId: string;
      agentId: string;
      token: number;
      attempt: number;
      parameters: Record<string, string>;
      job: CachedJob;
    }>,
  ): void {
    const byAgent = new Map<string, RunOffer[]>();
    for (const o of offered) {
      const list = byAgent.get(o.agentId) ?? [];
      list.push({
        runId: o.runId,
        jobId: o.jobId,
        jobName: o.job.name,
        token: o.token,
        attempt: o.attempt,
        // Secret references leave the executor; their values travel in secretEnv, for this offer only.
        ...this.secrets.offerParts(o.job),
        resources: o.job.compiled.resources,
        timeoutMs: o.job.compiled.timeoutMs,
        killGraceMs: o.job.compiled.killGraceMs,
        logLimitBytes: o.job.compiled.logLimitBytes,
        parameters: o.parameters,
        disconnect: o.job.compiled.disconnect,
      });
      byAgent.set(o.agentId, list);
    }
    const max = this.deps.maxOffersPerMessage ?? 1000;
    for (const [agentId, offers] of byAgent) {
      for (let i = 0; i < offers.length; i += max)
        inBackground('offer to an agent', failureLogOf(this.deps.log), () => this.offerTo(agentId, offers.slice(i, i + max)));
    }
  }

  private async offerTo(agentId: string, offers: RunOffer[]): Promise<void> {
    const held = {
      slots: offers.length,
      cpu: offers.reduce((n, o) => n + o.resources.cpu, 0),
      memoryBytes: offers.reduce((n, o) => n + o.resources.memoryBytes, 0),
    };
    this.deps.fleet.reserve(agentId, held);
    const nodeID = this.deps.fleet.nodeOf(agentId);
    let refused: Array<{ runId: string; token: number; reason: string }> = [];
    try {
      if (!nodeID) throw new Error('agent left the fleet');
      const timeout = this.deps.offerTimeoutMs ?? 10_000;
      const req: OfferRequest = { offers, answerWithinMs: timeout };
      // Signed for that node with the cluster's key: an agent that pinned it refuses offers without it.
      req.auth = this.deps.identities?.signFor('offer', nodeID, req);
      const res = await this.deps.agents.offer(nodeID, req, timeout);
      // An answer not signed by this agent is no answer: the runs go back to the queue.
      await this.deps.identities?.verify('offer-reply', agentId, res, nodeID);
      this.deps.fleet.onCapacity(res.capacity);
      const tokenOf = new Map(offers.map((o) => [o.runId, o.token]));
      refused = res.refused.map((r) => ({
        runId: r.runId,
        token: tokenOf.get(r.runId) ?? 0,
        reason: `agent ${agentId} refused: ${r.reason}`,
      }));
      // Refused everything (it is stopping old attempts, or our view of it is stale): give it a
      // moment instead of offering the same runs straight back.
      if (res.accepted.length === 0 && res.refused.length > 0) {
        this.deps.fleet.suspend(agentId, this.deps.now() + 250);
        setTimeout(() => this.kick(), 250).unref();
      }
    } catch (err) {
      // An offer sent but not answered (timed out, or its node dropped from the bus meanwhile) may
      // have reached the agent and started, its answer lost with the connection. Under the
      // disconnect rule `stop` such runs stay offered: the reconciler re-queues them once the
      // agent's heartbeats show it does not hold them (offer timeout), or once it is down and must
      // have stopped them, so a retry never overlaps them.
      const sent = err instanceof AgentNoAnswer;
      const mayRun = (o: RunOffer) => sent && o.disconnect?.mode === 'stop';
      const back = offers.filter((o) => !mayRun(o));
      this.deps.log.warn(
        { agentId, err: (err as Error).message, runs: back.map((o) => o.runId), left: offers.filter(mayRun).map((o) => o.runId) },
        'offer not answered; returning runs to the queue (runs the agent may have started are left to the reconciler)',
      );
      // Without a pause the runs would bounce straight back to the same silent agent.
      this.deps.fleet.suspend(agentId, this.deps.now() + 1000);
      setTimeout(() => this.kick(), 1000).unref();
      refused = back.map((o) => ({
        runId: o.runId,
        token: o.token,
        reason: `agent ${agentId} did not answer the offer: ${(err as Error).message}`,
      }));
    } finally {
      this.deps.fleet.release(agentId, held);
    }
    if (refused.length > 0) {
      this.stats.refused += refused.length;
      try {
        const back = await returnToQueue(this.deps.db, refused, this.deps.now());
        await this.deps.queue.enqueue(back);
      } catch (err) {
        // The reconciler finds these (offered for too long) and re-queues them.
        this.deps.log.error({ err, agentId, runs: refused.map((r) => r.runId) }, 'could not return refused runs to the queue');
      }
    }
    if (refused.length > 0) this.kick();
    else this.capacityFreed();
  }
}
