// /v1/runs and /v1/jobs/{id}/runs: trigger runs, enqueue batches, list and read runs.
import { Type } from '@sinclair/typebox';
import { isTerminal, RUN_STATES, type RunState } from '@drover/shared';
import type { CoordinatorContext } from '../../context.js';
import { DomainError, invalidInput, notFound } from '../../domain-error.js';
import type { Job } from '../../store/jobs.js';
import { getAttempts, getRun as findRun, getTransitions, listRuns as findRuns } from '../../store/query-runs.js';
import { getRejectedEvents } from '../../store/rejected-events.js';
import { cancelRunsDetailed } from '../../ops/cancel-runs.js';
import { retryRunsByHand } from '../../ops/retry-runs.js';
import type { Run } from '../../store/run-model.js';
import { enqueueRuns, type RunRequest } from '../../ops/enqueue.js';
import { parameterErrors, triggerRun } from '../../ops/trigger.js';
import { stateList } from '../query.js';
import { findJobIn, requireJob, scopeOf, visibleRun } from '../require.js';
import { inNamespace } from '../access.js';
import { defineOperation, type AnyOperation } from '../operation.js';
import {
  AttemptSchema,
  RejectedEventSchema,
  BatchSchema,
  MAX_BATCH_RUNS,
  RunSchema,
  TransitionSchema,
  TriggerSchema,
  pageOf,
} from '../schemas.js';

const RunIdParams = Type.Object({ id: Type.String() });

/**
 * The run with this id as it is now, without a namespace check: for re-reading a run the
 * operation already found with `visibleRun`.
 */
async function runById(ctx: CoordinatorContext, id: string): Promise<Run> {
  const run = await findRun(ctx.db, id);
  if (!run) throw notFound('run', id, 'list runs with GET /v1/runs');
  return run;
}

const DEPRECATED_STATUS = { deprecation: 'true', warning: '299 - "the query parameter status is deprecated: use state"' } as const;

/**
 * The states to list: `state`, as on dead letters and in every run; `status`, its former name,
 * is still read for one release, and the answer says it is deprecated (`headers`).
 */
function stateParameter(q: { state?: string; status?: string }): { states: RunState[] | undefined; headers?: typeof DEPRECATED_STATUS } {
  if (q.status === undefined) return { states: stateList(q.state, RUN_STATES, 'state') };
  if (q.state !== undefined) throw invalidInput([{ field: 'status', message: 'give state or its deprecated name status, not both' }]);
  return { states: stateList(q.status, RUN_STATES, 'status'), headers: DEPRECATED_STATUS };
}

// JOB_NAME_AMBIGUOUS (409, a job name in several of the caller's namespaces) can come from
// triggerJob, triggerRuns and listRuns too; the published document does not list it there
// yet, and listing it changes the generated client, so it waits for a release that may.

const triggerJob = defineOperation({
  operationId: 'triggerJob',
  method: 'POST',
  path: '/v1/jobs/{id}/runs',
  summary: 'Trigger a run of a job now (or after `delay`); an Idempotency-Key header makes retries safe',
  tags: ['runs'],
  access: 'trigger',
  params: Type.Object({ id: Type.String() }),
  headers: Type.Object({
    'idempotency-key': Type.Optional(
      Type.String({ description: 'The same key and body return the same run; the same key with another body is a 422.' }),
    ),
  }),
  body: TriggerSchema,
  // A trigger without parameters needs no body at all.
  bodyDefault: {},
  responses: { 200: RunSchema, 201: RunSchema },
  errors: ['VALIDATION_FAILED', 'NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED'],
  handler: async ({ params, headers, body }, caller, ctx) => {
    // The cache answers the hot path without a query, for a job the caller may see.
    let job = ctx.jobs.cached(params.id);
    if (job && inNamespace(caller.principal, job.namespace)) caller.audit.namespace = job.namespace;
    else {
      job = await requireJob(ctx.db, params.id, caller);
      ctx.jobs.put(job);
    }
    const { run, created } = await triggerRun(ctx, job, body, headers['idempotency-key']);
    return { status: created ? 201 : 200, body: run, headers: { location: `/v1/runs/${run.id}` } };
  },
});

const triggerRuns = defineOperation({
  operationId: 'triggerRuns',
  method: 'POST',
  path: '/v1/runs/batch',
  summary: `Enqueue up to ${MAX_BATCH_RUNS} runs of one or several jobs in one request`,
  tags: ['runs'],
  access: 'trigger',
  body: BatchSchema,
  bodyLimit: 16 * 1024 * 1024,
  responses: { 201: Type.Object({ count: Type.Integer(), runs: Type.Array(Type.Object({ id: Type.String(), jobId: Type.String() })) }) },
  errors: ['VALIDATION_FAILED'],
  handler: async ({ body: { runs } }, caller, ctx) => {
    const total = runs.reduce((n, r) => n + (r.count ?? 1), 0);
    if (total > MAX_BATCH_RUNS)
      throw invalidInput([
        { field: 'runs', message: `asks for ${total} runs; at most ${MAX_BATCH_RUNS} per request — split it into several requests` },
      ]);
    const jobs = new Map<string, Job | undefined>();
    for (const r of runs) if (!jobs.has(r.job)) jobs.set(r.job, await findJobIn(ctx.db, r.job, caller.principal.namespaces));
    const missing = runs.flatMap((r, i) =>
      jobs.get(r.job) ? [] : [{ field: `runs.${i}.job`, message: `no job with id or name ${JSON.stringify(r.job)}` }],
    );
    if (missing.length > 0) throw invalidInput(missing);
    const unset = runs.flatMap((r, i) => parameterErrors(jobs.get(r.job) as Job, r.parameters, `runs.${i}.parameters`));
    if (unset.length > 0) throw invalidInput(unset);
    const requests: RunRequest[] = runs.flatMap((r) =>
      Array.from({ length: r.count ?? 1 }, () => ({
        job: jobs.get(r.job) as Job,
        parameters: r.parameters,
        priority: r.priority,
        trigger: 'batch' as const,
      })),
    );
    const created = await enqueueRuns(ctx, requests);
    return { status: 201, body: { count: created.length, runs: created.map((r) => ({ id: r.id, jobId: r.jobId })) } };
  },
});

const listRuns = defineOperation({
  operationId: 'listRuns',
  method: 'GET',
  path: '/v1/runs',
  summary: 'List runs, newest first',
  tags: ['runs'],
  access: 'read',
  query: Type.Object(
    {
      job: Type.Optional(Type.String({ description: 'Job id or name.' })),
      namespace: Type.Optional(Type.String({ description: 'Only runs of jobs in this namespace.' })),
      state: Type.Optional(Type.String({ description: `One or more states, comma-separated: ${RUN_STATES.join(', ')}.` })),
      status: Type.Optional(
        Type.String({
          description: 'Deprecated: the former name of `state`, accepted until 0.2 (the answer then carries a Deprecation header).',
        }),
      ),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
      cursor: Type.Optional(Type.String({ description: 'nextCursor of the previous page.' })),
    },
    { additionalProperties: false },
  ),
  responses: { 200: pageOf(RunSchema) },
  errors: ['VALIDATION_FAILED'],
  handler: async ({ query }, caller, ctx) => {
    const { states, headers } = stateParameter(query);
    const namespaces = scopeOf(caller, query.namespace);
    let jobId: string | undefined;
    if (query.job) {
      const job = await findJobIn(ctx.db, query.job, namespaces);
      if (!job) throw invalidInput([{ field: 'job', message: `no job with id or name ${JSON.stringify(query.job)}` }]);
      jobId = job.id;
    }
    const limit = query.limit ?? 100;
    const { runs, total } = await findRuns(ctx.db, { jobId, states, namespaces }, { limit, before: query.cursor });
    const page = { items: runs, total, nextCursor: runs.length === limit ? (runs[runs.length - 1]?.id ?? null) : null };
    return { status: 200, body: page, ...(headers ? { headers } : {}) };
  },
});

const getRun = defineOperation({
  operationId: 'getRun',
  method: 'GET',
  path: '/v1/runs/{id}',
  summary: 'Get a run with its attempts and state history',
  tags: ['runs'],
  access: 'read',
  params: RunIdParams,
  responses: {
    200: Type.Intersect([
      RunSchema,
      Type.Object({
        attempts: Type.Array(AttemptSchema),
        transitions: Type.Array(TransitionSchema),
        rejectedEvents: Type.Array(RejectedEventSchema, {
          description: 'Events its agents reported that could not be applied (the first 100), with why.',
        }),
      }),
    ]),
  },
  errors: ['NOT_FOUND'],
  handler: async ({ params: { id } }, caller, ctx) => {
    const run = await visibleRun(ctx.db, id, caller);
    const [attempts, transitions, rejectedEvents] = await Promise.all([
      getAttempts(ctx.db, run),
      getTransitions(ctx.db, id),
      getRejectedEvents(ctx.db, id),
    ]);
    return { status: 200, body: { ...run, attempts, transitions, rejectedEvents } };
  },
});

const cancelRun = defineOperation({
  operationId: 'cancelRun',
  method: 'POST',
  path: '/v1/runs/{id}/cancel',
  summary:
    "Cancel a run: at once when it is not on an agent (200), else its agent stops it — SIGTERM, then SIGKILL after the job's killGracePeriod (202)",
  tags: ['runs'],
  access: 'operate',
  params: RunIdParams,
  body: Type.Optional(Type.Object({ reason: Type.Optional(Type.String({ maxLength: 1000 })) }, { additionalProperties: false })),
  bodyDefault: {},
  responses: { 200: RunSchema, 202: RunSchema },
  errors: ['NOT_FOUND', 'RUN_FINISHED'],
  handler: async ({ params: { id }, body }, caller, ctx) => {
    const before = await visibleRun(ctx.db, id, caller);
    if (isTerminal(before.state))
      throw new DomainError(
        'RUN_FINISHED',
        `run ${id} already ended ${before.state}${before.finishedAt ? ` at ${before.finishedAt}` : ''}; there is nothing to cancel (run it again with POST /v1/runs/${id}/retry)`,
      );
    const { stopping } = await cancelRunsDetailed(ctx, [id], body.reason ?? 'cancelled through the API');
    const after = await runById(ctx, id);
    if (isTerminal(after.state) && after.state !== 'cancelled')
      throw new DomainError('RUN_FINISHED', `run ${id} ended ${after.state} before the cancel took effect`);
    return { status: stopping > 0 && !isTerminal(after.state) ? 202 : 200, body: after };
  },
});

const retryRun = defineOperation({
  operationId: 'retryRun',
  method: 'POST',
  path: '/v1/runs/{id}/retry',
  summary: 'Retry a finished run by hand: one more attempt, with a fresh retry budget; its dead letter, if any, is resolved',
  tags: ['runs'],
  access: 'operate',
  params: RunIdParams,
  responses: { 202: RunSchema },
  errors: ['NOT_FOUND', 'RUN_NOT_FINISHED', 'RUN_ALREADY_REQUEUED', 'JOB_DELETED'],
  handler: async ({ params: { id } }, caller, ctx) => {
    const before = await visibleRun(ctx.db, id, caller);
    if (!isTerminal(before.state))
      throw new DomainError(
        'RUN_NOT_FINISHED',
        `run ${id} is ${before.state}, not finished; wait for it to end, or cancel it first with POST /v1/runs/${id}/cancel`,
      );
    const requeued = await retryRunsByHand(ctx, [id], 'retried by hand');
    if (requeued.length === 0) {
      const now = await runById(ctx, id);
      if (!isTerminal(now.state)) throw new DomainError('RUN_ALREADY_REQUEUED', `run ${id} is already ${now.state} again`);
      throw new DomainError('JOB_DELETED', `the job of run ${id} was deleted; create the job again to run it`);
    }
    return { status: 202, body: await runById(ctx, id) };
  },
});

/** The run operations, in the order the API registers them (GET /v1/runs/{id}/logs is in logs.ts). */
export const runOperations: readonly AnyOperation[] = [triggerJob, triggerRuns, listRuns, getRun, cancelRun, retryRun];
