// The ready queue: the interface every backend implements, and the Redis backend (the
// dispatcher lease, in the same Redis, is leader-lease.ts). PostgreSQL stays the truth: the reconciler can rebuild everything here from
// the runs table. The in-memory backend (memory-queue.ts) serves `drover dev`; both pass the
// same contract tests (test/queue-contract.ts).
import type { ConnectionOptions } from 'node:tls';
import { Redis, type RedisOptions } from 'ioredis';
import { decodeTime } from 'ulid';
import { DroverError } from '@drover/shared';
import {
  ACQUIRE_LEASE,
  CLAIM_RUNS,
  DEPTH_BY_PRIORITY,
  ENQUEUE_RUNS,
  EVICT_RUNS,
  READY_JOBS,
  RELEASE_LEASE,
  REMOVE_RUNS,
} from './scripts.js';

/** A job with queued runs, and where its head run stands in priority order. */
export interface ReadyJob {
  jobId: string;
  depth: number;
  /** Queue score of the head run (lower goes first; see queueScore). */
  headScore: number;
  /** Id of the head run (a ULID: lower is older). */
  headRunId: string;
}

type Scripted = Redis & {
  enqueueRuns(k1: string, k2: string, ...args: Array<string | number>): Promise<number>;
  claimRuns(k1: string, k2: string, jobId: string, n: number): Promise<string[]>;
  removeRuns(k1: string, k2: string, ...args: string[]): Promise<number>;
  evictRuns(k1: string, k2: string, ...args: string[]): Promise<string[]>;
  readyJobs(k1: string, prefix: string, offset: number, limit: number): Promise<Array<string | number>>;
  depthByPriority(k1: string, prefix: string, offset: number, limit: number, step: number): Promise<number[]>;
};

const QUEUE_EPOCH = Date.UTC(2020, 0, 1);
const PRIORITY_STEP = 2 ** 41; // ms: ~69 years of creation times within one priority band

/**
 * A run's place in the queue: higher priority first, then older first. Exact in a double:
 * (100 - priority) < 2^7 bands of 2^41 ms need 48 bits. Runs created in the same ms fall back
 * on the ZSET's member order, and run ids are monotonic ULIDs.
 */
export function queueScore(priority: number, runId: string): number {
  return (100 - priority) * PRIORITY_STEP + Math.max(0, decodeTime(runId) - QUEUE_EPOCH);
}

/** The priority a queue score was made with (the inverse of queueScore's band). */
export function priorityOfScore(score: number): number {
  return 100 - Math.floor(score / PRIORITY_STEP);
}

/** The results of a pipeline, or its first error. */
function throwFirstError(results: Array<[Error | null, unknown]> | null): unknown[] {
  for (const [err] of results ?? []) if (err) throw err;
  return (results ?? []).map(([, v]) => v);
}

/** Opens a Redis connection with Drover's scripts (the queue's and the lease's) loaded; fails clearly when Redis is unreachable. */
export async function openRedis(url: string, tls?: ConnectionOptions, sentinel?: RedisSentinels): Promise<Redis> {
  // A rediss:// URL turns TLS on by itself; `tls` adds the CA and client certificate (security/tls.ts).
  const options: RedisOptions = {
    lazyConnect: true,
    maxRetriesPerRequest: 3,
    // A master demoted by a failover answers writes with READONLY: reconnect to find the new one.
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
    ...(tls ? { tls } : {}),
  };
  const connected = { ever: false };
  const redis = sentinel ? new Redis(sentinelOptions(url, sentinel, options, connected)) : new Redis(url, options);
  redis.once('ready', () => (connected.ever = true));
  const where = sentinel
    ? `the master "${sentinel.name}" of Sentinels ${sentinel.sentinels.map((s) => `${s.host}:${s.port}`).join(',')}`
    : url.replace(/\/\/[^@]*@/, '//');
  const fix = sentinel ? 'Check --redis-sentinels and --redis-sentinel-name' : 'Set DROVER_REDIS_URL or --redis-url';
  // Reconnects on its own; commands fail meanwhile. The last error says why a first connect failed
  // (a TLS failure surfaces from connect() only as "Connection is closed").
  let lastError: Error | undefined;
  redis.on('error', (err: Error) => (lastError = err));
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    const why =
      lastError && lastError.message !== (err as Error).message
        ? `${lastError.message} (${(err as Error).message})`
        : (err as Error).message;
    throw new DroverError('REDIS_UNREACHABLE', `cannot reach Redis at ${where}: ${why.replace(/\.$/, '')}. Is it running? ${fix}.`, {
      cause: err,
    });
  }
  redis.defineCommand('enqueueRuns', { numberOfKeys: 2, lua: ENQUEUE_RUNS });
  redis.defineCommand('claimRuns', { numberOfKeys: 2, lua: CLAIM_RUNS });
  redis.defineCommand('removeRuns', { numberOfKeys: 2, lua: REMOVE_RUNS });
  redis.defineCommand('evictRuns', { numberOfKeys: 2, lua: EVICT_RUNS });
  redis.defineCommand('readyJobs', { numberOfKeys: 1, lua: READY_JOBS });
  redis.defineCommand('depthByPriority', { numberOfKeys: 1, lua: DEPTH_BY_PRIORITY });
  redis.defineCommand('acquireLease', { numberOfKeys: 2, lua: ACQUIRE_LEASE });
  redis.defineCommand('releaseLease', { numberOfKeys: 1, lua: RELEASE_LEASE });
  return redis;
}

/** Where Redis Sentinel says the master is: the Sentinels' addresses and the master's name. */
export interface RedisSentinels {
  sentinels: ReadonlyArray<{ host: string; port: number }>;
  name: string;
}

/** ioredis options for a master found through Sentinel; the URL gives the credentials, database and TLS. */
function sentinelOptions(url: string, sentinel: RedisSentinels, options: RedisOptions, connected: { ever: boolean }): RedisOptions {
  const u = new URL(url);
  const db = Number(u.pathname.slice(1) || '0');
  return {
    ...options,
    sentinels: sentinel.sentinels.map((s) => ({ host: s.host, port: s.port })),
    name: sentinel.name,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(Number.isInteger(db) ? { db } : {}),
    ...(u.protocol === 'rediss:' ? { tls: options.tls ?? {}, enableTLSForSentinelMode: true } : {}),
    // A first connect to Sentinels that are all away fails after a few tries, so that the start
    // says so; once connected, they are asked again and again until one answers.
    sentinelRetryStrategy: (times) => (!connected.ever && times > 3 ? null : Math.min(200 * times, 2000)),
  };
}

/**
 * The ready queues. Runs are ordered by queueScore (higher priority,
 * then older); jobs by their head run's score, then by job id.
 */
export interface ReadyQueue {
  /** Adds runs to their jobs' queues; a run already queued stays where it is. */
  enqueue(runs: ReadonlyArray<{ runId: string; jobId: string; priority: number }>): Promise<void>;
  /** Takes up to `count` runs from the head of each job's queue, in queue order. */
  claimMany(claims: ReadonlyArray<{ jobId: string; count: number }>): Promise<string[][]>;
  /** Removes specific runs (e.g. cancelled) from a job's queue; returns how many were there. */
  remove(jobId: string, runIds: string[]): Promise<number>;
  /**
   * Takes out runs that are no longer queued (the reconciler's repair); returns those that were
   * there. Unlike `remove`, it names them, so the caller can re-check exactly those.
   */
  evict(jobId: string, runIds: readonly string[]): Promise<string[]>;
  /** A page of each given job's queued run ids, in queue order, starting at `offset` (one round trip). */
  runsOf(jobIds: readonly string[], offset: number, limit: number): Promise<string[][]>;
  /** A page of the jobs with queued runs, in dispatch order; `more` is false once the page reached the end. */
  readyJobs(offset?: number, limit?: number): Promise<{ jobs: ReadyJob[]; more: boolean }>;
  /** Total queued runs across all jobs. */
  depth(): Promise<number>;
  /** Queued runs per priority (0–100), across all jobs; priorities without runs are absent (metrics). */
  depthByPriority(): Promise<Map<number, number>>;
  /** Resolves when the backend answers (health checks). */
  ping(): Promise<void>;
  /** Where the queue lives, for messages: `redis://host:port` or `memory`. */
  readonly describe: string;
}

/** The Redis backend: every multi-key change is one Lua script (scripts.ts). */
export class RedisReadyQueue implements ReadyQueue {
  private readonly redis: Scripted;
  readonly describe: string;
  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    this.redis = redis as Scripted;
    this.describe = `redis://${redis.options.host ?? '?'}:${redis.options.port ?? 6379}`;
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  private jobsKey(): string {
    return `${this.prefix}ready:heads`;
  }
  private queueKey(jobId: string): string {
    return `${this.prefix}ready:${jobId}`;
  }

  /** Adds runs to their jobs' queues; one script call per job, pipelined. */
  async enqueue(runs: ReadonlyArray<{ runId: string; jobId: string; priority: number }>): Promise<void> {
    if (runs.length === 0) return;
    const byJob = new Map<string, Array<string | number>>();
    for (const r of runs) {
      const args = byJob.get(r.jobId) ?? [];
      args.push(queueScore(r.priority, r.runId), r.runId);
      byJob.set(r.jobId, args);
    }
    // One script call per job (at most CHUNK runs each), all in one pipeline: one round trip.
    const CHUNK = 2000;
    const pipe = this.redis.pipeline() as unknown as Scripted & { exec(): Promise<Array<[Error | null, unknown]> | null> };
    for (const [jobId, args] of byJob) {
      for (let i = 0; i < args.length; i += CHUNK * 2)
        pipe.enqueueRuns(this.jobsKey(), this.queueKey(jobId), jobId, ...args.slice(i, i + CHUNK * 2));
    }
    throwFirstError(await pipe.exec());
  }

  /** Takes up to `count` runs from the head of each job's queue, in one round trip. */
  async claimMany(claims: ReadonlyArray<{ jobId: string; count: number }>): Promise<string[][]> {
    if (claims.length === 0) return [];
    const pipe = this.redis.pipeline() as unknown as Scripted & { exec(): Promise<Array<[Error | null, unknown]> | null> };
    for (const c of claims) pipe.claimRuns(this.jobsKey(), this.queueKey(c.jobId), c.jobId, c.count);
    return throwFirstError(await pipe.exec()).map((ids) => ids as string[]);
  }

  /** Removes specific runs (e.g. cancelled) from a job's queue. */
  async remove(jobId: string, runIds: string[]): Promise<number> {
    if (runIds.length === 0) return 0;
    return this.redis.removeRuns(this.jobsKey(), this.queueKey(jobId), jobId, ...runIds);
  }

  /** Takes out runs no longer queued; returns those that were there (one script call). */
  async evict(jobId: string, runIds: readonly string[]): Promise<string[]> {
    if (runIds.length === 0) return [];
    return this.redis.evictRuns(this.jobsKey(), this.queueKey(jobId), jobId, ...runIds);
  }

  /** A page of each job's queued run ids in queue order: one ZRANGE per job, pipelined. */
  async runsOf(jobIds: readonly string[], offset: number, limit: number): Promise<string[][]> {
    if (jobIds.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const jobId of jobIds) pipe.zrange(this.queueKey(jobId), offset, offset + limit - 1);
    return throwFirstError(await pipe.exec()).map((ids) => ids as string[]);
  }

  /**
   * A page of the jobs with queued runs, in dispatch order, with depth and head (one round
   * trip). `more` is false once the page reached the end of the list.
   */
  async readyJobs(offset = 0, limit = 1000): Promise<{ jobs: ReadyJob[]; more: boolean }> {
    // The queue keys are built inside the script from the prefix. Fine for a single Redis;
    // a Redis Cluster would need every key passed in KEYS (and one hash slot).
    const flat = await this.redis.readyJobs(this.jobsKey(), this.prefix, offset, limit);
    const jobs: ReadyJob[] = [];
    for (let i = 1; i + 3 < flat.length; i += 4) {
      jobs.push({ jobId: String(flat[i]), depth: Number(flat[i + 1]), headRunId: String(flat[i + 2]), headScore: Number(flat[i + 3]) });
    }
    return { jobs, more: Number(flat[0]) >= limit };
  }

  /** Total queued runs across all jobs. */
  async depth(): Promise<number> {
    let total = 0;
    for (let offset = 0; ; offset += 1000) {
      const { jobs, more } = await this.readyJobs(offset, 1000);
      total += jobs.reduce((n, j) => n + j.depth, 0);
      if (!more) return total;
    }
  }

  /** Queued runs per priority: one read-only script call per 1000 jobs. */
  async depthByPriority(): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    for (let offset = 0; ; offset += 1000) {
      const [read = 0, ...pairs] = await this.redis.depthByPriority(this.jobsKey(), this.prefix, offset, 1000, PRIORITY_STEP);
      for (let i = 0; i + 1 < pairs.length; i += 2) {
        const priority = 100 - Number(pairs[i]);
        out.set(priority, (out.get(priority) ?? 0) + Number(pairs[i + 1]));
      }
      if (Number(read) < 1000) return out;
    }
  }
}
