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

export const iso = (date: Date | string | null): string | null => (date === null ? null : new Date(date).toISOString());

/** Maps a database row to the API shape. */
export function toRun(row: RunRow): Run {
  return {
    id: row.id,
    jobId: row.job_id,
    state: row.state as RunState,
    priority: row.priority,
    trigger: row.trigger,
    parameters: row.parameters as unknown as Record<string, string>,
    attempt: row.attempt,
    attemptToken: Number(row.attempt_token),
    agentId: row.agent_id,
    queueReason: row.queue_reason,
    skipReason: row.skip_reason,
    fireAt: iso(row.fire_at),
    notBefore: iso(row.not_before),
    exitCode: row.exit_code,
    signal: row.signal,
    error: row.error,
    durationMs: row.duration_ms,
    cpuTimeMs: row.cpu_time_ms,
    peakMemoryBytes: row.peak_memory_bytes === null ? null : Number(row.peak_memory_bytes),
    httpStatus: row.http_status,
    outputBytes: row.output_bytes === null ? null : Number(row.output_bytes),
    droppedBytes: row.dropped_bytes === null ? null : Number(row.dropped_bytes),
    lastLines: (row.last_lines as unknown as string[] | null) ?? [],
    violatedAt: iso(row.violated_at),
    cancelRequestedAt: iso(row.cancel_requested_at),
    createdAt: iso(row.created_at) as string,
    queuedAt: iso(row.queued_at),
    offeredAt: iso(row.offered_at),
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
  };
}

/** The API view of a run just created, without reading it back. */
export function newRunView(row: {
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
  const at = new Date(row.createdAt).toISOString();
  return {
    id: row.id,
    jobId: row.jobId,
    state: row.state,
    priority: row.priority,
    trigger: row.trigger,
    parameters: row.parameters,
    attempt: 0,
    attemptToken: 0,
    agentId: null,
    queueReason: row.state === 'pending' ? (row.reason ?? null) : null,
    skipReason: row.state === 'skipped' ? (row.reason ?? null) : null,
    fireAt: row.fireAt === undefined ? null : new Date(row.fireAt).toISOString(),
    notBefore: row.notBefore === undefined ? null : new Date(row.notBefore).toISOString(),
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
    queuedAt: row.state === 'queued' ? at : null,
    offeredAt: null,
    startedAt: null,
    finishedAt: row.state === 'skipped' ? at : null,
  };
}
