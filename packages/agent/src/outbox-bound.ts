// What the outbox drops when its journal holds more unacknowledged events than the bound
// allows: a pure choice over the queue, so the outbox (outbox.ts) only carries it out.
import type { AgentEvent } from '@drover/shared';

/** The default bound on the journal's unacknowledged events. */
export const OUTBOX_MAX_DISK_BYTES = 256 * 1024 * 1024;
/** Once over the bound, shed down to this share of it, so shedding is not redone at every push. */
export const SHED_TO = 0.9;

/** An attempt's key in sets and maps: its run and its attempt token. */
export function attemptKey(runId: string, token: number): string {
  return `${runId}#${token}`;
}

/** What shedding looks at of a queued event: the event and what it weighs on disk. */
export interface Sheddable {
  event: AgentEvent;
  diskBytes: number;
}

/** The events to drop: these log chunks, and every event of these attempts (by `attemptKey`). */
export interface ShedPlan<Q extends Sheddable> {
  logs: Set<Q>;
  attempts: Set<string>;
}

/**
 * Chooses what to drop to free `excessBytes`: the oldest log chunks first, then the oldest
 * finished attempts whole (a start without its finish, or the reverse, could not be applied).
 * `queue` is in sending order, oldest first.
 */
export function planShed<Q extends Sheddable>(queue: readonly Q[], excessBytes: number): ShedPlan<Q> {
  let excess = excessBytes;
  const logs = new Set<Q>();
  for (const q of queue) {
    if (excess <= 0) break;
    if (q.event.kind !== 'log') continue;
    logs.add(q);
    excess -= q.diskBytes;
  }
  const attempts = new Set<string>();
  if (excess > 0) {
    const finished = new Set(queue.filter((q) => q.event.kind === 'finished').map((q) => attemptKey(q.event.runId, q.event.token)));
    const weight = new Map<string, number>();
    for (const q of queue) {
      const k = attemptKey(q.event.runId, q.event.token);
      if (finished.has(k) && !logs.has(q)) weight.set(k, (weight.get(k) ?? 0) + q.diskBytes);
    }
    // Map order is the order of each attempt's first queued event: oldest first.
    for (const [k, bytes] of weight) {
      if (excess <= 0) break;
      attempts.add(k);
      excess -= bytes;
    }
  }
  return { logs, attempts };
}

/** The `onDropped` detail of a shed, for the agent's log. */
export function shedDetail(plan: ShedPlan<Sheddable>, maxDiskBytes: number): string {
  return plan.attempts.size > 0
    ? `over the outbox bound of ${maxDiskBytes} bytes: dropped ${plan.logs.size} log chunks and the results of ${plan.attempts.size} finished attempts (their runs will be lost and retried)`
    : `over the outbox bound of ${maxDiskBytes} bytes: dropped the ${plan.logs.size} oldest log chunks`;
}
