// How a run row looks to API users.
import type { RunState } from '@drover/shared';
import type { RunsTable } from './schema.js';
import type { Selectable } from 'kysely';

/** A run as the API shows it. */
export interface Run {
  id: string;
  jobId: string;
  state: RunState;
  priority: number;
  trigger: string;
  parameters: Record<string, string>;
  attempt: number;
  attemptToken: number;
  agentId: string | null;
  queueReason: string | null;
  /** Why a `skipped` run did not run (overlap or catch-up policy). */
  skipReason: string | null;
  /** The schedule fire this run is for, if any. */
  fireAt: string | null;
  /** A delayed run stays `pending` until then. */
  notBefore: string | null;
  exitCode: number | null;
  signal: string | null;
  error: string | null;
  durationMs: number | null;
  cpuTimeMs: number | null;
  peakMemoryBytes: number | null;
  /** The response status of the last `http` attempt. */
  httpStatus: number | null;
  /** Output the last attempt produced, and how much of it was dropped beyond the job's logLimit. */
  outputBytes: number | null;
  droppedBytes: number | null;
  /** The last attempt's last lines of output, for a quick look without reading the logs. */
  lastLines: string[];
  /** When the current attempt ran past the job's expectedRunTime. */
  violatedAt: string | null;
  /** When a cancel was asked while the run was on an agent. */
  cancelRequestedAt: string | null;
  createdAt: string;
  queuedAt: string | null;
  offeredAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

export type RunRow = Selectable<RunsTable>;

export const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

/** Maps a database row to the API shape. */
export function toRun(r: RunRow): Run {
  return {
    id: r.id,
    jobId: r.job_id,
    state: r.state as RunState,
    priority: r.priority,
    trigger: r.trigger,
    parameters: r.parameters as unknown as Record<string, string>,
    attempt: r.attempt,
    attemptToken: Number(r.attempt_token),
    agentId: r.agent_id,
    queueReason: r.queue_reason,
    skipReason: r.skip_reason,
    fireAt: iso(r.fire_at),
    notBefore: iso(r.not_before),
    exitCode: r.exit_code,
    signal: r.signal,
    error: r.error,
    durationMs: r.duration_ms,
    cpuTimeMs: r.cpu_time_ms,
    peakMemoryBytes: r.peak_memory_bytes === null ? null : Number(r.peak_memory_bytes),
    httpStatus: r.http_status,
    outputBytes: r.output_bytes === null ? null : Number(r.output_bytes),
    droppedBytes: r.dropped_bytes === null ? null : Number(r.dropped_bytes),
    lastLines: (r.last_lines as unknown as string[] | null) ?? [],
    violatedAt: iso(r.violated_at),
    cancelRequestedAt: iso(r.cancel_requested_at),
    createdAt: iso(r.created_at) as string,
    queuedAt: iso(r.queued_at),
    offeredAt: iso(r.offered_at),
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
  };
}

/** The API view of a run just created, without reading it back. */
export function newRunView(r: {
  id: string;
  jobId: string;
  state: RunState;
  priority: number;
  trigger: string;
  parameters: Record<string, string>;
  createdAt: number;
  fireAt?: number;
  notBefore?: number;
  reason?: string;
}): Run {
  const at = new Date(r.createdAt).toISOString();
  return {
    id: r.id,
    jobId: r.jobId,
    state: r.state,
    priority: r.priority,
    trigger: r.trigger,
    parameters: r.parameters,
    attempt: 0,
    attemptToken: 0,
    agentId: null,
    queueReason: r.state === 'pending' ? (r.reason ?? null) : null,
    skipReason: r.state === 'skipped' ? (r.reason ?? null) : null,
    fireAt: r.fireAt === undefined ? null : new Date(r.fireAt).toISOString(),
    notBefore: r.notBefore === undefined ? null : new Date(r.notBefore).toISOString(),
    exitCode: null,
    signal: null,
    error: null,
    durationMs: null,
    cpuTimeMs: null,
    peakMemoryBytes: null,
    httpStatus: null,
    outputBytes: null,
    droppedBytes: null,
    lastLines: [],
    violatedAt: null,
    cancelRequestedAt: null,
    createdAt: at,
    queuedAt: r.state === 'queued' ? at : null,
    offeredAt: null,
    startedAt: null,
    finishedAt: r.state === 'skipped' ? at : null,
  };
}
