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
  exitCode: number | null;
  signal: string | null;
  error: string | null;
  durationMs: number | null;
  cpuTimeMs: number | null;
  peakMemoryBytes: number | null;
  createdAt: string;
  queuedAt: string | null;
  offeredAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

export type RunRow = Selectable<RunsTable>;

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

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
    exitCode: r.exit_code,
    signal: r.signal,
    error: r.error,
    durationMs: r.duration_ms,
    cpuTimeMs: r.cpu_time_ms,
    peakMemoryBytes: r.peak_memory_bytes === null ? null : Number(r.peak_memory_bytes),
    createdAt: iso(r.created_at) as string,
    queuedAt: iso(r.queued_at),
    offeredAt: iso(r.offered_at),
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
  };
}
