// Creating runs: PostgreSQL first (the truth), then the Redis ready queue, then a nudge to
// the dispatcher. A crash between the two writes is healed by the reconciler.
import { monotonicFactory } from 'ulid';
import { EVENTS, type RunTrigger } from '@drover/shared';
import type { CoordinatorContext } from '../context.js';
import { insertQueuedRuns, type NewRun } from '../store/insert-runs.js';
import type { Job } from '../store/jobs.js';
import type { Run } from '../store/run-model.js';

// Monotonic: runs created in the same millisecond still sort in creation order, which is
// the queue's age order within a priority.
const ulid = monotonicFactory();

export interface RunRequest {
  job: Job;
  parameters?: Record<string, string>;
  /** Overrides the job's priority for this run. */
  priority?: number;
  trigger: RunTrigger;
}

/** Creates queued runs in one batch and returns them. */
export async function enqueueRuns(ctx: CoordinatorContext, requests: readonly RunRequest[]): Promise<Run[]> {
  const now = ctx.now();
  const runs: NewRun[] = requests.map((r) => ({
    id: ulid(now),
    jobId: r.job.id,
    priority: r.priority ?? r.job.priority ?? 50,
    trigger: r.trigger,
    parameters: { ...(r.job.parameters ?? {}), ...(r.parameters ?? {}) },
    createdAt: now,
  }));
  await insertQueuedRuns(ctx.db, runs);
  await ctx.queue.enqueue(runs.map((r) => ({ runId: r.id, jobId: r.jobId, priority: r.priority })));
  ctx.broker.broadcast(EVENTS.queueReady, {});
  const at = new Date(now).toISOString();
  return runs.map((r) => ({
    id: r.id,
    jobId: r.jobId,
    state: 'queued',
    priority: r.priority,
    trigger: r.trigger,
    parameters: r.parameters,
    attempt: 0,
    attemptToken: 0,
    agentId: null,
    queueReason: null,
    exitCode: null,
    signal: null,
    error: null,
    durationMs: null,
    cpuTimeMs: null,
    peakMemoryBytes: null,
    createdAt: at,
    queuedAt: at,
    offeredAt: null,
    startedAt: null,
    finishedAt: null,
  }));
}
