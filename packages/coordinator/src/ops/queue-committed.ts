// Changing the ready queue after PostgreSQL committed a change of runs. Redis is a cache of
// PostgreSQL: when it is away (or slow), the runs are queued — or no longer queued — all the
// same, in PostgreSQL, and the leader's reconciler brings Redis in line once it answers
// (dispatch/queue-repair.ts). So a Redis outage neither fails the caller (an API request, a
// scheduler tick, a cancel) nor holds it up for longer than a moment.
import type { Logger } from 'pino';
import { failureLogOf } from '@drover/shared';
import type { ReadyQueue } from '../queue/ready-queue.js';

/** How long a caller waits for Redis before leaving the change to the reconciler. */
const PATIENCE_MS = 2000;

/** Runs `change` against Redis, waiting at most PATIENCE_MS; false when it failed or is late. */
async function patiently(queue: ReadyQueue, log: Logger, kind: string, fields: object, change: () => Promise<unknown>): Promise<boolean> {
  const failures = failureLogOf(log);
  let timer: NodeJS.Timeout | undefined;
  const done = change().then(() => true);
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), PATIENCE_MS);
    timer.unref();
  });
  try {
    if (await Promise.race([done, late])) {
      failures.succeeded(kind);
      return true;
    }
    // It may still land; if it fails, that is logged too, and the reconciler covers it.
    done.catch((err: unknown) => failures.failed(kind, err, fields));
    failures.failed(kind, new Error(`${queue.describe} did not answer within ${PATIENCE_MS} ms`), fields);
    return false;
  } catch (err) {
    failures.failed(kind, err, { ...fields, next: 'the reconciler brings the queue in line once Redis answers' });
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Enqueues runs already committed as queued; returns false when Redis did not take them in time
 * (they stay queued in PostgreSQL, and the reconciler enqueues them once Redis answers).
 */
export async function queueCommitted(
  queue: ReadyQueue,
  log: Logger,
  runs: ReadonlyArray<{ runId: string; jobId: string; priority: number }>,
): Promise<boolean> {
  if (runs.length === 0) return true;
  return patiently(queue, log, 'enqueue into the ready queue', { runs: runs.length }, () => queue.enqueue(runs));
}

/**
 * Takes runs already committed as no longer queued (cancelled, expired) out of the ready queue,
 * by job; returns false when Redis did not answer in time (the reconciler evicts them later, and
 * a dispatcher that claims one meanwhile finds it not queued and drops it).
 */
export async function unqueueCommitted(queue: ReadyQueue, log: Logger, byJob: ReadonlyMap<string, readonly string[]>): Promise<boolean> {
  if (byJob.size === 0) return true;
  const runs = [...byJob.values()].reduce((n, ids) => n + ids.length, 0);
  return patiently(queue, log, 'removal from the ready queue', { runs }, () =>
    Promise.all([...byJob].map(([jobId, ids]) => queue.remove(jobId, [...ids]))),
  );
}
