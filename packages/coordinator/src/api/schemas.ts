// Schemas of API responses and requests, for validation and the OpenAPI document.
import { Type } from '@sinclair/typebox';
import { JobDefinitionSchema, RUN_STATES } from '@drover/shared';

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
const NullableNumber = Type.Union([Type.Number(), Type.Null()]);

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    /** A stable name of the problem where one helps a client decide (e.g. `STORE_UNAVAILABLE`: retry). */
    code: Type.Optional(Type.String()),
    detail: Type.String(),
    instance: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
  },
  { $id: 'Problem' },
);

export const JobSchema = Type.Intersect(
  [
    JobDefinitionSchema,
    Type.Object({
      id: Type.String(),
      createdAt: Type.String({ format: 'date-time' }),
      updatedAt: Type.String({ format: 'date-time' }),
      pausedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'Set while the schedule is paused.' }),
      version: Type.Integer({ description: '1 when created, one more on every change (definition, pause, deletion).' }),
    }),
  ],
  { $id: 'Job' },
);

export const RunStateSchema = Type.Union(RUN_STATES.map((s) => Type.Literal(s)));

export const RunSchema = Type.Object(
  {
    id: Type.String({ description: 'A ULID; sorts by creation time.' }),
    jobId: Type.String(),
    state: RunStateSchema,
    priority: Type.Integer(),
    trigger: Type.String(),
    parameters: Type.Record(Type.String(), Type.String()),
    attempt: Type.Integer({ description: 'The number of the current (or last) attempt; 0 before the first.' }),
    attemptToken: Type.Integer({ description: 'Grows on every dispatch; messages quoting an older token are ignored.' }),
    agentId: Nullable(Type.String()),
    queueReason: Nullable(Type.String({ description: 'Why a queued or pending run is not running yet.' })),
    skipReason: Nullable(Type.String({ description: 'Why a skipped run did not run (overlap or catch-up policy).' })),
    fireAt: Nullable(Type.String({ description: 'The schedule fire this run is for.' })),
    notBefore: Nullable(Type.String({ description: 'A delayed run stays pending until this time.' })),
    exitCode: NullableNumber,
    signal: Nullable(Type.String()),
    error: Nullable(Type.String()),
    durationMs: NullableNumber,
    cpuTimeMs: NullableNumber,
    peakMemoryBytes: NullableNumber,
    httpStatus: NullableNumber,
    outputBytes: Type.Union([Type.Number(), Type.Null()], { description: 'Output bytes the last attempt produced, kept or not.' }),
    droppedBytes: Type.Union([Type.Number(), Type.Null()], { description: "Output bytes dropped beyond the job's logLimit." }),
    lastLines: Type.Array(Type.String(), { description: "The last attempt's last lines of output (at most 20)." }),
    violatedAt: Nullable(Type.String({ description: "When the current attempt ran past the job's expectedRunTime." })),
    cancelRequestedAt: Nullable(Type.String({ description: 'When a cancel was asked while the run was on an agent.' })),
    createdAt: Type.String({ format: 'date-time' }),
    queuedAt: Nullable(Type.String()),
    offeredAt: Nullable(Type.String()),
    startedAt: Nullable(Type.String()),
    finishedAt: Nullable(Type.String()),
  },
  { $id: 'Run', additionalProperties: true },
);

export const TransitionSchema = Type.Object({
  from: Nullable(Type.String()),
  to: Type.String(),
  attemptToken: Type.Integer(),
  agentId: Nullable(Type.String()),
  reason: Nullable(Type.String()),
  at: Type.String({ format: 'date-time' }),
});

/** A report event its agent sent for the run that the coordinator could not apply (store/isolate-events.ts). */
export const RejectedEventSchema = Type.Object({
  kind: Type.String({ description: 'started, log or finished (or what a malformed event said).' }),
  token: Type.Union([Type.Integer({ description: 'The attempt token the event quoted.' }), Type.Null()]),
  seq: Type.Union([Type.Integer({ description: "A log chunk's seq." }), Type.Null()]),
  agentId: Type.String(),
  reason: Type.String({ description: 'Why it could not be applied. A rejected result still ended its attempt, failed.' }),
  at: Type.String({ format: 'date-time' }),
});

export const AttemptSchema = Type.Object(
  {
    attempt: Type.Integer(),
    attemptToken: Type.Integer(),
    agentId: Nullable(Type.String()),
    outcome: Type.String({ description: 'succeeded, failed, timed_out, cancelled or lost; "running" for the attempt under way.' }),
    offeredAt: Nullable(Type.String()),
    startedAt: Nullable(Type.String()),
    finishedAt: Nullable(Type.String()),
    exitCode: NullableNumber,
    signal: Nullable(Type.String()),
    httpStatus: NullableNumber,
    error: Nullable(Type.String()),
    durationMs: NullableNumber,
    cpuTimeMs: NullableNumber,
    peakMemoryBytes: NullableNumber,
    violatedAt: Nullable(Type.String()),
    outputBytes: NullableNumber,
    droppedBytes: NullableNumber,
    lastLines: Type.Array(Type.String()),
    retryAt: Nullable(Type.String({ description: 'When the next attempt was due, if this one was retried.' })),
  },
  { $id: 'Attempt' },
);

export const DeadLetterSchema = Type.Object(
  {
    runId: Type.String(),
    jobId: Type.String(),
    jobName: Type.String(),
    attempt: Type.Integer({ description: 'The attempt that exhausted the retries.' }),
    state: RunStateSchema,
    reason: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
    resolvedAt: Nullable(Type.String()),
    resolution: Type.Union([Type.Literal('replayed'), Type.Literal('dismissed'), Type.Null()]),
  },
  { $id: 'DeadLetter' },
);

export const CapacitySchema = Type.Object({ slots: Type.Number(), cpu: Type.Number(), memoryBytes: Type.Number() });

/** An agent's last heartbeat reading (shared AgentUsage); also the fields of each history point. */
const usageFields = {
  cpuPercent: Type.Number({ description: 'CPU busy across all cores, 0-100.' }),
  load1: Type.Number({ description: 'One-minute load average.' }),
  memoryUsedBytes: Type.Number(),
  slotsUsed: Type.Number({ description: 'Slots held by runs (a per-minute average in the history).' }),
};

export const AgentUsageSchema = Type.Object(usageFields, { $id: 'AgentUsage' });

export const AgentSchema = Type.Object(
  {
    id: Type.String(),
    nodeId: Type.String(),
    name: Type.String(),
    version: Type.String(),
    protocol: Type.Integer(),
    state: Type.String({ description: 'ready | draining | cordoned | down (silent) | left (stopped cleanly) | gone' }),
    attributes: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number()])),
    labels: Type.Record(Type.String(), Type.String()),
    executors: Type.Array(Type.String()),
    total: CapacitySchema,
    free: CapacitySchema,
    usage: Type.Union([AgentUsageSchema, Type.Null()], { description: 'Its last heartbeat reading; null before the first.' }),
    registeredAt: Type.String({ format: 'date-time' }),
    lastHeartbeatAt: Type.String({ format: 'date-time' }),
    drainDeadline: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
      description: 'While draining with a deadline: when the runs still on the agent are taken back.',
    }),
    namespaces: Type.Optional(
      Type.Union([Type.Array(Type.String()), Type.Null()], {
        description: 'The job namespaces it is offered runs of (its join token, narrowed by its own setting); null: any.',
      }),
    ),
    revokedAt: Type.Optional(
      Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
        description: 'When an admin revoked it; it must join again with a new join token.',
      }),
    ),
  },
  { $id: 'Agent', additionalProperties: true },
);

/** GET /v1/agents/:id/metrics: per-minute averages of its heartbeats (see store/agents.ts agentMetrics). */
export const AgentMetricsSchema = Type.Object(
  {
    agentId: Type.String(),
    since: Type.String({ format: 'date-time' }),
    points: Type.Array(
      Type.Object({
        at: Type.String({ format: 'date-time', description: 'The minute.' }),
        samples: Type.Integer({ description: 'Heartbeats averaged into it.' }),
        ...usageFields,
      }),
    ),
  },
  { $id: 'AgentMetrics' },
);

const LatencySummarySchema = Type.Object(
  { p50Ms: NullableNumber, p90Ms: NullableNumber, p99Ms: NullableNumber, maxMs: NullableNumber },
  { description: 'Milliseconds after the fire was due; null without fires.' },
);

/** GET /v1/scheduler/stats (see store/scheduler-stats.ts). */
export const SchedulerStatsSchema = Type.Object(
  {
    since: Type.String({ format: 'date-time' }),
    until: Type.String({ format: 'date-time' }),
    fires: Type.Integer(),
    late: Type.Integer({ description: 'Fires queued more than a second after they were due.' }),
    skipped: Type.Integer(),
    waiting: Type.Integer({ description: 'Fires whose runs are still pending.' }),
    dueToQueued: LatencySummarySchema,
    dueToStarted: LatencySummarySchema,
    series: Type.Array(
      Type.Object({ at: Type.String({ format: 'date-time' }), fires: Type.Integer(), late: Type.Integer(), skipped: Type.Integer() }),
      { description: 'Per-bucket counts, oldest first.' },
    ),
  },
  { $id: 'SchedulerStats' },
);

/** GET /v1/fleet: the fleet at a glance (see store/fleet-summary.ts). */
export const FleetSummarySchema = Type.Object(
  {
    agents: Type.Object({ total: Type.Integer(), byState: Type.Record(Type.String(), Type.Integer()) }),
    capacity: Type.Object(
      { total: CapacitySchema, free: CapacitySchema },
      { description: 'Capacity of the agents that are up (ready, draining, cordoned); free counts ready agents only.' },
    ),
    byLabel: Type.Array(Type.Object({ label: Type.String(), agents: Type.Integer(), total: CapacitySchema, free: CapacitySchema })),
    down: Type.Array(Type.Object({ id: Type.String(), name: Type.String(), lastHeartbeatAt: Type.String({ format: 'date-time' }) })),
    runsLostLastHour: Type.Integer(),
  },
  { $id: 'FleetSummary' },
);

export const LogChunkSchema = Type.Object({
  attempt: Type.Integer(),
  seq: Type.Integer(),
  stream: Type.Union([Type.Literal('stdout'), Type.Literal('stderr')]),
  data: Type.String({ description: 'The output: text when it is valid UTF-8, else its base64 (see encoding).' }),
  encoding: Type.Optional(Type.Literal('base64', { description: 'Present when data is base64: the output is not valid UTF-8.' })),
  at: Type.String({ format: 'date-time' }),
});

export const TriggerSchema = Type.Object(
  {
    parameters: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }), Type.String())),
    priority: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
    delay: Type.Optional(Type.String({ description: 'Start no earlier than this long from now, e.g. "10m"; the run waits as pending.' })),
  },
  { additionalProperties: false },
);

export const MAX_BATCH_RUNS = 10_000;

export const BatchSchema = Type.Object(
  {
    runs: Type.Array(
      Type.Object(
        {
          job: Type.String({ minLength: 1, description: 'Job id or name.' }),
          parameters: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }), Type.String())),
          priority: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
          count: Type.Optional(
            Type.Integer({ minimum: 1, maximum: MAX_BATCH_RUNS, description: 'Enqueue this many identical runs (default 1).' }),
          ),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: MAX_BATCH_RUNS },
    ),
  },
  { additionalProperties: false },
);

export const pageOf = <T extends ReturnType<typeof Type.Object> | ReturnType<typeof Type.Intersect>>(item: T) =>
  Type.Object({ items: Type.Array(item), total: Type.Integer(), nextCursor: Type.Union([Type.String(), Type.Null()]) });
