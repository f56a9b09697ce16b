// The dispatcher lease: one coordinator at a time dispatches and reconciles (dispatch/leadership.ts).
// Apart from the ready queue (ready-queue.ts) though kept in the same Redis: a lease is about
// who acts, the queue about what is waiting. Both backends pass the same contract tests
// (test/lease-contract.ts).
import type { Redis } from 'ioredis';

/** Who holds the dispatcher lease, with an epoch that fences a former holder's writes. */
export interface LeaderLease {
  /** Takes or renews the lease for `ttlMs`; returns the epoch while held (a new one when just taken), 0 otherwise. */
  acquire(nodeId: string, ttlMs: number): Promise<number>;
  /** Gives the lease up, if this node holds it, so another coordinator can take over at once. */
  release(nodeId: string): Promise<void>;
}

type Scripted = Redis & {
  acquireLease(k1: string, k2: string, nodeId: string, ttlMs: number): Promise<number>;
  releaseLease(k1: string, nodeId: string): Promise<number>;
};

/** The lease in Redis: two keys under the prefix, each change one script (scripts.ts, loaded by openRedis). */
export class RedisLeaderLease implements LeaderLease {
  private readonly redis: Scripted;
  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    this.redis = redis as Scripted;
  }

  async acquire(nodeId: string, ttlMs: number): Promise<number> {
    return this.redis.acquireLease(`${this.prefix}leader`, `${this.prefix}leader:epoch`, nodeId, ttlMs);
  }

  async release(nodeId: string): Promise<void> {
    await this.redis.releaseLease(`${this.prefix}leader`, nodeId);
  }
}

/** The lease in this process's memory, for `drover dev` (one coordinator). */
export class MemoryLeaderLease implements LeaderLease {
  private held: { nodeId: string; until: number } | undefined;
  private epoch = 0;

  constructor(private readonly now: () => number = Date.now) {}

  async acquire(nodeId: string, ttlMs: number): Promise<number> {
    const now = this.now();
    const held = this.held && this.held.until > now ? this.held : undefined;
    if (held && held.nodeId !== nodeId) return 0;
    if (!held) this.epoch++;
    this.held = { nodeId, until: now + ttlMs };
    return this.epoch;
  }

  async release(nodeId: string): Promise<void> {
    if (this.held?.nodeId === nodeId) this.held = undefined;
  }
}
