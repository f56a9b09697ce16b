// Schedules: pause and resume a job's schedule, preview fire times, scheduler statistics.
import type { FastifyInstance } from 'fastify';
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
import type { CoordinatorContext } from '../../context.js';
import { pauseJob, resumeJob } from '../../ops/schedule-sync.js';
import { schedulerStats } from '../../store/scheduler-stats.js';
import { HttpProblem, badRequest, notFound } from '../problem.js';
import { findJobIn, requireJob } from '../require.js';
import { JobSchema, ProblemSchema, SchedulerStatsSchema } from '../schemas.js';

const MAX_PREVIEW = 1000;

function parseFrom(from: string | undefined, now: number, field = 'from'): number {
  if (from === undefined) return now;
  // An offset is required: a bare local time would mean different instants on different hosts.
  const ms = parseInstant(from);
  if (ms === undefined)
    throw badRequest([{ field, message: `"${from}" is not an ISO 8601 instant with an offset or Z, e.g. 2026-03-29T00:00:00Z` }]);
  return ms;
}

/** The next `n` fires after `from`, in the schedule's zone and in UTC. */
function preview(spec: ScheduleSpec, next: number, from: number) {
  const errors = validateSchedule(spec, 'schedule');
  if (errors.length > 0) throw badRequest(errors);
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

export async function scheduleRoutes(app: FastifyInstance, ctx: CoordinatorContext): Promise<void> {
  for (const action of ['pause', 'resume'] as const) {
    app.post(
      `/v1/jobs/:id/${action}`,
      {
        config: { access: 'operate' },
        schema: {
          summary:
            action === 'pause'
              ? "Pause a job's schedule (its fires are missed until resumed)"
              : "Resume a job's schedule; missed fires follow its catch-up policy",
          tags: ['schedules'],
          params: Type.Object({ id: Type.String() }),
          response: { 200: JobSchema, 404: ProblemSchema },
        },
      },
      async (req) => {
        const { id } = req.params as { id: string };
        const job = await requireJob(ctx.db, id, req);
        const updated = action === 'pause' ? await pauseJob(ctx, job.id) : await resumeJob(ctx, job.id);
        if (!updated) throw notFound('job', id);
        return updated;
      },
    );
  }

  app.get(
    '/v1/jobs/:id/schedule',
    {
      config: { access: 'read' },
      schema: {
        summary: "Preview a job's next fire times, in its time zone and in UTC",
        tags: ['schedules'],
        params: Type.Object({ id: Type.String() }),
        querystring: Type.Object(
          {
            next: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PREVIEW, default: 10 })),
            from: Type.Optional(Type.String({ description: 'ISO instant; default now.' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Intersect([PreviewSchema, Type.Object({ paused: Type.Boolean() })]), 404: ProblemSchema, 409: ProblemSchema },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const q = req.query as { next?: number; from?: string };
      const job = await requireJob(ctx.db, id, req);
      const spec = (job as { schedule?: ScheduleSpec }).schedule;
      if (!spec)
        throw new HttpProblem(
          'JOB_HAS_NO_SCHEDULE',
          `job "${job.name}" has no schedule; add one with PATCH /v1/jobs/${job.id} {"schedule": {...}}`,
        );
      return { ...preview(spec, q.next ?? 10, parseFrom(q.from, ctx.now())), paused: job.pausedAt !== null };
    },
  );

  app.post(
    '/v1/schedules/preview',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Preview the fire times of a schedule before saving it',
        tags: ['schedules'],
        body: Type.Object(
          {
            schedule: ScheduleSchema,
            next: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PREVIEW, default: 10 })),
            from: Type.Optional(Type.String()),
          },
          { additionalProperties: false },
        ),
        response: { 200: PreviewSchema, 400: ProblemSchema },
      },
      // The schedule is checked by the shared validator, which names the offending field.
      validatorCompiler: () => () => true,
    },
    async (req) => {
      const body = (req.body ?? {}) as { schedule?: unknown; next?: unknown; from?: unknown };
      if (typeof body !== 'object' || body.schedule === undefined)
        throw badRequest([{ field: 'schedule', message: 'is required, e.g. { "cron": "0 2 * * *", "timezone": "Europe/Rome" }' }]);
      const next = body.next === undefined ? 10 : Number(body.next);
      if (!Number.isInteger(next) || next < 1 || next > MAX_PREVIEW)
        throw badRequest([{ field: 'next', message: `must be a whole number from 1 to ${MAX_PREVIEW}` }]);
      if (body.from !== undefined && typeof body.from !== 'string')
        throw badRequest([{ field: 'from', message: 'must be an ISO 8601 instant' }]);
      return preview(body.schedule as ScheduleSpec, next, parseFrom(body.from as string | undefined, ctx.now()));
    },
  );

  app.get(
    '/v1/scheduler/stats',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Scheduler statistics over a time range: fires, late and skipped fires, lateness (due → queued, due → started)',
        tags: ['schedules'],
        querystring: Type.Object(
          {
            since: Type.Optional(Type.String({ description: 'ISO instant, or a duration back from now ("1h"); default 1h.' })),
            until: Type.Optional(Type.String({ description: 'ISO instant; default now.' })),
            job: Type.Optional(Type.String({ description: 'Job id or name.' })),
            bucket: Type.Optional(Type.Union([Type.Literal('minute'), Type.Literal('hour'), Type.Literal('day')], { default: 'minute' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: SchedulerStatsSchema, 400: ProblemSchema },
      },
    },
    async (req) => {
      const q = req.query as { since?: string; until?: string; job?: string; bucket?: 'minute' | 'hour' | 'day' };
      const now = ctx.now();
      const back = q.since === undefined ? 3_600_000 : parseDuration(q.since);
      const since = back !== undefined ? now - back : parseFrom(q.since, now, 'since');
      const until = parseFrom(q.until, now, 'until');
      if (since >= until) throw badRequest([{ field: 'since', message: `must be before until (${new Date(until).toISOString()})` }]);
      let jobId: string | undefined;
      if (q.job) {
        const job = await findJobIn(ctx.db, q.job, req.principal.namespaces);
        if (!job) throw badRequest([{ field: 'job', message: `no job with id or name ${JSON.stringify(q.job)}` }]);
        jobId = job.id;
      }
      return schedulerStats(ctx.db, since, until, q.bucket ?? 'minute', jobId, req.principal.namespaces);
    },
  );
}
