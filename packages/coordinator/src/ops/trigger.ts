// A manual trigger: now or after a delay, with an optional Idempotency-Key so that a client
// retrying the same request gets the same run instead of a second one.
import { createHash } from 'node:crypto';
import { missingParameters, parseDuration, type FieldError } from '@drover/shared';
import type { CoordinatorContext } from '../context.js';
import type { Job } from '../store/jobs.js';
import { getRunByIdempotencyKey } from '../store/query-runs.js';
import type { Run } from '../store/run-model.js';
import { DomainError, invalidInput } from '../domain-error.js';
import { enqueueRuns } from './enqueue.js';

const MAX_DELAY_MS = 366 * 86_400_000;

export interface TriggerBody {
  parameters?: Record<string, string>;
  priority?: number;
  /** A duration ("10m"): the run waits as `pending` until then. */
  delay?: string;
}

/** A stable digest of what a request asked for: same job and same body give the same hash. */
export function requestHash(jobId: string, body: TriggerBody): string {
  const canonical = (v: unknown): unknown =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
        )
      : v;
  return createHash('sha256')
    .update(JSON.stringify([jobId, canonical(body)]))
    .digest('hex');
}

function sameRequestOrConflict(existing: Run & { requestHash: string | null }, hash: string, key: string): Run {
  if (existing.requestHash !== hash) {
    throw new DomainError(
      'IDEMPOTENCY_KEY_REUSED',
      `Idempotency-Key "${key}" was already used for run ${existing.id} with a different request; use a new key for a different request`,
    );
  }
  return existing;
}

/** Field errors for parameters the job's templates use that neither the trigger nor the job's defaults give. */
export function parameterErrors(job: Job, given: Record<string, string> | undefined, at = 'parameters'): FieldError[] {
  const merged = { ...(job.parameters ?? {}), ...(given ?? {}) };
  return missingParameters(job.executor, merged).map((name) => ({
    field: `${at}.${name}`,
    message: `is required: the job's executor uses {{ param.${name} }} and the job gives no default`,
  }));
}

/** Creates the run (201), or returns the run an earlier request with the same key created (200). */
export async function triggerRun(
  ctx: CoordinatorContext,
  job: Job,
  body: TriggerBody,
  idempotencyKey?: string,
): Promise<{ run: Run; created: boolean }> {
  let delayMs: number | undefined;
  if (body.delay !== undefined) {
    delayMs = parseDuration(body.delay);
    if (delayMs === undefined)
      throw invalidInput([{ field: 'delay', message: `"${body.delay}" is not a duration; use e.g. "30s", "10m", "2h"` }]);
    if (delayMs > MAX_DELAY_MS)
      throw invalidInput([{ field: 'delay', message: `"${body.delay}" is more than 366 days; schedule the job with "at" instead` }]);
  }
  const missing = parameterErrors(job, body.parameters);
  if (missing.length > 0) throw invalidInput(missing);
  if (idempotencyKey !== undefined && (idempotencyKey.length === 0 || idempotencyKey.length > 255)) {
    throw invalidInput([{ field: 'Idempotency-Key', message: 'must be 1 to 255 characters' }]);
  }
  const hash = idempotencyKey === undefined ? undefined : requestHash(job.id, body);
  if (idempotencyKey !== undefined && hash !== undefined) {
    const existing = await getRunByIdempotencyKey(ctx.db, job.id, idempotencyKey);
    if (existing) return { run: sameRequestOrConflict(existing, hash, idempotencyKey), created: false };
  }
  const [run] = await enqueueRuns(ctx, [
    { job, parameters: body.parameters, priority: body.priority, trigger: 'manual', delayMs, idempotencyKey, requestHash: hash },
  ]);
  if (run) return { run, created: true };
  // Another request with the same key won the race between our read and our insert.
  const existing = idempotencyKey === undefined ? undefined : await getRunByIdempotencyKey(ctx.db, job.id, idempotencyKey);
  if (!existing || hash === undefined || idempotencyKey === undefined) throw new Error('the run was neither created nor found');
  return { run: sameRequestOrConflict(existing, hash, idempotencyKey), created: false };
}
