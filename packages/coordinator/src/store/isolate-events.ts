// A report the coordinator cannot apply must not block its agent: the agent would resend it
// forever, and every later start, chunk and result of that agent would wait behind it. When a
// batch fails for a reason in the data (a value PostgreSQL refuses, a malformed event), the
// batch is cut in halves until the failing events stand alone (a few more statements for one
// bad event among n: about 2·log2 n), the rest is applied, and each isolated event is returned
// with why. A failure of availability (connection, serialization, shutdown) is thrown as it is:
// retrying the same report later will work, and nothing may be dropped for it.
//
// Applying the halves separately is safe because applying is idempotent and in order: a start
// in one half and its result in the next are two batches, as they often are anyway; a half
// partly applied before the failure is applied again as a resend. (What a resend does not
// repeat is the news of what the first try changed — which runs to requeue or release — in the
// rare batch that names one run with two tokens, whose first pass may commit before a later
// one fails: the reconciler catches those up within a sweep.)
import type { AgentEvent, FinishedEvent, RejectedEvent } from '@drover/shared';
import type { AppliedBatch } from './apply-events.js';

/** Applies events (the store's applyAgentEvents, bound to an agent and its lookups). */
export type ApplyEvents = (events: AgentEvent[]) => Promise<AppliedBatch>;

/** A batch applied with its unappliable events set apart. */
export interface IsolatedBatch extends AppliedBatch {
  /** The events applied, in order: stand-ins in place of rejected starts and results. */
  events: AgentEvent[];
  rejected: RejectedEvent[];
}

// SQLSTATE classes caused by the values of a statement: data exceptions (22: out of range,
// invalid text, bad encoding, …), integrity constraints (23) and program limits (54: too large).
const DATA_CLASSES = new Set(['22', '23', '54']);

/**
 * True when an error comes from the events themselves, so the same events fail the same way
 * every time: a PostgreSQL data error, or our code refusing a value (TypeError, RangeError,
 * an unreadable chunk). Everything else is taken for unavailability and retried by the agent.
 */
export function isDataError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return DATA_CLASSES.has(code.slice(0, 2));
  return err instanceof TypeError || err instanceof RangeError || code === 'UNREADABLE_CHUNK';
}

/** Why an event is not one the coordinator can even try to apply, or undefined when it is. */
export function malformedReason(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return 'an event must be an object';
  const { kind, runId, token } = event as Record<string, unknown>;
  if (kind !== 'started' && kind !== 'log' && kind !== 'finished') return 'its kind must be started, log or finished';
  if (typeof runId !== 'string' || runId.length === 0 || runId.length > 200) return 'its runId must be a run id';
  if (typeof token !== 'number' || !Number.isSafeInteger(token)) return 'its token must be an integer';
  return undefined;
}

/** The finished event that replaces one whose result could not be stored: the attempt failed, and says why. */
export function failedInstead(event: FinishedEvent, reason: string, now: number): FinishedEvent {
  return {
    kind: 'finished',
    runId: event.runId,
    token: event.token,
    ...(typeof event.jobId === 'string' ? { jobId: event.jobId } : {}),
    at: now,
    outcome: 'failed',
    exitCode: null,
    signal: null,
    error: `the attempt ended but its result could not be stored (${reason}); its output may still be in the log`,
    durationMs: 0,
    cpuTimeMs: null,
    peakMemoryBytes: null,
    httpStatus: null,
    outputBytes: 0,
    droppedBytes: 0,
    lastLines: [],
  };
}

/** What an error says about an event, short enough to show on a run. */
function describe(err: unknown): string {
  const e = err as { message?: unknown; code?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(err);
  return typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? `${message} (SQLSTATE ${e.code})` : message;
}

function emptyBatch(): IsolatedBatch {
  return { changed: new Map(), endedJobs: new Set(), requeued: [], retrying: 0, actions: 0, stale: [], events: [], rejected: [] };
}

function merge(into: IsolatedBatch, events: AgentEvent[], part: AppliedBatch): void {
  into.events.push(...events);
  for (const [id, state] of part.changed) into.changed.set(id, state);
  for (const job of part.endedJobs) into.endedJobs.add(job);
  into.requeued.push(...part.requeued);
  into.retrying += part.retrying;
  into.actions += part.actions;
  for (const s of part.stale) if (!into.stale.some((t) => t.runId === s.runId && t.token === s.token)) into.stale.push(s);
}

function rejection(e: unknown, reason: string): RejectedEvent {
  const r = (typeof e === 'object' && e !== null ? e : {}) as Record<string, unknown>;
  return {
    runId: typeof r.runId === 'string' ? r.runId : '',
    token: typeof r.token === 'number' && Number.isSafeInteger(r.token) ? r.token : 0,
    kind: typeof r.kind === 'string' ? r.kind.slice(0, 40) : 'malformed',
    ...(r.kind === 'log' && typeof r.seq === 'number' && Number.isSafeInteger(r.seq) ? { seq: r.seq } : {}),
    reason,
  };
}

/**
 * Applies a report's events, isolating those that cannot be applied. A rejected start is
 * applied again at the coordinator's clock (only its own values were at fault) and a rejected
 * result as a failure saying why, so the run still moves on; a rejected chunk is dropped.
 * Throws when a failure is not caused by the events (see isDataError).
 */
export async function applyIsolating(apply: ApplyEvents, events: readonly unknown[], now: () => number): Promise<IsolatedBatch> {
  const out = emptyBatch();
  const wellFormed: AgentEvent[] = [];
  for (const e of events) {
    const why = malformedReason(e);
    if (why === undefined) wellFormed.push(e as AgentEvent);
    else out.rejected.push(rejection(e, `malformed event: ${why}`));
  }
  const isolate = async (part: AgentEvent[]): Promise<void> => {
    if (part.length === 0) return;
    try {
      merge(out, part, await apply(part));
      return;
    } catch (err) {
      if (!isDataError(err)) throw err;
      if (part.length > 1) {
        const half = Math.ceil(part.length / 2);
        await isolate(part.slice(0, half));
        await isolate(part.slice(half));
        return;
      }
      const e = part[0] as AgentEvent;
      const reason = describe(err);
      out.rejected.push(rejection(e, reason));
      if (e.kind === 'log') return;
      const instead: AgentEvent =
        e.kind === 'started' ? { kind: 'started', runId: e.runId, token: e.token, at: now() } : failedInstead(e, reason, now());
      try {
        merge(out, [instead], await apply([instead]));
      } catch (again) {
        // Even the stand-in cannot be applied (the run id itself is unusable): the rejection is all there is.
        if (!isDataError(again)) throw again;
      }
    }
  };
  await isolate(wellFormed);
  return out;
}
