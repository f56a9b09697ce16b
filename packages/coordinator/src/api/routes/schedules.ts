// Schedules: pause and resume a job's schedule, preview fire times, scheduler statistics.
import { Type } from '@sinclair/typebox';
import {
  parseInstant,
  compileSchedule,
  describeSchedule,
  firesBetween,
  formatInZone,
  parseDuration,
  validateSchedule,
  ScheduleSchema,
  type ScheduleSpec,
} from '@drover/shared';
import { DomainError, invalidInput, notFound } from '../../domain-error.js';
import { pauseJob, resumeJob } from '../../ops/schedule-sync.js';
import { schedulerStats } from '../../store/scheduler-stats.js';
import { defineOperation, type AnyOperation } from '../operation.js';
import { findJobIn, requireJob } from '../require.js';
import { JobSchema, SchedulerStatsSchema } from '../schemas.js';

const MAX_PREVIEW = 1000;

function parseFrom(from: string | undefined, now: number, field = 'from'): number {
  if (from === undefined) return now;
  // An offset is required: a bare local time would mean different instants on different hosts.
  const ms = parseInstant(from);
  if (ms === undefined)
    throw invalidInput([{ field, message: `"${from}" is not an ISO 8601 instant with an offset or Z, e.g. 2026-03-29T00:00:00Z` }]);
  return ms;
}

/** The next `n` fires after `from`, in the schedule's zone and in UTC. */
function preview(spec: ScheduleSpec, next: number, from: number) {
  const errors = validateSchedule(spec, 'schedule');
  if (errors.length > 0) throw invalidInput(errors);
  const compiled = compileSchedule(spec);
  const fires = firesBetween(compiled, from - 1, Number.MAX_SAFE_INTEGER, next);
  return {
    description: describeSchedule(spec),
    timezone: compiled.timezone,
    from: new Date(from).toISOString(),
    fires: fires.map((f) => ({ utc: new Date(f).toISOString(), local: formatInZone(f, compiled.timezone) })),
  };
}

const PreviewSchema = Type.Object({
  description: Type.String(),
  timezone: Type.String(),
  from: Type.String({ format: 'date-time' }),
  fires: Type.Array(Type.Object({ utc: Type.String({ format: 'date-time' }), local: Type.String() })),
});

/** Pausing or resuming a job's schedule: the same operation but for its verb. */
const pauseOrResume = (action: 'pause' | 'resume') =>
  defineOperation({
    operationId: action === 'pause' ? 'pauseJob' : 'resumeJob',
    method: 'POST',
    path: `/v1/jobs/{id}/${action}`,
    summary:
      action === 'pause'
        ? "Pause a job's schedule (its fires are missed until resumed)"
        : "Resume a job's schedule; missed fires follow its catch-up policy",
    tags: ['schedules'],
    access: 'operate',
    params: Type.Object({ id: Type.String() }),
    responses: { 200: JobSchema },
    errors: ['NOT_FOUND'],
    handler: async ({ params: { id } }, caller, ctx) => {
      const job = await requireJob(ctx.db, id, caller);
      const updated = action === 'pause' ? await pauseJob(ctx, job.id) : await resumeJob(ctx, job.id);
      if (!updated) throw notFound('job', id);
      return { status: 200, body: updated };
    },
  });

const getJobSchedule = defineOperation({
  operationId: 'getJobSchedule',
  method: 'GET',
  path: '/v1/jobs/{id}/schedule',
  summary: "Preview a job's next fire times, in its time zone and in UTC",
  tags: ['schedules'],
  access: 'read',
  params: Type.Object({ id: Type.String() }),
  query: Type.Object(
    {
      next: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PREVIEW, default: 10 })),
      from: Type.Optional(Type.String({ description: 'ISO instant; default now.' })),
    },
    { additionalProperties: false },
  ),
  responses: { 200: Type.Intersect([PreviewSchema, Type.Object({ paused: Type.Boolean() })]) },
  errors: ['NOT_FOUND', 'JOB_HAS_NO_SCHEDULE'],
  handler: async ({ params: { id }, query }, caller, ctx) => {
    const job = await requireJob(ctx.db, id, caller);
    const spec = (job as { schedule?: ScheduleSpec }).schedule;
    if (!spec)
      throw new DomainError(
        'JOB_HAS_NO_SCHEDULE',
        `job "${job.name}" has no schedule; add one with PATCH /v1/jobs/${job.id} {"schedule": {...}}`,
      );
    return { status: 200, body: { ...preview(spec, query.next ?? 10, parseFrom(query.from, ctx.now())), paused: job.pausedAt !== null } };
  },
});

const previewSchedule = defineOperation({
  operationId: 'previewSchedule',
  method: 'POST',
  path: '/v1/schedules/preview',
  summary: 'Preview the fire times of a schedule before saving it',
  tags: ['schedules'],
  access: 'read',
  body: Type.Object(
    {
      schedule: ScheduleSchema,
      next: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PREVIEW, default: 10 })),
      from: Type.Optional(Type.String()),
    },
    { additionalProperties: false },
  ),
  // The schedule is checked by the shared validator, which names the offending field.
  bodyCheckedByHandler: true,
  responses: { 200: PreviewSchema },
  errors: ['VALIDATION_FAILED'],
  handler: async ({ body: unchecked }, _caller, ctx) => {
    const body: { schedule?: unknown; next?: unknown; from?: unknown } = unchecked ?? {};
    if (typeof body !== 'object' || body.schedule === undefined)
      throw invalidInput([{ field: 'schedule', message: 'is required, e.g. { "cron": "0 2 * * *", "timezone": "Europe/Rome" }' }]);
    const next = body.next === undefined ? 10 : Number(body.next);
    if (!Number.isInteger(next) || next < 1 || next > MAX_PREVIEW)
      throw invalidInput([{ field: 'next', message: `must be a whole number from 1 to ${MAX_PREVIEW}` }]);
    if (body.from !== undefined && typeof body.from !== 'string')
      throw invalidInput([{ field: 'from', message: 'must be an ISO 8601 instant' }]);
    return { status: 200, body: preview(body.schedule as ScheduleSpec, next, parseFrom(body.from, ctx.now())) };
  },
});

const getSchedulerStats = defineOperation({
  operationId: 'getSchedulerStats',
  method: 'GET',
  path: '/v1/scheduler/stats',
  summary: 'Scheduler statistics over a time range: fires, late and skipped fires, lateness (due → queued, due → started)',
  tags: ['schedules'],
  access: 'read',
  query: Type.Object(
    {
      since: Type.Optional(Type.String({ description: 'ISO instant, or a duration back from now ("1h"); default 1h.' })),
      until: Type.Optional(Type.String({ description: 'ISO instant; default now.' })),
      job: Type.Optional(Type.String({ description: 'Job id or name.' })),
      bucket: Type.Optional(Type.Union([Type.Literal('minute'), Type.Literal('hour'), Type.Literal('day')], { default: 'minute' })),
    },
    { additionalProperties: false },
  ),
  responses: { 200: SchedulerStatsSchema },
  errors: ['VALIDATION_FAILED'],
  handler: async ({ query }, caller, ctx) => {
    const now = ctx.now();
    const back = query.since === undefined ? 3_600_000 : parseDuration(query.since);
    const since = back !== undefined ? now - back : parseFrom(query.since, now, 'since');
    const until = parseFrom(query.until, now, 'until');
    if (since >= until) throw invalidInput([{ field: 'since', message: `must be before until (${new Date(until).toISOString()})` }]);
    let jobId: string | undefined;
    if (query.job) {
      const job = await findJobIn(ctx.db, query.job, caller.principal.namespaces);
      if (!job) throw invalidInput([{ field: 'job', message: `no job with id or name ${JSON.stringify(query.job)}` }]);
      jobId = job.id;
    }
    return { status: 200, body: await schedulerStats(ctx.db, since, until, query.bucket ?? 'minute', jobId, caller.principal.namespaces) };
  },
});

/** The schedule operations, in the order the API registers them. */
export const scheduleOperations: readonly AnyOperation[] = [
  pauseOrResume('pause'),
  pauseOrResume('resume'),
  getJobSchedule,
  previewSchedule,
  getSchedulerStats,
];
