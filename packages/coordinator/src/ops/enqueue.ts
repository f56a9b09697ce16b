// Creating runs: PostgreSQL first (the truth), then the Redis ready queue, then a nudge to
// the dispatcher (and to the scheduler, for delayed runs). A crash between the writes, or Redis
// being away, is healed by the reconciler (queue-committed.ts).
import { monotonicFactory } from 'ulid';
import { type RunTrigger } from '@drover/shared';
import type { CoordinatorContext } from '../context.js';
import { insertRuns, type NewRun } from '../store/insert-runs.js';
import { newRunView, type Run } from '../store/run-model.js';
import type { Job } from '../store/jobs.js';
import { queueCommitted } from './queue-committed.js';

// Monotonic: runs created in the same millisecond still sort in creation order, which is
// the queue's age order within a priority.
const ulid = monotonicFactory();

export interface RunRequest {
  job: Job;
  parameters?: Record<string, string>;
  /** Overrides the job's priority for this run. */
  priority?: number;
  trigger: RunTrigger;
  /** Start no earlier than this many ms from now (the run waits as `pending`). */
  delayMs?: number;
  fireAt?: number;
  /** Create the run in this state instead (`skipped` or `pending`), with the reason. */
  state?: 'skipped' | 'pending';
  reason?: string;
  idempotencyKey?: string;
  requestHash?: string;
}

/** Creates runs in one batch; returns those inserted (a duplicate fire or a reused key is not). */
export async function enqueueRuns(ctx: CoordinatorContext, requests: readonly RunRequest[]): Promise<Run[]> {
  const now = ctx.now();
  const rows: NewRun[] = requests.map((r) => {
    const delayed = r.delayMs !== undefined && r.delayMs > 0;
    const state = r.state ?? (delayed ? 'pending' : 'queued');
    const row: NewRun = {
      id: ulid(now),
      jobId: r.job.id,
      state,
      priority: r.priority ?? r.job.priority ?? 50,
      trigger: r.trigger,
      parameters: { ...(r.job.parameters ?? {}), ...(r.parameters ?? {}) },
      createdAt: now,
    };
    if (delayed && !r.state) {
      row.notBefore = now + (r.delayMs ?? 0);
      row.reason = `delayed until ${new Date(row.notBefore).toISOString()}`;
    }
    if (r.reason !== undefined) row.reason = r.reason;
    if (r.fireAt !== undefined) row.fireAt = r.fireAt;
    if (r.idempotencyKey !== undefined) row.idempotencyKey = r.idempotencyKey;
    if (r.requestHash !== undefined) row.requestHash = r.requestHash;
    return row;
  });
  const inserted = await insertRuns(ctx.db, rows);
  const queued = inserted.filter((r) => r.state === 'queued');
  if (queued.length > 0) {
    if (
      await queueCommitted(
        ctx.queue,
        ctx.log,
        queued.map((r) => ({ runId: r.id, jobId: r.jobId, priority: r.priority })),
      )
    )
      ctx.signals.queueReady();
  }
  if (rows.some((r) => r.notBefore !== undefined)) ctx.signals.scheduleChanged();
  const ids = new Set(inserted.map((r) => r.id));
  const created = rows.filter((r) => ids.has(r.id));
  ctx.metrics.runsCreated(created, ctx.now());
  return created.map(newRunView);
}
