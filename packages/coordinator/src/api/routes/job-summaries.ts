// /v1/job-summaries: per job, what a list of jobs shows beside the definition — the schedule
// in words and its next fire in the job's zone, the last outcome and the recent success rate.
import { Type } from '@sinclair/typebox';
import { compileSchedule, describeSchedule, formatInZone, type JobDefinition } from '@drover/shared';
import { invalidInput } from '../../domain-error.js';
import { jobSummaries, SUCCESS_RATE_WINDOW, type JobSummaryRow } from '../../store/job-summaries.js';
import { jobIdsInNamespaces } from '../../store/jobs.js';
import { defineOperation, type AnyOperation } from '../operation.js';

const MAX_IDS = 1000;
const NullableString = Type.Union([Type.String(), Type.Null()]);

const JobSummarySchema = Type.Object(
  {
    jobId: Type.String(),
    name: Type.String(),
    schedule: Type.Union([
      Type.Object({
        description: Type.String({ description: 'The schedule in words.' }),
        timezone: Type.String(),
        paused: Type.Boolean(),
        nextFireAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
        nextFireLocal: Type.Union([Type.String({ description: "The next fire in the schedule's zone." }), Type.Null()]),
      }),
      Type.Null(),
    ]),
    lastRun: Type.Union([Type.Object({ id: Type.String(), state: Type.String(), finishedAt: NullableString }), Type.Null()], {
      description: 'The most recent run with an outcome (skipped and cancelled runs are not outcomes).',
    }),
    latestRun: Type.Union(
      [
        Type.Object({
          id: Type.String(),
          state: Type.String(),
          createdAt: Type.String({ format: 'date-time' }),
          finishedAt: NullableString,
        }),
        Type.Null(),
      ],
      { description: 'The most recent run whatever its state (queued and running ones included); null when the job never ran.' },
    ),
    recentFinished: Type.Integer({ description: `Finished runs counted, at most the last ${SUCCESS_RATE_WINDOW}.` }),
    successRate: Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()], {
      description: 'Share of those that succeeded; null when none finished.',
    }),
  },
  { $id: 'JobSummary' },
);

function toSummary(r: JobSummaryRow) {
  const spec = (r.definition as JobDefinition).schedule;
  let schedule = null;
  if (spec) {
    // A stored schedule was valid when saved; a definition that no longer compiles (older
    // rules) still gets its row, with the words left plain.
    let description = 'invalid schedule';
    let timezone = spec.timezone ?? 'UTC';
    try {
      const compiled = compileSchedule(spec);
      description = describeSchedule(compiled);
      timezone = compiled.timezone;
    } catch {
      /* keep the plain words */
    }
    schedule = {
      description,
      timezone,
      paused: r.pausedAt !== null,
      nextFireAt: r.nextFireAt,
      nextFireLocal: r.nextFireAt ? formatInZone(Date.parse(r.nextFireAt), timezone) : null,
    };
  }
  return {
    jobId: r.jobId,
    name: r.name,
    schedule,
    lastRun: r.lastRun,
    latestRun: r.latestRun,
    recentFinished: r.recent.finished,
    successRate: r.recent.finished === 0 ? null : Number((r.recent.succeeded / r.recent.finished).toFixed(4)),
  };
}

const listJobSummaries = defineOperation({
  operationId: 'listJobSummaries',
  method: 'GET',
  path: '/v1/job-summaries',
  summary: `Summaries of the given jobs: schedule in words and next fire, last outcome, success rate of the last ${SUCCESS_RATE_WINDOW} finished runs`,
  tags: ['jobs'],
  access: 'read',
  query: Type.Object(
    { ids: Type.String({ description: `Comma-separated job ids (at most ${MAX_IDS}), e.g. those of a GET /v1/jobs page.` }) },
    { additionalProperties: false },
  ),
  responses: { 200: Type.Object({ items: Type.Array(JobSummarySchema) }) },
  errors: ['VALIDATION_FAILED'],
  handler: async ({ query }, caller, ctx) => {
    const ids = [
      ...new Set(
        query.ids
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      ),
    ];
    if (ids.length > MAX_IDS) throw invalidInput([{ field: 'ids', message: `names ${ids.length} jobs; at most ${MAX_IDS} per request` }]);
    let visible = ids;
    const scope = caller.principal.namespaces;
    if (scope !== 'all' && ids.length > 0) {
      // Another namespace's job is left out, as an unknown id is.
      const ok = await jobIdsInNamespaces(ctx.db, ids, scope.length > 0 ? scope : ['']);
      visible = ids.filter((id) => ok.has(id));
    }
    const rows = await jobSummaries(ctx.db, visible);
    const byId = new Map(rows.map((r) => [r.jobId, r]));
    // In the order asked, unknown or deleted ids left out.
    return { status: 200, body: { items: ids.flatMap((id) => (byId.has(id) ? [toSummary(byId.get(id) as JobSummaryRow)] : [])) } };
  },
});

/** The job-summary operations (the dashboard's job list reads them). */
export const jobSummaryOperations: readonly AnyOperation[] = [listJobSummaries];
