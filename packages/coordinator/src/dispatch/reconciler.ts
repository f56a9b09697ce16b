// The reconciler sweeps whatever an owner has gone quiet on: agents that stopped
// heartbeating, offers never answered, and queued runs missing from Redis (a Redis restart,
// or a crash between the PostgreSQL insert and the enqueue). PostgreSQL is the truth.
import type { Logger } from 'pino';
import type { Db } from '../store/db.js';
import { countLiveAgents, markSilentAgentsDown, pruneAgentMetrics, retireDownAgents } from '../store/agents.js';
import { downAfterFor } from './liveness.js';
import { returnToQueue } from '../store/offer-runs.js';
import { unansweredOffers } from '../store/open-offers.js';
import { loseRunsOfDownAgents } from '../store/lose-runs.js';
import { takeBackFromDrainedAgents } from '../store/drain.js';
import type { HeldRun } from '@drover/shared';
import { jobsWithWaitingRuns, releaseWaitingRuns } from '../store/schedules.js';
import type { ReadyQueue } from '../queue/ready-queue.js';
import { repairQueueIfDue } from './queue-repair.js';
import type { RetryPolicies } from '../store/apply-events.js';
import type { CoordinatorMetrics } from '../metrics/coordinator-metrics.js';

export interface ReconcilerDeps {
  db: Db;
  queue: ReadyQueue;
  log: Logger;
  metrics: CoordinatorMetrics;
  now: () => number;
  /** The configured heartbeat interval (it grows with the fleet; see liveness.ts). */
  heartbeatIntervalMs: number;
  /** An agent silent for this long is `down` (at least; see liveness.ts). */
  agentDownAfterMs: number;
  /** How long this coordinator could have heard every agent (ms; see hearing.ts); absent: always. */
  canHearForMs?: () => number;
  /** An agent down for this long becomes `gone`. */
  agentGoneAfterMs: number;
  /** An offer unanswered for this long goes back to the queue. */
  offerTimeoutMs: number;
  /** The retry policies of jobs, by id. */
  retryPolicies: RetryPolicies;
  /** Actions were recorded: the action runner should look. */
  onActions: () => void;
  /** Told which runs were lost with their agents (so their retries can avoid them). */
  onLost?: (runs: Array<{ runId: string; agentId: string; requeued: boolean }>) => void;
  /** Tells the fleet webhook which agents just went down. */
  notifyDown: (agentIds: string[]) => void;
  /** Asks agents to stop attempts taken back from them (fire and forget). */
  stopOnAgents: (byNode: Map<string, HeldRun[]>, reason: string) => void;
  /** Called when the fleet or the queue changed, so the dispatcher looks again. */
  onChange: (what: 'fleet' | 'queue') => void;
}

/** Runs one sweep; returns what it did, for logs and tests. */
export async function reconcileOnce(deps: ReconcilerDeps): Promise<{ down: string[]; requeued: number; restored: number }> {
  const downAfter = downAfterFor(await countLiveAgents(deps.db), deps.heartbeatIntervalMs, deps.agentDownAfterMs);
  // Fair liveness: silence this coordinator could not have heard (its own bus or store was away,
  // or it came back or began to lead less than one deadline ago) is not held against the agents.
  // Once they could have been heard, the silence counts in full (last_heartbeat_at did not move).
  const down = (deps.canHearForMs?.() ?? Number.POSITIVE_INFINITY) >= downAfter ? await markSilentAgentsDown(deps.db, downAfter) : [];
  if (down.length > 0) {
    deps.log.warn({ agents: down }, 'agents stopped heartbeating and are now down');
    deps.notifyDown(down);
    deps.onChange('fleet');
  }
  const gone = await retireDownAgents(deps.db, deps.agentGoneAfterMs);
  if (gone.length > 0) deps.log.info({ agents: gone }, 'agents down past the retention are now gone');
  await pruneAgentMetrics(deps.db, 86_400_000);
  // Runs that were running on an agent that is now down are lost, and retried while they may be.
  const { runs: lost, actions } = await loseRunsOfDownAgents(deps.db, deps.now(), deps.retryPolicies);
  if (actions > 0) deps.onActions();
  if (lost.length > 0) {
    deps.metrics.runsEnded(lost.map((l) => l.state));
    deps.onLost?.(lost);
    deps.log.warn(
      { runs: lost.length, requeued: lost.filter((l) => l.requeued).length, agents: [...new Set(lost.map((l) => l.agentId))] },
      'runs were lost with their agent',
    );
  }
  // Draining agents past their deadline give their remaining runs back.
  const takenBack = await takeBackFromDrainedAgents(deps.db, deps.now());
  if (takenBack.length > 0) {
    deps.metrics.runsEnded(takenBack.filter((t) => !t.requeued).map(() => 'cancelled'));
    const byNode = new Map<string, HeldRun[]>();
    for (const t of takenBack) byNode.set(t.nodeId, [...(byNode.get(t.nodeId) ?? []), { runId: t.runId, token: t.token }]);
    deps.stopOnAgents(byNode, 'the drain deadline passed; the run was re-queued');
    deps.log.warn({ runs: takenBack.length }, 'took runs back from agents whose drain deadline passed');
  }
  // Offers that were never answered, or made to agents now down, go back to the queue; but an
  // offer the agent may have taken and started waits as long as a running attempt would.
  const stuck = await unansweredOffers(deps.db, deps.offerTimeoutMs);
  const back = await returnToQueue(
    deps.db,
    stuck.map((o) => ({ runId: o.runId, token: o.token, reason: `offer to agent ${o.agentId ?? '?'} was not taken up` })),
    deps.now(),
  );
  // The ready queue is made to hold exactly the runs queued in PostgreSQL (queue-repair.ts).
  const repair = (await repairQueueIfDue(deps.db, deps.queue, deps.now())) ?? { restored: 0, evicted: 0 };
  if (repair.restored > 0 || repair.evicted > 0) deps.log.warn(repair, 'the ready queue differed from PostgreSQL and was repaired');
  // Runs waiting behind an active one (overlap `queue`) are released when it ends; should that
  // release have been lost (a coordinator died in between), release them here.
  const released = await releaseWaitingRuns(deps.db, await jobsWithWaitingRuns(deps.db), deps.now());
  const retried = lost.filter((l) => l.requeued);
  await deps.queue.enqueue([...back, ...released, ...retried, ...takenBack.filter((t) => t.requeued)]);
  if (back.length > 0 || repair.restored > 0 || released.length > 0 || retried.length > 0 || takenBack.length > 0) deps.onChange('queue');
  return { down, requeued: back.length, restored: repair.restored };
}
