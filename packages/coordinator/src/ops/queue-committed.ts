// Putting runs into the ready queue after PostgreSQL committed them. Redis is a cache of
// PostgreSQL: when it is away (or slow), the runs are queued all the same — in PostgreSQL —
// and the leader's reconciler puts them into Redis once it answers (dispatch/queue-repair.ts).
// So a Redis outage neither fails the caller (an API request, a scheduler tick) nor holds it up
// for longer than a moment.
import type { Logger } from 'pino';
import { failureLogOf } from '@drover/shared';
import type { ReadyQueue } from '../queue/ready-queue.js';

/** How long a caller waits for Redis before leaving the runs to the reconciler. */
const PATIENCE_MS = 2000;

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
  let timer: NodeJS.Timeout | undefined;
  const enqueued = queue.enqueue(runs).then(() => true);
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), PATIENCE_MS);
    timer.unref();
  });
  try {
    const done = await Promise.race([enqueued, late]);
    if (!done) {
      // It may still land; if it fails, that is logged below and the reconciler covers it.
      enqueued.catch((err: unknown) => failureLogOf(log).failed('enqueue into the ready queue', err, { runs: runs.length }));
      failureLogOf(log).failed('enqueue into the ready queue', new Error(`${queue.describe} did not answer within ${PATIENCE_MS} ms`), {
        runs: runs.length,
      });
      return false;
    }
    failureLogOf(log).succeeded('enqueue into the ready queue');
    return true;
  } catch (err) {
    failureLogOf(log).failed('enqueue into the ready queue', err, {
      runs: runs.length,
      next: 'the reconciler queues them once Redis answers',
    });
    return false;
  } finally {
    clearTimeout(timer);
  }
}
