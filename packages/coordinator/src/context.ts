// What the coordinator's parts share: connections, caches and the clock.
import type { BusLink } from '@drover/shared';
import type { Logger } from 'pino';
import type { Db } from './store/db.js';
import type { StoreLink } from './store/store-link.js';
import type { ReadyQueue } from './queue/ready-queue.js';
import type { LeaderLease } from './queue/leader-lease.js';
import type { JobCache } from './dispatch/job-cache.js';
import type { CoordinatorOptions } from './options.js';
import type { CoordinatorMetrics } from './metrics/coordinator-metrics.js';
import type { AgentIdentities } from './security/agent-identities.js';
import type { SecretsKey } from './security/secrets-crypto.js';
import type { AgentChannel } from './transport/agent-channel.js';
import type { Signals } from './transport/signals.js';

export interface CoordinatorContext {
  readonly options: CoordinatorOptions;
  readonly db: Db;
  /**
   * The same database, a pool of its own for writes that commit asynchronously because a
   * PostgreSQL crash may lose them without harm, the reconciler redoing them: offers (a lost
   * offer leaves the run queued, and the agent's reports for it are fenced; store/offer-runs.ts).
   * Never for accepting runs or results.
   */
  readonly dispatchDb: Db;
  readonly queue: ReadyQueue;
  /** Who dispatches and reconciles: the holder of this lease (dispatch/leadership.ts). */
  readonly lease: LeaderLease;
  /** This coordinator's node id on the bus (also the leader lease's holder). */
  readonly nodeId: string;
  /** Offers and stop requests reach agents through it (transport/). */
  readonly agents: AgentChannel;
  /** Broadcasts to every coordinator (transport/signals.ts). */
  readonly signals: Signals;
  /** This coordinator's own NATS connection: agents are not judged for silence it could not hear. */
  readonly bus?: BusLink;
  /** This coordinator's own reach to PostgreSQL, fed by heartbeat writes and sweeps: the same. */
  readonly store?: StoreLink;
  readonly jobs: JobCache;
  /** Runs the actions recorded on run events; poke it after recording some. */
  readonly actions: { poke(): void };
  readonly log: Logger;
  /** Prometheus metrics: counters and histograms are fed where things happen (metrics/README.md). */
  readonly metrics: CoordinatorMetrics;
  /**
   * The cluster's clock: PostgreSQL's, kept by clock/cluster-clock.ts, so a time computed here
   * compares with a column PostgreSQL's now() wrote (passed in so time-dependent logic is testable).
   */
  readonly now: () => number;
  /** Checks that each agent message comes from the agent it speaks for (security/agent-identities.ts). */
  readonly identities: AgentIdentities;
  /** Encrypts secrets at rest and opens them for offers; undefined when none is configured. */
  readonly secretsKey?: SecretsKey | undefined;
}
