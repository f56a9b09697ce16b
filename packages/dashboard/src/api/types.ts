// The shapes the dashboard reads from the REST API (see /openapi.json), only the fields it uses.

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: Array<{ field: string; message: string }>;
}

export interface Page<T> {
  items: T[];
  total: number;
  nextCursor: string | null;
}

export interface Capacity {
  slots: number;
  cpu: number;
  memoryBytes: number;
}

export interface Agent {
  id: string;
  name: string;
  version: string;
  state: string;
  attributes: Record<string, string | number>;
  labels: Record<string, string>;
  executors: string[];
  total: Capacity;
  free: Capacity;
  usage: { cpuPercent: number; load1: number; memoryUsedBytes: number; slotsUsed: number } | null;
  lastHeartbeatAt: string;
  drainDeadline: string | null;
  runningRuns: number;
}

export interface AgentMetricPoint {
  at: string;
  cpuPercent: number;
  memoryUsedBytes: number;
  slotsUsed: number;
}

export interface FleetSummary {
  agents: { total: number; byState: Record<string, number> };
  capacity: { total: Capacity; free: Capacity };
}

export interface Alerts {
  agentsDown: Array<{ id: string; name: string; lastHeartbeatAt: string; downSince: string | null }>;
  runsLost: { since: string; count: number; recent: Array<{ runId: string; jobId: string; jobName: string | null; at: string }> };
  unplaceable: Array<{ jobId: string; jobName: string | null; reason: string; queued: number; oldestQueuedAt: string | null }>;
}

export interface Job {
  id: string;
  name: string;
  description?: string;
  executor: { type: string } & Record<string, unknown>;
  schedule?: Record<string, unknown>;
  parameters?: Record<string, string>;
  pausedAt: string | null;
  createdAt: string;
  updatedAt: string;
  [field: string]: unknown;
}

export interface JobSummary {
  jobId: string;
  name: string;
  schedule: { description: string; timezone: string; paused: boolean; nextFireAt: string | null; nextFireLocal: string | null } | null;
  lastRun: { id: string; state: string; finishedAt: string | null } | null;
  recentFinished: number;
  successRate: number | null;
}

export interface Run {
  id: string;
  jobId: string;
  state: string;
  priority: number;
  trigger: string;
  parameters: Record<string, string>;
  attempt: number;
  agentId: string | null;
  queueReason: string | null;
  skipReason: string | null;
  fireAt: string | null;
  notBefore: string | null;
  exitCode: number | null;
  signal: string | null;
  error: string | null;
  durationMs: number | null;
  cpuTimeMs: number | null;
  peakMemoryBytes: number | null;
  httpStatus: number | null;
  outputBytes: number | null;
  droppedBytes: number | null;
  violatedAt: string | null;
  cancelRequestedAt: string | null;
  createdAt: string;
  queuedAt: string | null;
  offeredAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface Attempt {
  attempt: number;
  agentId: string | null;
  outcome: string;
  offeredAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  exitCode: number | null;
  signal: string | null;
  httpStatus: number | null;
  error: string | null;
  durationMs: number | null;
  cpuTimeMs: number | null;
  peakMemoryBytes: number | null;
  violatedAt: string | null;
  outputBytes: number | null;
  retryAt: string | null;
}

export interface Transition {
  from: string | null;
  to: string;
  agentId: string | null;
  reason: string | null;
  at: string;
}

export type RunDetail = Run & { attempts: Attempt[]; transitions: Transition[] };

export interface LogChunk {
  attempt: number;
  seq: number;
  stream: 'stdout' | 'stderr';
  data: string;
  at: string;
}

export interface DeadLetter {
  runId: string;
  jobId: string;
  jobName: string;
  attempt: number;
  state: string;
  reason: string;
  createdAt: string;
  resolvedAt: string | null;
  resolution: 'replayed' | 'dismissed' | null;
}

export interface LatencySummary {
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

export interface SchedulerStats {
  since: string;
  until: string;
  fires: number;
  late: number;
  skipped: number;
  waiting: number;
  dueToQueued: LatencySummary;
  dueToStarted: LatencySummary;
  series: Array<{ at: string; fires: number; late: number; skipped: number }>;
}
